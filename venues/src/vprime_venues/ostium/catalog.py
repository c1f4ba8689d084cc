"""Ostium's catalog, from the venue's own data, scaled as its official SDK scales it (see constants):

- the subgraph's `pairs` (GraphQL): id, from, to, `group { name maxLeverage }`, `maxLeverage`, `makerFeeP`,
  `takerFeeP`, `fee { minLevPos }`, `curFundingLong`, `curRollover`, `longOI`, `shortOI`, `maxOI`;
- the price service's `latest-prices`: bid, mid, ask and `isMarketOpen` per pair (real-world assets keep market
  hours).

Maximum leverage is the group's when the group sets one (not 0), else the pair's (SDK `get_pair_max_leverage`).
The minimum position is the pair's `fee.minLevPos`. Funding: `curFundingLong` (crypto pairs) and `curRollover`
(the other groups) are PRECISION_9 figures in the SDK; we read the scaled figure as an annualised percentage
(what Ostium's app shows), so the hourly fraction a long pays is (curFundingLong + curRollover) / 1e9 / 100 / 8,760.
The subgraph has no delisted flag: a pair the venue stops listing leaves the list.

Depth: Ostium fills every order at its oracle's price (bid or ask) against its liquidity buffer, with no book; what
bounds an order is the pair's open-interest cap. So a pair's book is one level on each side at the oracle's bid and
ask, as large as the room left under `maxOI` for that side (longs buy, shorts sell). No simulator route is read.

Symbols are `FROM-TO`; the catalog fixture names the canonical id (`XAU-USD` is GOLD, `SPX-USD` the S&P 500 as
SPX500); otherwise a currency pair is FROMTO (EURUSD) and a crypto pair its base.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from vprime_shared.contracts import CatalogMarket, Venue
from vprime_shared.orderbook import Book
from vprime_shared.reference import canonical_instruments, venue_symbol_map

from vprime_venues.ostium import constants as C

PAIRS_QUERY = """query getPairs { pairs(first: 1000) { id from to group { id name maxLeverage } maxLeverage makerFeeP
  takerFeeP fee { minLevPos } curFundingLong curRollover longOI shortOI maxOI } }"""
GROUP_CLASSES = {"forex": "fx", "crypto": "crypto", "commodities": "commodity", "indices": "index", "stocks": "stocks"}


def max_leverage(pair: dict[str, Any]) -> Decimal:
    """The group's maximum when it sets one, else the pair's (PRECISION_2)."""
    group = int((pair.get("group") or {}).get("maxLeverage") or 0)
    return Decimal(group if group else int(pair["maxLeverage"])) / C.PRECISION_2


def fee_bps(fee_p: str | int) -> Decimal:
    """PRECISION_6 percent to basis points (100,000 = 0.1 % = 10 bps)."""
    return Decimal(int(fee_p)) / C.PRECISION_6 * 100


def funding_hourly(pair: dict[str, Any]) -> Decimal:
    """The fraction of a long's position paid per hour: funding (crypto) plus rollover (the other groups)."""
    annual_percent = (Decimal(int(pair.get("curFundingLong") or 0)) + Decimal(int(pair.get("curRollover") or 0))) / C.PRECISION_9
    return annual_percent / 100 / C.HOURS_PER_YEAR


@dataclass(frozen=True)
class Room:
    """What a pair can still take before its open-interest cap, in USD, each side."""

    long_usd: Decimal
    short_usd: Decimal


def oi_room(pair: dict[str, Any], mid: Decimal) -> Room:
    cap = Decimal(int(pair.get("maxOI") or 0)) / C.PRECISION_6
    longs = Decimal(int(pair.get("longOI") or 0)) / C.BASE_SCALE * mid
    shorts = Decimal(int(pair.get("shortOI") or 0)) / C.BASE_SCALE * mid
    return Room(max(cap - longs, Decimal(0)), max(cap - shorts, Decimal(0)))


class OstiumSync:
    venue = Venue.OSTIUM

    def __init__(self, subgraph_url: str, prices_url: str) -> None:
        self.subgraph_url, self.prices_url = subgraph_url, prices_url
        self.symbols = venue_symbol_map(self.venue.value)
        self.asset_classes = canonical_instruments()
        self._depth: dict[str, tuple[Decimal, Decimal, Room]] = {}  # symbol -> (bid, ask, room), from the last sync

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
        out, depth = [], {}
        for pair in pairs_r.json()["data"]["pairs"]:
            group = pair["group"]["name"]
            symbol = f"{pair['from']}-{pair['to']}"
            instrument = self.canonical(pair["from"], pair["to"], group)
            price = prices.get((pair["from"], pair["to"]))
            quote = _quote(price)
            if quote is not None:
                depth[symbol] = (quote[0], quote[2], oi_room(pair, quote[1]))
            out.append(CatalogMarket(
                venue_symbol=symbol, instrument=instrument,
                asset_class=GROUP_CLASSES.get(group, self.asset_classes.get(instrument, "crypto")),
                max_leverage=float(max_leverage(pair)), contract_multiplier=1.0,
                min_notional_usd=float(Decimal(int((pair.get("fee") or {}).get("minLevPos") or 0)) / C.PRECISION_6),
                supports_short=True, is_delisted=False,
                is_open=bool(price and price["isMarketOpen"]), keeps_market_hours=group != "crypto",
                taker_fee_bps=float(fee_bps(pair["takerFeeP"])), maker_fee_bps=float(fee_bps(pair["makerFeeP"])),
                funding_rate_hourly=float(funding_hourly(pair)),
                mark_price=float(quote[1]) if quote else None,
                bid=float(quote[0]) if quote else None, ask=float(quote[2]) if quote else None,
            ))
        self._depth = depth
        return out

    async def book(self, http: httpx.AsyncClient, market: CatalogMarket) -> Book:
        """One level a side: the oracle's bid and ask, as deep as the open-interest cap leaves room (see the module)."""
        found = self._depth.get(market.venue_symbol)
        if found is None:
            return Book([], [])
        bid, ask, room = found
        bids = [(float(bid), float(room.short_usd / bid))] if room.short_usd > 0 else []
        asks = [(float(ask), float(room.long_usd / ask))] if room.long_usd > 0 else []
        return Book(bids, asks)


def _quote(price: dict[str, Any] | None) -> tuple[Decimal, Decimal, Decimal] | None:
    """(bid, mid, ask) as exact decimals of the JSON numbers, or None when the price service has none."""
    if not price:
        return None
    try:
        quote = tuple(Decimal(str(price[k])) for k in ("bid", "mid", "ask"))
    except (KeyError, InvalidOperation):
        return None
    return quote if all(q > 0 for q in quote) else None  # type: ignore[return-value]
