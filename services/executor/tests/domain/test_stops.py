from __future__ import annotations

import pytest

from vprime_shared.contracts import Side
from vprime_executor.domain.stops import realized_pnl, trail


def test_long_stop_trails_the_best_price() -> None:
    up = trail(Side.LONG, best_price=100, stop=0.05, mid=110)
    assert up.best_price == 110 and up.stop_price == pytest.approx(104.5) and not up.triggered
    hold = trail(Side.LONG, best_price=110, stop=0.05, mid=105)
    assert hold.best_price == 110 and not hold.triggered
    hit = trail(Side.LONG, best_price=110, stop=0.05, mid=104.5)
    assert hit.triggered


def test_short_stop_mirrors() -> None:
    down = trail(Side.SHORT, best_price=100, stop=0.05, mid=90)
    assert down.best_price == 90 and down.stop_price == pytest.approx(94.5) and not down.triggered
    assert trail(Side.SHORT, best_price=90, stop=0.05, mid=94.5).triggered


def test_pnl_by_side_after_fees() -> None:
    assert realized_pnl(Side.LONG, 100, 110, 2, 1) == pytest.approx(19)
    assert realized_pnl(Side.SHORT, 100, 110, 2, 1) == pytest.approx(-21)
