from vprime_router.adapters.venues.ostium.sync import OstiumSync

__all__ = ["OstiumSync"]
