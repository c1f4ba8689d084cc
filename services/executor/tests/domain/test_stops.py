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


from vprime_shared.contracts import RiskModel
from vprime_executor.domain.stops import closes_on_ticks, evaluate


def test_hard_stop_is_measured_from_entry_not_best() -> None:
    risk = RiskModel(type="stop-loss", stop=0.05)
    assert evaluate(Side.LONG, 100, 120, risk, 96).close_reason is None  # 20 % off the best, but 4 % off entry
    assert evaluate(Side.LONG, 100, 120, risk, 95).close_reason.startswith("stop_loss")  # type: ignore[union-attr]
    assert evaluate(Side.SHORT, 100, 90, risk, 105).close_reason.startswith("stop_loss")  # type: ignore[union-attr]


def test_take_profit_for_any_risk_type() -> None:
    risk = RiskModel(type="none", take_profit=0.10)
    assert evaluate(Side.LONG, 100, 100, risk, 109.9).close_reason is None
    assert evaluate(Side.LONG, 100, 100, risk, 110).close_reason.startswith("take_profit")  # type: ignore[union-attr]
    assert evaluate(Side.SHORT, 100, 100, risk, 90).close_reason.startswith("take_profit")  # type: ignore[union-attr]
    trailing = RiskModel(type="trailing-stop", stop=0.03, take_profit=0.2)
    assert evaluate(Side.LONG, 100, 100, trailing, 121).close_reason.startswith("take_profit")  # type: ignore[union-attr]


def test_no_stop_never_closes_on_price_alone() -> None:
    assert evaluate(Side.LONG, 100, 100, RiskModel(type="none"), 1).close_reason is None
    moved = evaluate(Side.LONG, 100, 100, RiskModel(type="trailing-stop", stop=0.03), 150)
    assert moved.best_price == 150 and moved.close_reason is None


@pytest.mark.parametrize("risk", [RiskModel(type="none"), RiskModel(type="none", stop=0.05), RiskModel(type="trailing-stop"),
                                  RiskModel(type="stop-loss")])
def test_a_position_no_tick_can_close_is_not_watched(risk: RiskModel) -> None:
    assert not closes_on_ticks(risk)
    for side in Side:
        for mid in (1.0, 50.0, 99.0, 100.0, 101.0, 200.0, 10_000.0):
            assert evaluate(side, 100.0, 100.0, risk, mid).close_reason is None


@pytest.mark.parametrize("risk", [RiskModel(type="none", take_profit=0.1), RiskModel(type="trailing-stop", stop=0.05),
                                  RiskModel(type="stop-loss", stop=0.05)])
def test_a_position_a_tick_can_close_is_watched(risk: RiskModel) -> None:
    assert closes_on_ticks(risk)
    assert any(evaluate(side, 100.0, 100.0, risk, mid).close_reason for side in Side for mid in (50.0, 200.0))
