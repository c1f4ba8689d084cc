"""Sizing and paper fills. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from vprime_shared.contracts import Side


@dataclass(frozen=True)
class Fill:
    price: float
    qty: float
    notional_usd: float
    fee_usd: float


def paper_fill(*, side: Side, mid: float, equity_usd: float, size_pct: float, leverage: float,
               taker_fee_bps: float, slippage_bps: float) -> Fill:
    """Fill at mid, worse by the slippage, for a margin of `size_pct` of equity at `leverage`."""
    if mid <= 0:
        raise ValueError(f"cannot fill at a non-positive price {mid}")
    direction = 1 if side is Side.LONG else -1
    price = mid * (1 + direction * slippage_bps / 10_000)
    notional = equity_usd * size_pct / 100 * leverage
    return Fill(price=price, qty=notional / price, notional_usd=notional, fee_usd=notional * taker_fee_bps / 10_000)
