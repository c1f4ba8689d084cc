"""Ostium's rules and where the venue lives, from its official SDK (`ostium-python-sdk` 3.3.1: `config.py`,
`constants.py`, `ostium.py`, `sdk.py`, `price.py`) and docs (https://ostium-labs.gitbook.io/ostium-docs).

Addresses (SDK `NetworkConfig`): Arbitrum One (chain 42161) and Arbitrum Sepolia (421614, the testnet). The callbacks
contract, which emits every settlement event, is not configured: it is resolved through `trading.registry()` and
the registry's `getContractAddress("callbacks")`, as the SDK does.

Scales on the wire (SDK `perform_trade`, `close_trade`, `utils.convert_to_scaled_integer`):
- collateral: USDC units, 6 decimals;
- prices (openPrice, marketPrice, event prices): 1e18;
- leverage: PRECISION_2 (5x = 500);
- slippage: PRECISION_2 percent (2 % = 200); close percentage: PRECISION_2 (100 % = 10,000);
- MarketOpenExecuted `tradeNotional`: the position in the pair's base asset, 1e18 (as the subgraph's trades);
- MarketCloseExecutedV2 `percentProfit`: percent, 1e6; `usdcSentToTrader` and fee events: USDC units.
Subgraph `pairs` (SDK `subgraph.get_pairs`, `sdk.get_formatted_pairs_details`, `sdk.get_pair_max_leverage`):
`maxLeverage` PRECISION_2, overridden by the group's `maxLeverage` when that is not 0; `makerFeeP`/`takerFeeP`
PRECISION_6 percent; `fee.minLevPos` USDC units (PRECISION_6); `maxOI` USDC units; `longOI`/`shortOI` base asset
1e18; `curFundingLong`/`curFundingShort`/`curRollover` PRECISION_9 (the SDK divides its funding figures by 1e9).
There is no `isDelisted` field: a pair the venue stops listing leaves the list.
"""

from decimal import Decimal

CHAIN_ID = {"mainnet": 42161, "testnet": 421614}
SUBGRAPH_URL = {
    "mainnet": "https://api.subgraph.ormilabs.com/api/public/67a599d5-c8d2-4cc4-9c4d-2975a97bc5d8/subgraphs/ost-prod/live/gn",
    "testnet": "https://api.subgraph.ormilabs.com/api/public/67a599d5-c8d2-4cc4-9c4d-2975a97bc5d8/subgraphs/ost-sep/live/gn",
}
PRICES_URL = "https://metadata-backend.prod.bedrock.ostium.io/PricePublish/latest-prices"  # SDK price.py
CONTRACTS = {  # SDK config.py
    "mainnet": {"usdc": "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
                "trading": "0x6D0bA1f9996DBD8885827e1b2e8f6593e7702411",
                "trading_storage": "0xcCd5891083A8acD2074690F65d3024E7D13d66E7"},
    "testnet": {"usdc": "0xe73B11Fb1e3eeEe8AF2a23079A4410Fe1B370548",
                "trading": "0x2A9B9c988393f46a2537B0ff11E98c2C15a95afe",
                "trading_storage": "0x0b9F5243B29938668c9Cfbd7557A389EC7Ef88b8"},
}
CALLBACKS_REGISTRY_NAME = b"callbacks".ljust(32, b"\0")

USDC_DECIMALS = 6
PRICE_SCALE = Decimal(10) ** 18
PRECISION_2 = Decimal(100)
PRECISION_6 = Decimal(1_000_000)
PRECISION_9 = Decimal(1_000_000_000)
BASE_SCALE = Decimal(10) ** 18  # tradeNotional, longOI, shortOI
PROFIT_SCALE = Decimal(10) ** 6  # percentProfit
FULL_CLOSE = 10_000  # closePercentage, PRECISION_2
MARKET_ORDER = 0  # OpenOrderType.MARKET
HOURS_PER_YEAR = Decimal(8760)

MIN_NOTIONAL_USD = 5.0  # the smallest position the local double opens (the venue's own is `fee.minLevPos` per pair)

# MarketOpenCanceled / MarketCloseCanceled `cancelReason` (uint8), in the order of the contracts' enum.
CANCEL_REASONS = ("NONE", "PAUSED", "MARKET_CLOSED", "SLIPPAGE", "TP_REACHED", "SL_REACHED", "EXPOSURE_LIMITS",
                  "PRICE_IMPACT", "MAX_LEVERAGE", "NO_TRADE", "UNDER_LIQUIDATION", "NOT_HIT", "GAIN_LOSS",
                  "DAY_TRADE_NOT_ALLOWED", "CLOSE_DAY_TRADE_NOT_ALLOWED", "WRONG_TRADE")
# Reverts about this venue's market or limits, not about the order or the account: another venue may take it.
VENUE_SPECIFIC_ERRORS = frozenset({"BelowMinLevPos", "WrongLeverage", "PairNotListed", "IsPaused", "IsDone",
                                   "ExposureLimits", "AboveMaxAllowedCollateral", "MaxTradesPerPairReached",
                                   "MaxPendingMarketOrdersReached"})
VENUE_SPECIFIC_CANCELS = frozenset({"PAUSED", "MARKET_CLOSED", "SLIPPAGE", "EXPOSURE_LIMITS", "PRICE_IMPACT",
                                    "MAX_LEVERAGE", "DAY_TRADE_NOT_ALLOWED"})


def cancel_reason(code: int) -> str:
    return CANCEL_REASONS[code] if 0 <= code < len(CANCEL_REASONS) else f"reason {code}"
