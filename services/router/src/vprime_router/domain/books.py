"""Order books and what walking them costs. Prices are per canonical unit, sizes in canonical units."""

from __future__ import annotations

from dataclasses import dataclass

from vprime_shared.contracts import Side
from vprime_shared.orderbook import walk


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
