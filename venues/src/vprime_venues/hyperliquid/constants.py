"""Hyperliquid's rules, each defined once. Sources (https://hyperliquid.gitbook.io/hyperliquid-docs):
`for-developers/api/rate-limits`, `.../tick-and-lot-size`, `.../nonces-and-api-wallets`, `.../error-responses`,
`.../info-endpoint` (order statuses), `trading/fees`; API hosts as in the SDK's `hyperliquid/utils/constants.py`.
"""

from __future__ import annotations

from decimal import Decimal

# ---- hosts ---------------------------------------------------------------------------------------
MAINNET_API_URL = "https://api.hyperliquid.xyz"
TESTNET_API_URL = "https://api.hyperliquid-testnet.xyz"
NETWORKS = {"mainnet": MAINNET_API_URL, "testnet": TESTNET_API_URL}


def api_url(network: str, override: str = "", *, simulator: str = "") -> str:
    """The API host for `network` ("mainnet" or "testnet"); `override` when given (a proxy, another double); else the
    venue simulator's Hyperliquid (`<simulator>/hyperliquid`) when a simulator is named. Which network an order is
    signed for is separate: `HyperliquidVenue(mainnet=...)`."""
    if override:
        return override.rstrip("/")
    if simulator:
        return f"{simulator.rstrip('/')}/hyperliquid"
    try:
        return NETWORKS[network.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown Hyperliquid network {network!r}: mainnet or testnet") from None


# ---- fees and minimums ---------------------------------------------------------------------------
TAKER_FEE_BPS = 4.5  # the base tier's perps fees
MAKER_FEE_BPS = 1.5
MIN_ORDER_VALUE_USD = Decimal("10")  # error-responses: "Order must have minimum value of $10."
MIN_NOTIONAL_USD = float(MIN_ORDER_VALUE_USD)

# ---- tick and lot size (perps) -------------------------------------------------------------------
PRICE_SIGNIFICANT_FIGURES = 5  # "up to 5 significant figures"; integer prices always allowed
PERP_MAX_DECIMALS = 6  # prices: at most MAX_DECIMALS - szDecimals decimals; sizes: szDecimals
WIRE_DECIMALS = 8  # the SDK's float_to_wire keeps 8 decimals and strips trailing zeros

# ---- margin --------------------------------------------------------------------------------------
# meta: `onlyIsolated: true`, or in newer answers `marginMode`, marks assets that cannot be traded cross.
ISOLATED_MARGIN_MODES = frozenset({"strictIsolated", "noCross"})


def only_isolated(universe_entry: dict[str, object]) -> bool:
    """Whether a `meta` universe entry can be traded isolated only."""
    return bool(universe_entry.get("onlyIsolated")) or universe_entry.get("marginMode") in ISOLATED_MARGIN_MODES

# ---- rate limits (per IP address) ----------------------------------------------------------------
IP_WEIGHT_PER_MINUTE = 1200  # "REST requests share an aggregated weight limit of 1200 per minute"
# Each process holds its own budget (see vprime_venues.ratelimit). With a burst of a tenth of a minute each,
# these shares spend at most 1.1 x (600 + 400) = 1100 a minute together, under the 1200.
EXECUTOR_WEIGHT_PER_MINUTE = 600
ROUTER_WEIGHT_PER_MINUTE = 400
LIGHT_INFO_TYPES = frozenset({"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState",
                              "exchangeStatus"})
LIGHT_INFO_WEIGHT = 2
USER_ROLE_WEIGHT = 60
INFO_WEIGHT = 20  # "All other documented info requests have weight 20"
# Fills and other history answers weigh one more per this many items returned.
ITEMS_PER_EXTRA_WEIGHT = 20
ITEM_WEIGHTED_INFO_TYPES = frozenset({"recentTrades", "historicalOrders", "userFills", "userFillsByTime",
                                      "fundingHistory", "userFunding", "nonUserFundingUpdates", "twapHistory",
                                      "userTwapSliceFills", "userTwapSliceFillsByTime", "delegatorHistory",
                                      "delegatorRewards", "validatorStats"})


def info_weight(request_type: str) -> int:
    """The weight of one `/info` request, before any per-item weight."""
    if request_type in LIGHT_INFO_TYPES:
        return LIGHT_INFO_WEIGHT
    if request_type == "userRole":
        return USER_ROLE_WEIGHT
    return INFO_WEIGHT


def extra_item_weight(request_type: str, items: int) -> int:
    """The weight an answer of `items` items adds after the fact (one per 20 items for fills)."""
    return items // ITEMS_PER_EXTRA_WEIGHT if request_type in ITEM_WEIGHTED_INFO_TYPES else 0


def exchange_weight(batch_length: int = 1) -> int:
    """ "All documented exchange API requests have a weight of 1 + floor(batch_length / 40)"."""
    return 1 + batch_length // 40


# How long an order waits for budget before it is given up as not sent (VenueUnavailable).
ORDER_BUDGET_WAIT_S = 5.0

# ---- nonces, expiry and lost answers -------------------------------------------------------------
# A signed action stays valid as long as its nonce does: "within (T - 2 days, T + 1 day), where T is the unix
# millisecond timestamp on the block" (nonces-and-api-wallets). An order whose answer was lost could so land up to
# two days later, and its absence (`unknownOid`) would prove nothing until then. Orders therefore carry
# `expiresAfter` (exchange-endpoint: the request is rejected after that millisecond; the SDK signs it into the
# action hash), set ORDER_EXPIRES_AFTER_S after signing: past it the venue can never take the order.
NONCE_MAX_AGE_S = 2 * 24 * 3600
ORDER_EXPIRES_AFTER_S = 30  # an IoC priced from a mid at most a second old is stale long before this
CLOCK_MARGIN_S = 30  # our clock against the block's
# After this long without the venue knowing an order whose answer was lost, it was never placed: its expiry has
# passed, with the clock margin on top. (Measured from when the answer was lost, which is after signing.)
LOOKUP_WINDOW_S = ORDER_EXPIRES_AFTER_S + CLOCK_MARGIN_S

# ---- caches ---------------------------------------------------------------------------------------
MIDS_MAX_AGE_S = 1.0  # an order prices its IoC limit from allMids at most this old
LEVERAGE_CACHE_S = 300.0  # what we know of an account's leverage on an asset, before reading it again
META_REFRESH_MIN_S = 60.0  # an unknown symbol re-reads `meta` at most this often
BOOK_QUOTE_MAX_AGE_S = 30.0  # the catalog's bid/ask come from an l2Book read at most this long ago
FILL_LOOKBACK_MS = 60_000  # userFillsByTime starts this long before the order was sent (clock skew)

# ---- answers -------------------------------------------------------------------------------------
IOC_NO_MATCH = "Order could not immediately match against any resting orders."
# Refusals about this market on this venue, not the order or the account: another venue may take the order.
VENUE_SPECIFIC_ERRORS = (
    "could not immediately match",  # IocCancel
    "No liquidity available for market order",  # MarketOrderNoLiquidity
    "open interest is capped",  # PositionIncrease/PositionFlipAtOpenInterestCap
    "at open interest cap",  # TooAggressiveAtOpenInterestCap
    "increase open interest too quickly",  # OpenInterestIncrease
    "Order must have minimum value",  # MinTradeNtl
)
# orderStatus `status` values (info endpoint, "Query order status by oid or cloid").
OPEN_STATUSES = frozenset({"open", "triggered"})
FILLED_STATUS = "filled"
CANCELED_STATUSES = frozenset({"canceled", "marginCanceled", "vaultWithdrawalCanceled", "openInterestCapCanceled",
                               "selfTradeCanceled", "reduceOnlyCanceled", "siblingFilledCanceled", "delistedCanceled",
                               "liquidatedCanceled", "scheduledCancel"})
REJECTED_STATUSES = frozenset({"rejected", "tickRejected", "minTradeNtlRejected", "perpMarginRejected",
                               "reduceOnlyRejected", "badAloPxRejected", "iocCancelRejected", "badTriggerPxRejected",
                               "marketOrderNoLiquidityRejected", "positionIncreaseAtOpenInterestCapRejected",
                               "positionFlipAtOpenInterestCapRejected", "tooAggressiveAtOpenInterestCapRejected",
                               "openInterestIncreaseRejected", "insufficientSpotBalanceRejected", "oracleRejected",
                               "perpMaxPositionRejected"})
VENUE_SPECIFIC_STATUSES = frozenset({"iocCancelRejected", "marketOrderNoLiquidityRejected", "minTradeNtlRejected",
                                     "positionIncreaseAtOpenInterestCapRejected",
                                     "positionFlipAtOpenInterestCapRejected",
                                     "tooAggressiveAtOpenInterestCapRejected", "openInterestIncreaseRejected",
                                     "openInterestCapCanceled", "delistedCanceled"})


def venue_specific_error(message: str) -> bool:
    return any(fragment in message for fragment in VENUE_SPECIFIC_ERRORS)
