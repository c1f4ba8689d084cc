"""Hyperliquid's rules: https://hyperliquid.gitbook.io/hyperliquid-docs (trading fees, order types, tick and lot size)."""

MIN_NOTIONAL_USD = 10.0  # the smallest order value the venue takes
TAKER_FEE_BPS = 4.5  # the base tier's perps fees
MAKER_FEE_BPS = 1.5
