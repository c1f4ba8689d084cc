from vprime_router.adapters.venues.gmx.sync import GmxSync

__all__ = ["GmxSync"]
