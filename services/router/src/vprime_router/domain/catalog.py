"""The venue market catalog: which venue lists which canonical instrument, under which symbol, on what terms.

Signals name canonical instruments, never venue symbols: `SPX` on Hyperliquid is the SPX6900
memecoin while Ostium's `SPX-USD` is the S&P 500, so lookups go by (venue, canonical instrument).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vprime_shared.contracts import Side, Venue, VenueCheck


@dataclass(frozen=True, slots=True)
class Market:
    venue: Venue
    venue_symbol: str
    instrument: str
    asset_class: str
    max_leverage: float
    supports_short: bool
    is_delisted: bool
    keeps_market_hours: bool
    taker_fee_bps: float


class Catalog:
    def __init__(self, markets: Iterable[Market]) -> None:
        self._markets: dict[tuple[Venue, str], Market] = {(m.venue, m.instrument): m for m in markets}

    def __len__(self) -> int:
        return len(self._markets)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Catalog:
        markets = []
        for venue_name, venue in document["venues"].items():
            for m in venue["markets"]:
                markets.append(
                    Market(
                        venue=Venue(venue_name),
                        venue_symbol=m["venue_symbol"],
                        instrument=m["instrument"].upper(),
                        asset_class=m["asset_class"],
                        max_leverage=float(m.get("max_leverage", 1)),
                        supports_short=bool(m.get("supports_short", True)),
                        is_delisted=bool(m.get("is_delisted", False)),
                        keeps_market_hours=bool(m.get("market_hours", False)),
                        taker_fee_bps=float(venue.get("taker_fee_bps", 0)),
                    )
                )
        return cls(markets)

    @classmethod
    def from_file(cls, path: Path) -> Catalog:
        return cls.from_document(json.loads(path.read_text()))

    def market(self, venue: Venue, instrument: str) -> Market | None:
        return self._markets.get((venue, instrument.upper()))

    def check(self, venue: Venue, instrument: str, side: Side) -> VenueCheck:
        """Can `venue` take a `side` trade in `instrument`? Always says why not."""
        market = self.market(venue, instrument)
        if market is None:
            return VenueCheck(available=False, reason=f"{instrument} not listed")
        if market.is_delisted:
            return VenueCheck(available=False, reason=f"{market.venue_symbol} is delisted", venue_symbol=market.venue_symbol)
        if side is Side.SHORT and not market.supports_short:
            return VenueCheck(available=False, reason=f"{market.venue_symbol} cannot be shorted", venue_symbol=market.venue_symbol)
        return VenueCheck(available=True, reason=f"{instrument} available as {market.venue_symbol}", venue_symbol=market.venue_symbol)
