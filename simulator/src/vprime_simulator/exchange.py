"""The simulator's state: markets, prices, books, faults and placed orders. No I/O.

Hyperliquid's accounts, API wallets, nonces, orders and fills are its own (`hyperliquid.Clearinghouse`, at
`Exchange.hyperliquid`); Ostium, GMX and SPOT hold theirs on the local chain (`vprime_chain`).
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from typing import Any

from vprime_shared.reference import reference_prices, venue_markets
from vprime_simulator.hyperliquid import Clearinghouse

# Venue defaults: quoted spread, depth per book level (USD), step between levels, funding per hour.
VENUE_DEFAULTS: dict[str, dict[str, float]] = {
    "HYPERLIQUID": {"spread_bps": 2.0, "depth_usd": 250_000, "step_bps": 1.5, "funding_hourly": 0.0000125},
    "OSTIUM": {"spread_bps": 3.0, "depth_usd": 100_000, "step_bps": 2.0, "funding_hourly": 0.00001},
    "GMX": {"spread_bps": 4.0, "depth_usd": 150_000, "step_bps": 2.5, "funding_hourly": 0.00002},
    "SPOT": {"spread_bps": 10.0, "depth_usd": 50_000, "step_bps": 5.0, "funding_hourly": 0.0},
}
FAULT_MODES = ("ok", "down", "timeout", "reject", "lose_answer")


def fallback_price(instrument: str) -> float:
    """A stable made-up price for instruments without a reference price (most small caps)."""
    digest = int(hashlib.sha256(instrument.encode()).hexdigest()[:8], 16)
    return round(0.05 + (digest % 10_000) / 100, 4)


@dataclass
class SimMarket:
    venue: str
    symbol: str
    instrument: str
    asset_class: str
    max_leverage: float
    sz_decimals: int
    supports_short: bool
    multiplier: float
    index: int
    keeps_market_hours: bool
    delisted: bool
    open: bool = True
    spread_bps: float = 2.0
    depth_usd: float = 100_000
    step_bps: float = 2.0
    funding_hourly: float = 0.0
    basis_bps: float = 0.0
    mid_override: float | None = None


class Exchange:
    def __init__(self, seed: int = 7, volatility: float = 0.0008) -> None:
        self.rng = random.Random(seed)
        self.volatility = volatility
        self.fees: dict[str, dict[str, float]] = {}
        self.markets: dict[str, dict[str, SimMarket]] = {}
        self.prices: dict[str, float] = {}
        self.faults: dict[str, str] = {}
        self.fault_scope: dict[str, str] = {}  # "all" endpoints of the venue, or only its "orders"
        self.default_equity = 10_000.0
        self._load()
        self.hyperliquid = Clearinghouse(self)

    def _load(self) -> None:
        refs = reference_prices()
        for venue, spec in venue_markets()["venues"].items():
            self.fees[venue] = {"taker_bps": float(spec.get("taker_fee_bps", 0)), "maker_bps": float(spec.get("maker_fee_bps", 0))}
            d = VENUE_DEFAULTS[venue]
            markets = {}
            for i, m in enumerate(spec["markets"]):
                instrument = m["instrument"].upper()
                self.prices.setdefault(instrument, refs.get(instrument) or fallback_price(instrument))
                markets[m["venue_symbol"]] = SimMarket(
                    venue=venue, symbol=m["venue_symbol"], instrument=instrument, asset_class=m["asset_class"],
                    max_leverage=float(m.get("max_leverage", 1)), sz_decimals=int(m.get("sz_decimals", 4)),
                    supports_short=bool(m.get("supports_short", True)), multiplier=float(m.get("contract_multiplier", 1)),
                    index=int(m.get("asset_index", m.get("pair_index", i))), keeps_market_hours=bool(m.get("market_hours", False)),
                    delisted=bool(m.get("is_delisted", False)), spread_bps=d["spread_bps"], depth_usd=d["depth_usd"],
                    step_bps=d["step_bps"], funding_hourly=d["funding_hourly"],
                )
            self.markets[venue] = markets
            self.faults[venue] = "ok"
            self.fault_scope[venue] = "all"

    # ---- prices and books --------------------------------------------------------------------
    def mid(self, m: SimMarket) -> float:
        """Mid per venue unit (a kPEPE unit is 1,000 PEPE)."""
        base = m.mid_override if m.mid_override is not None else self.prices[m.instrument] * (1 + m.basis_bps / 10_000)
        return base * m.multiplier

    def book(self, m: SimMarket, levels: int = 10) -> dict[str, list[tuple[float, float]]]:
        mid = self.mid(m)
        half = m.spread_bps / 2 / 10_000
        bids, asks = [], []
        for i in range(levels):
            offset = half + i * m.step_bps / 10_000
            bid_px, ask_px = mid * (1 - offset), mid * (1 + offset)
            bids.append((bid_px, m.depth_usd / bid_px))
            asks.append((ask_px, m.depth_usd / ask_px))
        return {"bids": bids, "asks": asks}

    def step(self) -> None:
        """One step of the random walk for every instrument."""
        for instrument, price in self.prices.items():
            self.prices[instrument] = price * math.exp(self.rng.gauss(0, self.volatility))

    def market(self, venue: str, symbol: str) -> SimMarket:
        try:
            return self.markets[venue][symbol]
        except KeyError:
            raise KeyError(f"{venue} has no market {symbol!r}") from None

    def by_instrument(self, venue: str, instrument: str) -> SimMarket | None:
        return next((m for m in self.markets[venue].values() if m.instrument == instrument.upper()), None)

    def snapshot(self) -> dict[str, Any]:
        return {"faults": dict(self.faults), "fault_scope": dict(self.fault_scope),
                "markets": {v: len(ms) for v, ms in self.markets.items()}, "hyperliquid": self.hyperliquid.snapshot()}
