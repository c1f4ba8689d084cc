from vprime_executor.adapters.venues.hyperliquid.venue import HyperliquidVenue

__all__ = ["HyperliquidVenue"]
