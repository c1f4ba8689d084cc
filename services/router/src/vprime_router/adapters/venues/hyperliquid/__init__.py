from vprime_router.adapters.venues.hyperliquid.sync import HyperliquidSync

__all__ = ["HyperliquidSync"]
