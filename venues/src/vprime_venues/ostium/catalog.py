"""Ostium: the subgraph's `pairs` (from, to, group, maxLeverage in PRECISION_2, maker/taker fee in
PRECISION_6 percent) and the price service's `latest-prices` (bid, mid, ask, isMarketOpen). Real-world
assets keep market hours: `isMarketOpen` says whether a pair trades now.

Symbols are `FROM-TO`; the catalog fixture names the canonical id (`XAU-USD` is GOLD, `SPX-USD` the
S&P 500 as SPX500); otherwise a currency pair is FROMTO (EURUSD) and a crypto pair its base.
"""

from __future__ import annotations

import httpx

from vprime_shared.contracts import CatalogMarket, Venue
from vprime_shared.orderbook import Book
from vprime_shared.reference import canonical_instruments, venue_symbol_map

from vprime_venues.catalog import simulator_book
from vprime_venues.ostium.constants import MIN_NOTIONAL_USD

PAIRS_QUERY = """query getPairs { pairs(first: 1000) { id from to group { id name } maxLeverage makerFeeP takerFeeP
  curFundingLong curRollover isDelisted } }"""
GROUP_CLASSES = {"forex": "fx", "crypto": "crypto", "commodities": "commodity", "indices": "index", "stocks": "stocks"}


class OstiumSync:
    venue = Venue.OSTIUM

    def __init__(self, subgraph_url: str, prices_url: str, books_url: str) -> None:
        self.subgraph_url, self.prices_url, self.books_url = subgraph_url, prices_url, books_url
        self.symbols = venue_symbol_map(self.venue.value)
        self.asset_classes = canonical_instruments()

    def canonical(self, base: str, quote: str, group: str) -> str:
        symbol = f"{base}-{quote}"
        if symbol in self.symbols:
            return self.symbols[symbol]
        return f"{base}{quote}" if group == "forex" else base

    async def markets(self, http: httpx.AsyncClient) -> list[CatalogMarket]:
        pairs_r = await http.post(self.subgraph_url, json={"query": PAIRS_QUERY})
        pairs_r.raise_for_status()
        prices_r = await http.get(self.prices_url)
        prices_r.raise_for_status()
        prices = {(p["from"], p["to"]): p for p in prices_r.json()}
        out = []
        for pair in pairs_r.json()["data"]["pairs"]:
            group = pair["group"]["name"]
            instrument = self.canonical(pair["from"], pair["to"], group)
            price = prices.get((pair["from"], pair["to"]))
            out.append(CatalogMarket(
                venue_symbol=f"{pair['from']}-{pair['to']}", instrument=instrument,
                asset_class=GROUP_CLASSES.get(group, self.asset_classes.get(instrument, "crypto")),
                max_leverage=int(pair["maxLeverage"]) / 100, contract_multiplier=1.0, min_notional_usd=MIN_NOTIONAL_USD,
                supports_short=True, is_delisted=bool(pair.get("isDelisted", False)),
                is_open=bool(price and price["isMarketOpen"]), keeps_market_hours=group != "crypto",
                taker_fee_bps=int(pair["takerFeeP"]) / 1_000_000 * 100, maker_fee_bps=int(pair["makerFeeP"]) / 1_000_000 * 100,
                funding_rate_hourly=float(pair.get("curFundingLong") or 0.0) + float(pair.get("curRollover") or 0.0),
                mark_price=float(price["mid"]) if price else None,
                bid=float(price["bid"]) if price else None, ask=float(price["ask"]) if price else None,
            ))
        return out

    async def book(self, http: httpx.AsyncClient, market: CatalogMarket) -> Book:
        return await simulator_book(http, self.books_url, self.venue, market)
