from vprime_router.adapters.venues.spot.sync import SpotSync

__all__ = ["SpotSync"]
