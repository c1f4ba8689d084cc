"""Responses in the shapes Ostium documents, for the catalog's tests: the subgraph's `pairs` with the fields the
official SDK queries (`subgraph.get_pairs`), and the price service's `latest-prices` list (the example in the SDK's
`price.py`). Raw figures are the venue's scaled integers, as strings."""

BTC = {
    "id": "0", "from": "BTC", "to": "USD", "feed": "0x00039d9e45394f473ab1f050a1b963e6b05351e52d71e507509ada0c95ed75b8",
    "group": {"id": "0", "name": "crypto", "minLeverage": "100", "maxLeverage": "0", "maxCollateralP": "5000"},
    "maxLeverage": "5000", "makerFeeP": "30000", "takerFeeP": "100000", "fee": {"minLevPos": "5000000"},
    "curFundingLong": "10950000000", "curFundingShort": "-9000000000", "curRollover": "0",
    "longOI": "5000000000000000000", "shortOI": "2000000000000000000", "maxOI": "1000000000000",
}
EUR = {
    "id": "2", "from": "EUR", "to": "USD", "feed": "0x01",
    "group": {"id": "1", "name": "forex", "minLeverage": "100", "maxLeverage": "10000", "maxCollateralP": "5000"},
    "maxLeverage": "5000", "makerFeeP": "10000", "takerFeeP": "30000", "fee": {"minLevPos": "25000000"},
    "curFundingLong": "0", "curFundingShort": "0", "curRollover": "2190000000",
    "longOI": "0", "shortOI": "0", "maxOI": "0",
}
PAIRS = {"data": {"pairs": [BTC, EUR]}}
PRICES = [
    {"feed_id": BTC["feed"], "bid": 59994.0, "mid": 60000.0, "ask": 60006.0, "isMarketOpen": True, "isDayTradingClosed": False,
     "secondsToToggleIsDayTradingClosed": -1, "from": "BTC", "to": "USD", "timestampSeconds": 1748460056},
    {"feed_id": "0x01", "bid": 1.0799, "mid": 1.08, "ask": 1.0801, "isMarketOpen": False, "isDayTradingClosed": False,
     "secondsToToggleIsDayTradingClosed": -1, "from": "EUR", "to": "USD", "timestampSeconds": 1748460056},
]
