"""Trailing stops. Pure functions, no I/O.

A long position's stop trails the best price seen since entry by `stop` (a fraction): it closes when
the price falls to `best × (1 - stop)`. A short's mirrors it. The best price only ever improves.
"""

from __future__ import annotations

from dataclasses import dataclass

from vprime_shared.contracts import Side


@dataclass(frozen=True)
class Trail:
    best_price: float
    stop_price: float
    triggered: bool


def trail(side: Side, best_price: float, stop: float, mid: float) -> Trail:
    if side is Side.LONG:
        best = max(best_price, mid)
        stop_price = best * (1 - stop)
        return Trail(best, stop_price, mid <= stop_price)
    best = min(best_price, mid)
    stop_price = best * (1 + stop)
    return Trail(best, stop_price, mid >= stop_price)


def realized_pnl(side: Side, entry: float, exit_: float, qty: float, fees_usd: float) -> float:
    direction = 1 if side is Side.LONG else -1
    return (exit_ - entry) * qty * direction - fees_usd
