"""Reference data every service may read: the venue market catalog Vprime ships with.

`venue-markets.json` lists, per venue, each market's venue symbol and canonical instrument id (the
id signals carry), asset class, leverage and flags. Routing starts from it; the signal service takes
its canonical instrument ids from it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

VENUE_MARKETS = Path(__file__).parent / "venue-markets.json"


@cache
def venue_markets(path: Path = VENUE_MARKETS) -> dict[str, Any]:
    return json.loads(path.read_text())


def canonical_instruments(path: Path = VENUE_MARKETS) -> dict[str, str]:
    """Every canonical instrument id with its asset class."""
    return {m["instrument"].upper(): m["asset_class"] for v in venue_markets(path)["venues"].values() for m in v["markets"]}


def venue_symbols(path: Path = VENUE_MARKETS) -> dict[str, str]:
    """Venue symbols that differ from the canonical id (e.g. Hyperliquid `W` → WORMHOLE), keyed by symbol."""
    out: dict[str, str] = {}
    for venue in venue_markets(path)["venues"].values():
        for m in venue["markets"]:
            symbol, instrument = m["venue_symbol"].upper(), m["instrument"].upper()
            if symbol != instrument and "-" not in symbol and "/" not in symbol:
                out.setdefault(symbol, instrument)
    return out


REFERENCE_PRICES = Path(__file__).parent / "reference-prices.json"


@cache
def reference_prices(path: Path = REFERENCE_PRICES) -> dict[str, float]:
    """Approximate mid prices (USD per canonical unit) for when no live price is known yet."""
    return {k.upper(): float(v) for k, v in json.loads(path.read_text())["prices"].items()}


def venue_symbol_map(venue: str, path: Path = VENUE_MARKETS) -> dict[str, str]:
    """A venue's symbols → canonical instrument ids, as the catalog fixture lists them."""
    markets = venue_markets(path)["venues"].get(venue, {}).get("markets", [])
    return {m["venue_symbol"]: m["instrument"].upper() for m in markets}
