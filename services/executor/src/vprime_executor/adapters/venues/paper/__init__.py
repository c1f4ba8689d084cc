"""The PAPER venue: fills orders on the latest tick (or a reference price) without touching a real venue."""

from vprime_executor.adapters.venues.paper.venue import PaperVenue

__all__ = ["PaperVenue"]
