"""The simulator's state: markets, prices, books, faults and placed orders. No I/O.

Hyperliquid's accounts, API wallets, nonces, orders and fills are its own (`hyperliquid.Clearinghouse`, at
`Exchange.hyperliquid`); the `accounts` and `orders` here are the other venues'.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from vprime_shared.orderbook import walk
from vprime_shared.reference import reference_prices, venue_markets
from vprime_simulator.hyperliquid import Clearinghouse

# Venue defaults: quoted spread, depth per book level (USD), step between levels, funding per hour.
VENUE_DEFAULTS: dict[str, dict[str, float]] = {
    "HYPERLIQUID": {"spread_bps": 2.0, "depth_usd": 250_000, "step_bps": 1.5, "funding_hourly": 0.0000125, "min_notional": 10},
    "OSTIUM": {"spread_bps": 3.0, "depth_usd": 100_000, "step_bps": 2.0, "funding_hourly": 0.00001, "min_notional": 5},
    "GMX": {"spread_bps": 4.0, "depth_usd": 150_000, "step_bps": 2.5, "funding_hourly": 0.00002, "min_notional": 2},
    "SPOT": {"spread_bps": 10.0, "depth_usd": 50_000, "step_bps": 5.0, "funding_hourly": 0.0, "min_notional": 1},
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


@dataclass
class Order:
    client_order_id: str
    venue: str
    symbol: str
    side: str
    status: str
    avg_px: float | None
    size: float
    notional_usd: float
    venue_order_id: str
    reason: str = ""
    code: str = ""  # why a rejection happened: MARKET_CLOSED, DELISTED, NO_SHORT, MIN_NOTIONAL, LIQUIDITY, REDUCE_ONLY
    account: str = ""
    reduce_only: bool = False
    ts: float = field(default_factory=time.time)


@dataclass
class Holding:
    size: float = 0.0  # venue units, signed: long > 0
    entry_px: float = 0.0


@dataclass
class Account:
    venue: str
    address: str
    cash_usd: float
    holdings: dict[str, Holding] = field(default_factory=dict)
    fees_usd: float = 0.0


class RejectedOrder(Exception):
    pass


class Exchange:
    def __init__(self, seed: int = 7, volatility: float = 0.0008) -> None:
        self.rng = random.Random(seed)
        self.volatility = volatility
        self.fees: dict[str, dict[str, float]] = {}
        self.markets: dict[str, dict[str, SimMarket]] = {}
        self.prices: dict[str, float] = {}
        self.faults: dict[str, str] = {}
        self.fault_scope: dict[str, str] = {}  # "all" endpoints of the venue, or only its "orders"
        self.orders: dict[tuple[str, str], Order] = {}
        self.accounts: dict[tuple[str, str], Account] = {}
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

    # ---- accounts ----------------------------------------------------------------------------
    def account(self, venue: str, address: str, *, create: bool = True) -> Account | None:
        key = (venue, address.lower())
        if key not in self.accounts and create:
            self.accounts[key] = Account(venue, address.lower(), self.default_equity)
        return self.accounts.get(key)

    def equity(self, acct: Account) -> float:
        unrealized = 0.0
        for symbol, h in acct.holdings.items():
            if h.size:
                unrealized += (self.mid(self.market(acct.venue, symbol)) - h.entry_px) * h.size
        return acct.cash_usd + unrealized

    def _book_fill(self, acct: Account, m: SimMarket, side: str, size: float, px: float, fee_bps: float) -> None:
        """Apply a fill to the account: average in, or realise PnL on what it reduces."""
        h = acct.holdings.setdefault(m.symbol, Holding())
        signed = size if side == "BUY" else -size
        if h.size == 0 or (h.size > 0) == (signed > 0):
            total = h.size + signed
            h.entry_px = (h.entry_px * abs(h.size) + px * size) / abs(total)
            h.size = total
        else:
            closing = min(abs(signed), abs(h.size))
            acct.cash_usd += (px - h.entry_px) * closing * (1 if h.size > 0 else -1)
            h.size += signed
            if abs(h.size) < 1e-12:
                h.size, h.entry_px = 0.0, 0.0
            elif (h.size > 0) == (signed > 0):  # flipped through zero
                h.entry_px = px
        fee = size * px * fee_bps / 10_000
        acct.cash_usd -= fee
        acct.fees_usd += fee

    # ---- trading -----------------------------------------------------------------------------
    def place(self, venue: str, client_order_id: str, symbol: str, side: str, notional_usd: float | None = None, *,
              size: float | None = None, limit_px: float | None = None, account: str = "", reduce_only: bool = False) -> Order:
        """Fill a market (or IoC limit) order by walking the book, up to `limit_px`; sized by USD notional or by
        venue units. The same client order id always answers the same order."""
        key = (venue, client_order_id)
        if key in self.orders:
            return self.orders[key]
        m = self.market(venue, symbol)
        acct = self.account(venue, account) if account else None
        if notional_usd is None:
            notional_usd = (size or 0.0) * self.mid(m)
        if reduce_only and acct is not None:
            held = acct.holdings.get(symbol, Holding()).size
            if held == 0 or (held > 0) == (side == "BUY"):
                order = Order(client_order_id, venue, symbol, side, "rejected", None, 0.0, notional_usd, "",
                              "Reduce only order would increase position", "REDUCE_ONLY", account, True)
                self.orders[key] = order
                return order
        reason, code = None, ""
        if m.delisted:
            reason, code = f"{symbol} is delisted", "DELISTED"
        elif not m.open:
            reason, code = f"{symbol} market is closed", "MARKET_CLOSED"
        elif side == "SELL" and not m.supports_short and not reduce_only:
            reason, code = f"{venue} cannot open a short", "NO_SHORT"
        elif notional_usd < VENUE_DEFAULTS[venue]["min_notional"] and not reduce_only:
            reason, code = f"notional {notional_usd:.2f} below the minimum {VENUE_DEFAULTS[venue]['min_notional']}", "MIN_NOTIONAL"
        if reason:
            order = Order(client_order_id, venue, symbol, side, "rejected", None, 0.0, notional_usd, "", reason, code)
            self.orders[key] = order
            return order
        levels = self.book(m, levels=50)["asks" if side == "BUY" else "bids"]
        if limit_px is not None:  # an IoC limit takes only the levels at or better than its price
            levels = [lv for lv in levels if (lv[0] <= limit_px if side == "BUY" else lv[0] >= limit_px)]
        if size is not None:
            levels_sized, left = [], size
            for px, sz in levels:
                take = min(left, sz)
                levels_sized.append((px, take))
                left -= take
                if left <= 1e-12:
                    break
            levels = levels_sized
            notional_usd = sum(px * sz for px, sz in levels) or notional_usd
        filled = walk(levels, notional_usd)
        if filled.avg_price is None or (size is None and filled.unfilled_usd > 1e-6):
            order = Order(client_order_id, venue, symbol, side, "rejected", None, 0.0, notional_usd, "",
                          "no liquidity within the limit price" if limit_px else "not enough liquidity", "LIQUIDITY", account, reduce_only)
        else:
            order = Order(client_order_id, venue, symbol, side, "filled", filled.avg_price, filled.size, filled.cost_usd,
                          f"{venue[:2].lower()}-{len(self.orders) + 1}", account=account, reduce_only=reduce_only)
            if acct is not None:
                self._book_fill(acct, m, side, filled.size, filled.avg_price, self.fees[venue]["taker_bps"])
        self.orders[key] = order
        return order

    def snapshot(self) -> dict[str, Any]:
        return {"faults": dict(self.faults), "fault_scope": dict(self.fault_scope), "orders": len(self.orders),
                "markets": {v: len(ms) for v, ms in self.markets.items()}, "hyperliquid": self.hyperliquid.snapshot()}
