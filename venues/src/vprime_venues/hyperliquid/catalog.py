"""Hyperliquid's catalog: `POST /info` `metaAndAssetCtxs` (the universe with szDecimals, maxLeverage, isDelisted,
onlyIsolated; per asset funding, open interest, mark and mid prices) and `l2Book` for depth (docs:
for-developers/api/info-endpoint/perpetuals, and the info endpoint's l2Book). Perps trade 24/7.

- `onlyIsolated` (or an isolated-only `marginMode`) is kept as `CatalogMarket.only_isolated`.
- Bid and ask come from an `l2Book` read (its best levels), when one was read in the last `BOOK_QUOTE_MAX_AGE_S`;
  otherwise they are None. `impactPxs` are the prices a fixed impact notional would fill at, not the best bid and
  ask, so they are not used as such. The mark price is `markPx`.
- Every read spends its documented weight (rate-limits: `metaAndAssetCtxs` 20, `l2Book` 2) from the `RateBudget`;
  a read answered 429 is retried with backoff, then `VenueUnavailable`.

Symbols: the catalog fixture maps names that are not the canonical id (`SPX` is SPX6900, `W` is WORMHOLE); a `k`
prefix is 1,000 units (`kPEPE` -> PEPE x 1,000).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from vprime_shared.contracts import CatalogMarket, Venue
from vprime_shared.orderbook import Book
from vprime_shared.reference import canonical_instruments, venue_symbol_map

from vprime_venues.catalog import scaled_book
from vprime_venues.hyperliquid import constants as C
from vprime_venues.ratelimit import RateBudget, read_with_backoff


class HyperliquidSync:
    venue = Venue.HYPERLIQUID

    def __init__(self, base_url: str, *, budget: RateBudget | None = None, taker_fee_bps: float = C.TAKER_FEE_BPS,
                 maker_fee_bps: float = C.MAKER_FEE_BPS) -> None:
        self.info_url = f"{base_url.rstrip('/')}/info"
        self.budget = budget if budget is not None else RateBudget(C.ROUTER_WEIGHT_PER_MINUTE)
        self.taker_fee_bps, self.maker_fee_bps = taker_fee_bps, maker_fee_bps
        self.symbols = venue_symbol_map(self.venue.value)
        self.asset_classes = canonical_instruments()
        self.clock: Callable[[], float] = time.monotonic
        self.sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
        self._quotes: dict[str, tuple[float | None, float | None, float]] = {}  # symbol -> best bid, best ask, read at

    def canonical(self, name: str) -> tuple[str, float]:
        if name in self.symbols:
            instrument = self.symbols[name]
            return instrument, 1000.0 if name.startswith("k") and name[1:].upper() == instrument else 1.0
        if name.startswith("k") and name[1:].isupper():
            return name[1:], 1000.0
        return name.upper(), 1.0

    async def _info(self, http: httpx.AsyncClient, body: dict[str, Any]) -> Any:
        r = await read_with_backoff(lambda: http.post(self.info_url, json=body), self.venue.value, budget=self.budget,
                                    weight=C.info_weight(body["type"]), sleep=self.sleep)
        r.raise_for_status()
        return r.json()

    def _quote(self, symbol: str) -> tuple[float | None, float | None]:
        bid, ask, at = self._quotes.get(symbol, (None, None, -float("inf")))
        return (bid, ask) if self.clock() - at <= C.BOOK_QUOTE_MAX_AGE_S else (None, None)

    async def markets(self, http: httpx.AsyncClient) -> list[CatalogMarket]:
        meta, contexts = await self._info(http, {"type": "metaAndAssetCtxs"})
        out = []
        for asset, ctx in zip(meta["universe"], contexts, strict=True):
            instrument, multiplier = self.canonical(asset["name"])
            mark = float(ctx["markPx"]) / multiplier if ctx.get("markPx") else None
            bid, ask = self._quote(asset["name"])
            out.append(CatalogMarket(
                venue_symbol=asset["name"], instrument=instrument, asset_class=self.asset_classes.get(instrument, "crypto"),
                max_leverage=float(asset["maxLeverage"]), sz_decimals=int(asset["szDecimals"]), contract_multiplier=multiplier,
                min_notional_usd=C.MIN_NOTIONAL_USD, supports_short=True, is_delisted=bool(asset.get("isDelisted", False)),
                is_open=True, only_isolated=C.only_isolated(asset), taker_fee_bps=self.taker_fee_bps,
                maker_fee_bps=self.maker_fee_bps, funding_rate_hourly=float(ctx.get("funding") or 0.0), mark_price=mark,
                bid=bid / multiplier if bid else None, ask=ask / multiplier if ask else None,
            ))
        return out

    async def book(self, http: httpx.AsyncClient, market: CatalogMarket) -> Book:
        bids, asks = (await self._info(http, {"type": "l2Book", "coin": market.venue_symbol}))["levels"]
        bid_levels = [(float(x["px"]), float(x["sz"])) for x in bids]
        ask_levels = [(float(x["px"]), float(x["sz"])) for x in asks]
        self._quotes[market.venue_symbol] = (bid_levels[0][0] if bid_levels else None,
                                             ask_levels[0][0] if ask_levels else None, self.clock())
        return scaled_book(bid_levels, ask_levels, market.contract_multiplier)
