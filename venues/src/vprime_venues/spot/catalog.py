"""SPOT: a Uniswap-style token list (`tokenlist.json`); quotes and pool depth for prices. Long only,
no leverage: a swap from USDC into the token."""

from __future__ import annotations

import httpx

from vprime_shared.contracts import CatalogMarket, Venue
from vprime_shared.orderbook import Book
from vprime_shared.reference import canonical_instruments, venue_symbol_map

from vprime_venues.catalog import simulator_book
from vprime_venues.spot.constants import FEE_BPS, MIN_NOTIONAL_USD



class SpotSync:
    venue = Venue.SPOT

    def __init__(self, base_url: str, books_url: str, fee_bps: float = FEE_BPS) -> None:
        self.base_url, self.books_url, self.fee_bps = base_url.rstrip("/"), books_url, fee_bps
        self.symbols = venue_symbol_map(self.venue.value)
        self.asset_classes = canonical_instruments()

    async def markets(self, http: httpx.AsyncClient) -> list[CatalogMarket]:
        r = await http.get(f"{self.base_url}/tokenlist.json")
        r.raise_for_status()
        out = []
        for token in r.json()["tokens"]:
            symbol = token["symbol"]
            instrument = (token.get("extensions") or {}).get("canonical") or self.symbols.get(symbol, symbol.upper())
            out.append(CatalogMarket(
                venue_symbol=symbol, instrument=instrument, asset_class=self.asset_classes.get(instrument, "crypto"),
                max_leverage=1.0, min_notional_usd=MIN_NOTIONAL_USD, supports_short=False, is_open=True,
                taker_fee_bps=self.fee_bps, maker_fee_bps=self.fee_bps,
            ))
        return out

    async def book(self, http: httpx.AsyncClient, market: CatalogMarket) -> Book:
        return await simulator_book(http, self.books_url, self.venue, market)
