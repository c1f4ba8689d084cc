"""Risk models applied to an open position on every tick. Pure functions, no I/O.

- trailing stop (`type: trailing-stop`, `stop` a fraction): closes when the price gives back `stop`
  from the best price since entry (a long's best is its highest, a short's its lowest);
- hard stop (`type: stop-loss`): closes when the price is `stop` against the entry;
- take-profit (`take_profit`, any type): closes when the price is `take_profit` in favour of the entry.
The best price only ever improves.
"""

from __future__ import annotations

from dataclasses import dataclass

from vprime_shared.contracts import RiskModel, Side


@dataclass(frozen=True)
class Trail:
    best_price: float
    stop_price: float
    triggered: bool


@dataclass(frozen=True)
class Verdict:
    best_price: float
    close_reason: str | None


def trail(side: Side, best_price: float, stop: float, mid: float) -> Trail:
    if side is Side.LONG:
        best = max(best_price, mid)
        stop_price = best * (1 - stop)
        return Trail(best, stop_price, mid <= stop_price)
    best = min(best_price, mid)
    stop_price = best * (1 + stop)
    return Trail(best, stop_price, mid >= stop_price)


def closes_on_ticks(risk: RiskModel) -> bool:
    """Whether any price can close a position with this risk model (`evaluate` never closes one that cannot)."""
    return risk.take_profit is not None or (risk.stop is not None and risk.type != "none")


def evaluate(side: Side, entry: float, best_price: float, risk: RiskModel, mid: float) -> Verdict:
    direction = 1 if side is Side.LONG else -1
    best = max(best_price, mid) if side is Side.LONG else min(best_price, mid)
    if risk.take_profit is not None and (mid / entry - 1) * direction >= risk.take_profit - 1e-12:  # at the level counts
        return Verdict(best, f"take_profit: {mid:g} is {risk.take_profit:.2%} past entry {entry:g}")
    if risk.stop is None or risk.type == "none":
        return Verdict(best, None)
    if risk.type == "stop-loss":
        stop_price = entry * (1 - direction * risk.stop)
        hit = mid <= stop_price if side is Side.LONG else mid >= stop_price
        return Verdict(best, f"stop_loss: {mid:g} crossed {stop_price:g} ({risk.stop:.2%} from entry)" if hit else None)
    moved = trail(side, best_price, risk.stop, mid)
    reason = f"trailing_stop: {mid:g} crossed {moved.stop_price:g} ({risk.stop:.2%} from best {moved.best_price:g})"
    return Verdict(moved.best_price, reason if moved.triggered else None)


def realized_pnl(side: Side, entry: float, exit_: float, qty: float, fees_usd: float) -> float:
    """(exit − entry) × qty × direction − fees."""
    direction = 1 if side is Side.LONG else -1
    return (exit_ - entry) * qty * direction - fees_usd
