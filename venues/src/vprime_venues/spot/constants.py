"""The spot DEX's rules."""

MIN_NOTIONAL_USD = 1.0  # the smallest swap the executor sends
FEE_BPS = 30.0  # the pool fee tier
