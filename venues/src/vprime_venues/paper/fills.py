"""Paper fills. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from vprime_shared.contracts import Side


@dataclass(frozen=True)
class Fill:
    price: float
    qty: float
    notional_usd: float
    fee_usd: float


def paper_fill(*, side: Side, mid: float, notional_usd: float, taker_fee_bps: float, slippage_bps: float) -> Fill:
    """Buy (LONG) or sell (SHORT) `notional_usd` at mid, worse by the slippage, paying the taker fee on the notional."""
    if mid <= 0:
        raise ValueError(f"cannot fill at a non-positive price {mid}")
    direction = 1 if side is Side.LONG else -1
    price = mid * (1 + direction * slippage_bps / 10_000)
    return Fill(price=price, qty=notional_usd / price, notional_usd=notional_usd, fee_usd=notional_usd * taker_fee_bps / 10_000)


def exit_fill(*, side: Side, mid: float, qty: float, fee_bps: float, slippage_bps: float) -> Fill:
    """Close `qty` of a `side` position at mid, worse by the slippage (a long sells below it, a short buys above),
    paying `fee_bps` on the exit notional."""
    if mid <= 0:
        raise ValueError(f"cannot fill at a non-positive price {mid}")
    direction = -1 if side is Side.LONG else 1
    price = mid * (1 + direction * slippage_bps / 10_000)
    notional = abs(qty * price)
    return Fill(price=price, qty=qty, notional_usd=notional, fee_usd=notional * fee_bps / 10_000)
