from vprime_executor.adapters.venues.ostium.venue import OstiumVenue

__all__ = ["OstiumVenue"]
