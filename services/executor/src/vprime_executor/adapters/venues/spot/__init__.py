from vprime_executor.adapters.venues.spot.venue import SpotVenue

__all__ = ["SpotVenue"]
