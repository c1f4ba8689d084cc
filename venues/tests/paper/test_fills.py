from __future__ import annotations

import pytest

from vprime_shared.contracts import Side
from vprime_venues.paper.fills import paper_fill


def test_long_fills_above_mid_and_sizes_by_margin_and_leverage() -> None:
    fill = paper_fill(side=Side.LONG, mid=2000, equity_usd=10_000, size_pct=25, leverage=4, taker_fee_bps=4.5, slippage_bps=2)
    assert fill.price == pytest.approx(2000.4)
    assert fill.notional_usd == pytest.approx(10_000)
    assert fill.qty == pytest.approx(10_000 / 2000.4)
    assert fill.fee_usd == pytest.approx(4.5)


def test_short_fills_below_mid() -> None:
    fill = paper_fill(side=Side.SHORT, mid=100, equity_usd=1000, size_pct=10, leverage=1, taker_fee_bps=0, slippage_bps=10)
    assert fill.price == pytest.approx(99.9)


def test_refuses_a_nonsense_price() -> None:
    with pytest.raises(ValueError):
        paper_fill(side=Side.LONG, mid=0, equity_usd=1, size_pct=1, leverage=1, taker_fee_bps=0, slippage_bps=0)
