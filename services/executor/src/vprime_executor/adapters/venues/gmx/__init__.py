from vprime_executor.adapters.venues.gmx.venue import GmxVenue

__all__ = ["GmxVenue"]
