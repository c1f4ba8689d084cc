"""Venue market catalogs as routing sees them: per venue, the markets it lists (by canonical
instrument), when they were last synced, and whether that sync is still to be trusted.

Signals name canonical instruments, never venue symbols: `SPX` on Hyperliquid is the SPX6900
memecoin while Ostium's `SPX-USD` is the S&P 500, so lookups go by (venue, canonical instrument).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vprime_shared.contracts import CatalogMarket, CatalogStatus, MarketCatalog, Venue
from vprime_shared.reference import venue_markets


def index_markets(markets: Iterable[CatalogMarket]) -> dict[str, CatalogMarket]:
    """Markets by canonical instrument. Where two venue symbols map to one instrument (Hyperliquid's
    delisted `PEPE` and live `kPEPE`), the tradable one wins."""
    out: dict[str, CatalogMarket] = {}
    for m in markets:
        held = out.get(m.instrument)
        if held is None or (held.is_delisted and not m.is_delisted):
            out[m.instrument] = m
    return out


@dataclass
class VenueCatalog:
    venue: Venue
    status: CatalogStatus
    synced_at: datetime | None
    markets: dict[str, CatalogMarket] = field(default_factory=dict)  # by canonical instrument
    error: str | None = None
    static: bool = False  # the shipped fixture: never synced, never stale

    @classmethod
    def from_event(cls, event: MarketCatalog) -> VenueCatalog:
        return cls(event.venue, event.status, event.synced_at, index_markets(event.markets), event.error)

    def staleness(self, now: datetime, stale_after: timedelta) -> str | None:
        """Why this catalog must not be routed on right now, or None."""
        if self.static:
            return None
        if self.synced_at is None:
            return "catalog never synced"
        age = (now - self.synced_at).total_seconds()
        if self.status is CatalogStatus.DEGRADED:
            return f"catalog degraded ({self.error or 'sync failed'}; last good sync {age:.0f}s ago)"
        if age > stale_after.total_seconds():
            return f"catalog stale (last sync {age:.0f}s ago)"
        return None


class Catalogs:
    def __init__(self, catalogs: Iterable[VenueCatalog] = ()) -> None:
        self.by_venue: dict[Venue, VenueCatalog] = {c.venue: c for c in catalogs}

    def __len__(self) -> int:
        return sum(len(c.markets) for c in self.by_venue.values())

    def put(self, catalog: VenueCatalog) -> None:
        self.by_venue[catalog.venue] = catalog

    def get(self, venue: Venue) -> VenueCatalog | None:
        return self.by_venue.get(venue)

    def market(self, venue: Venue, instrument: str) -> CatalogMarket | None:
        catalog = self.by_venue.get(venue)
        return catalog.markets.get(instrument.upper()) if catalog else None

    def mark_failed(self, venue: Venue, error: str) -> None:
        """A failed sync keeps what was learned but stops routing on it."""
        catalog = self.by_venue.get(venue)
        if catalog is None:
            self.by_venue[venue] = VenueCatalog(venue, CatalogStatus.DEGRADED, None, {}, error)
        else:
            catalog.status, catalog.error = CatalogStatus.DEGRADED, error


def fixture_catalogs(now: datetime) -> Catalogs:
    """The shipped catalog fixture as static catalogs (when no venue sync is configured)."""
    out = []
    for venue_name, spec in venue_markets()["venues"].items():
        markets = []
        for m in spec["markets"]:
            markets.append(CatalogMarket(
                venue_symbol=m["venue_symbol"], instrument=m["instrument"].upper(), asset_class=m["asset_class"],
                max_leverage=float(m.get("max_leverage", 1)), sz_decimals=m.get("sz_decimals"),
                contract_multiplier=float(m.get("contract_multiplier", 1)), supports_short=bool(m.get("supports_short", True)),
                is_delisted=bool(m.get("is_delisted", False)), keeps_market_hours=bool(m.get("market_hours", False)),
                taker_fee_bps=float(spec.get("taker_fee_bps", 0)), maker_fee_bps=float(spec.get("maker_fee_bps", 0)),
            ))
        out.append(VenueCatalog(Venue(venue_name), CatalogStatus.OK, now, index_markets(markets), static=True))
    return Catalogs(out)
