"""Order books (prices per canonical unit, sizes in canonical units) and walking them: what a market order of a given
USD notional gets, level by level."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vprime_shared.contracts import Side


@dataclass(frozen=True)
class Walk:
    size: float  # units bought or sold
    cost_usd: float  # notional actually filled
    unfilled_usd: float  # what the book could not take

    @property
    def avg_price(self) -> float | None:
        return self.cost_usd / self.size if self.size else None


def walk(levels: Iterable[tuple[float, float]], notional_usd: float) -> Walk:
    """Take `notional_usd` from `levels` (price, size), best first."""
    remaining, size, cost = notional_usd, 0.0, 0.0
    for price, level_size in levels:
        take = min(remaining, price * level_size)
        size += take / price
        cost += take
        remaining -= take
        if remaining <= 1e-9:
            break
    return Walk(size, cost, max(remaining, 0.0))


@dataclass(frozen=True)
class Book:
    bids: list[tuple[float, float]]  # best first
    asks: list[tuple[float, float]]

    @property
    def mid(self) -> float | None:
        if not self.bids or not self.asks:
            return None
        return (self.bids[0][0] + self.asks[0][0]) / 2

    def half_spread_bps(self) -> float | None:
        mid = self.mid
        return (self.asks[0][0] - self.bids[0][0]) / 2 / mid * 10_000 if mid else None

    def impact_bps(self, side: Side, notional_usd: float) -> float | None:
        """Average fill price beyond the best price, in bps, for a market order of `notional_usd`;
        None when the book is too thin to fill it."""
        levels = self.asks if side is Side.LONG else self.bids
        if not levels:
            return None
        filled = walk(levels, notional_usd)
        if filled.unfilled_usd > 1e-6 or filled.avg_price is None:
            return None
        best = levels[0][0]
        return abs(filled.avg_price - best) / best * 10_000
