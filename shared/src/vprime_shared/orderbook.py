"""Walking an order book: what a market order of a given USD notional gets, level by level."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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
