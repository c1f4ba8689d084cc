"""Ostium's rules."""

MIN_NOTIONAL_USD = 5.0  # the smallest position size the venue opens
