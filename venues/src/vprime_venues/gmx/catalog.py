"""GMX v2: `/markets/info` (listed markets, funding), `/prices/tickers` (min and max price, USD × 10^30
per token unit of 18 decimals), and `/ping` as the venue's health check. Perps trade 24/7.

Symbols: the market name's first word (`ETH/USD [WETH-USDC]` → `ETH/USD`), canonical id its base
unless the catalog fixture says otherwise.
"""

from __future__ import annotations

import httpx

from vprime_shared.contracts import CatalogMarket, Venue
from vprime_shared.orderbook import Book
from vprime_shared.reference import canonical_instruments, venue_symbol_map

from vprime_venues.catalog import simulator_book
from vprime_venues.gmx.constants import MAKER_FEE_BPS, MIN_NOTIONAL_USD, PRICE_SCALE, TAKER_FEE_BPS



class GmxSync:
    venue = Venue.GMX

    def __init__(self, base_url: str, books_url: str, taker_fee_bps: float = TAKER_FEE_BPS, maker_fee_bps: float = MAKER_FEE_BPS) -> None:
        self.base_url, self.books_url = base_url.rstrip("/"), books_url
        self.taker_fee_bps, self.maker_fee_bps = taker_fee_bps, maker_fee_bps
        self.symbols = venue_symbol_map(self.venue.value)
        self.asset_classes = canonical_instruments()

    async def markets(self, http: httpx.AsyncClient) -> list[CatalogMarket]:
        (await http.get(f"{self.base_url}/ping")).raise_for_status()
        info = await http.get(f"{self.base_url}/markets/info")
        info.raise_for_status()
        tickers_r = await http.get(f"{self.base_url}/prices/tickers")
        tickers_r.raise_for_status()
        tickers = {t["tokenSymbol"]: t for t in tickers_r.json()}
        out = []
        for m in info.json()["markets"]:
            symbol = m["name"].split(" ")[0]
            base = symbol.split("/")[0]
            instrument = self.symbols.get(symbol, base.upper())
            ticker = tickers.get(base)
            bid = int(ticker["minPrice"]) / PRICE_SCALE if ticker else None
            ask = int(ticker["maxPrice"]) / PRICE_SCALE if ticker else None
            out.append(CatalogMarket(
                venue_symbol=symbol, instrument=instrument, asset_class=self.asset_classes.get(instrument, "crypto"),
                max_leverage=float(m.get("maxLeverage", 50)), min_notional_usd=MIN_NOTIONAL_USD, supports_short=True,
                is_delisted=not m.get("isListed", True), is_open=True, taker_fee_bps=self.taker_fee_bps,
                maker_fee_bps=self.maker_fee_bps, funding_rate_hourly=float(m.get("fundingRateLong") or 0.0),
                mark_price=(bid + ask) / 2 if bid and ask else None, bid=bid, ask=ask,
            ))
        return out

    async def book(self, http: httpx.AsyncClient, market: CatalogMarket) -> Book:
        return await simulator_book(http, self.books_url, self.venue, market)
