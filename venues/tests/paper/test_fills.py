from __future__ import annotations

import pytest

from vprime_shared.contracts import Side
from vprime_venues.paper.fills import exit_fill, paper_fill


def test_long_fills_above_mid_for_its_notional() -> None:
    fill = paper_fill(side=Side.LONG, mid=2000, notional_usd=10_000, taker_fee_bps=4.5, slippage_bps=2)
    assert fill.price == pytest.approx(2000.4)
    assert fill.notional_usd == pytest.approx(10_000)
    assert fill.qty == pytest.approx(10_000 / 2000.4)
    assert fill.fee_usd == pytest.approx(4.5)


def test_short_fills_below_mid() -> None:
    fill = paper_fill(side=Side.SHORT, mid=100, notional_usd=100, taker_fee_bps=0, slippage_bps=10)
    assert fill.price == pytest.approx(99.9)


def test_an_exit_crosses_against_the_position() -> None:
    long_exit = exit_fill(side=Side.LONG, mid=100, qty=2, fee_bps=5, slippage_bps=10)
    short_exit = exit_fill(side=Side.SHORT, mid=100, qty=2, fee_bps=5, slippage_bps=10)
    assert (long_exit.price, short_exit.price) == (pytest.approx(99.9), pytest.approx(100.1))
    assert long_exit.fee_usd == pytest.approx(2 * 99.9 * 5 / 10_000)


def test_refuses_a_nonsense_price() -> None:
    with pytest.raises(ValueError):
        paper_fill(side=Side.LONG, mid=0, notional_usd=1, taker_fee_bps=0, slippage_bps=0)
    with pytest.raises(ValueError):
        exit_fill(side=Side.LONG, mid=-1, qty=1, fee_bps=0, slippage_bps=0)
