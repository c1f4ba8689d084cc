"""Orders on the venue simulator (the stand-in for Hyperliquid, Ostium, GMX and SPOT accounts)."""

from vprime_executor.adapters.venues.simulator.venue import SimulatorVenue

__all__ = ["SimulatorVenue"]
