"""GMX v2's rules."""

MIN_NOTIONAL_USD = 2.0  # the smallest position size the venue opens
TAKER_FEE_BPS = 6.0
MAKER_FEE_BPS = 4.0
PRICE_SCALE = 10**12  # 10^30 / 10^18
USD_SCALE = 10**30  # USD amounts on the wire
