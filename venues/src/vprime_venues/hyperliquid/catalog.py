"""Hyperliquid: `POST /info` `metaAndAssetCtxs` (universe with szDecimals, maxLeverage, isDelisted; per
asset funding, open interest, mark and mid, impact prices) and `l2Book` for depth. Perps trade 24/7.

Symbols: the catalog fixture maps names that are not the canonical id (`SPX` is SPX6900, `W` is
WORMHOLE); a `k` prefix is 1,000 units (`kPEPE` → PEPE × 1,000).
"""

from __future__ import annotations

import httpx

from vprime_shared.contracts import CatalogMarket, Venue
from vprime_shared.orderbook import Book
from vprime_shared.reference import canonical_instruments, venue_symbol_map

from vprime_venues.catalog import scaled_book
from vprime_venues.hyperliquid.constants import MAKER_FEE_BPS, MIN_NOTIONAL_USD, TAKER_FEE_BPS



class HyperliquidSync:
    venue = Venue.HYPERLIQUID

    def __init__(self, base_url: str, taker_fee_bps: float = TAKER_FEE_BPS, maker_fee_bps: float = MAKER_FEE_BPS) -> None:
        self.info_url = f"{base_url.rstrip('/')}/info"
        self.taker_fee_bps, self.maker_fee_bps = taker_fee_bps, maker_fee_bps
        self.symbols = venue_symbol_map(self.venue.value)
        self.asset_classes = canonical_instruments()

    def canonical(self, name: str) -> tuple[str, float]:
        if name in self.symbols:
            instrument = self.symbols[name]
            return instrument, 1000.0 if name.startswith("k") and name[1:].upper() == instrument else 1.0
        if name.startswith("k") and name[1:].isupper():
            return name[1:], 1000.0
        return name.upper(), 1.0

    async def markets(self, http: httpx.AsyncClient) -> list[CatalogMarket]:
        r = await http.post(self.info_url, json={"type": "metaAndAssetCtxs"})
        r.raise_for_status()
        meta, contexts = r.json()
        out = []
        for asset, ctx in zip(meta["universe"], contexts, strict=True):
            instrument, multiplier = self.canonical(asset["name"])
            mark = float(ctx["markPx"]) / multiplier if ctx.get("markPx") else None
            bid, ask = (float(p) / multiplier for p in ctx["impactPxs"]) if ctx.get("impactPxs") else (None, None)
            out.append(CatalogMarket(
                venue_symbol=asset["name"], instrument=instrument, asset_class=self.asset_classes.get(instrument, "crypto"),
                max_leverage=float(asset["maxLeverage"]), sz_decimals=int(asset["szDecimals"]), contract_multiplier=multiplier,
                min_notional_usd=MIN_NOTIONAL_USD, supports_short=True, is_delisted=bool(asset.get("isDelisted", False)),
                is_open=True, taker_fee_bps=self.taker_fee_bps, maker_fee_bps=self.maker_fee_bps,
                funding_rate_hourly=float(ctx.get("funding") or 0.0), mark_price=mark, bid=bid, ask=ask,
            ))
        return out

    async def book(self, http: httpx.AsyncClient, market: CatalogMarket) -> Book:
        r = await http.post(self.info_url, json={"type": "l2Book", "coin": market.venue_symbol})
        r.raise_for_status()
        bids, asks = r.json()["levels"]
        return scaled_book([(float(x["px"]), float(x["sz"])) for x in bids], [(float(x["px"]), float(x["sz"])) for x in asks],
                           market.contract_multiplier)
