from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vprime_shared.contracts import Side
from vprime_signal.domain.aggregation import (
    AgentProfile,
    Evidence,
    Source,
    judge,
    momentum_factor,
    should_emit,
    size_for,
    trailing_stop_for,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
WINDOW, HALF_LIFE = timedelta(hours=4), timedelta(hours=1)
PROFILE = AgentProfile.from_weights({"x": 0.6, "research": 0.4}, threshold=0.6)


def post(i: int, direction: int = 1, strength: float = 0.8, minutes_ago: float = 0) -> Evidence:
    return Evidence(Source.X, f"p{i}", direction, strength, NOW - timedelta(minutes=minutes_ago))


def research(i: int, direction: int, conviction: float) -> Evidence:
    return Evidence(Source.RESEARCH, f"r{i}", direction, conviction, NOW)


def verdict(evidence: list[Evidence], mids: list[float] | None = None):  # type: ignore[no-untyped-def]
    return judge(evidence, PROFILE, now=NOW, window=WINDOW, half_life=HALF_LIFE, mids=mids or [], model="test")


def test_one_post_is_not_enough_but_agreeing_posts_are() -> None:
    assert not verdict([post(1)]).reaches_threshold
    v = verdict([post(1), post(2), post(3)])
    assert v.side is Side.LONG and v.reaches_threshold
    assert v.breakdown.agreement == 1 and v.breakdown.posts == 3
    assert [e.source_id for e in v.supporting] == ["p1", "p2", "p3"]


def test_more_agreement_more_confidence_conflict_less() -> None:
    agreeing = verdict([post(1), post(2), post(3)]).confidence
    with_support = verdict([post(1), post(2), post(3), research(1, 1, 0.9)]).confidence
    with_conflict = verdict([post(1), post(2), post(3), research(1, -1, 0.9)]).confidence
    assert with_support > agreeing > with_conflict
    assert with_conflict < PROFILE.threshold


def test_old_evidence_decays_and_expires() -> None:
    fresh = verdict([post(1), post(2), post(3)]).confidence
    stale = verdict([post(1, minutes_ago=120), post(2, minutes_ago=120), post(3, minutes_ago=120)]).confidence
    expired = verdict([post(1, minutes_ago=300)])
    assert stale < fresh and expired.side is None and expired.confidence == 0


def test_weights_follow_the_agent() -> None:
    research_only = AgentProfile.from_weights({"x": 0.0, "research": 1.0}, 0.6)
    v = judge([post(1), post(2), post(3)], research_only, now=NOW, window=WINDOW, half_life=HALF_LIFE, mids=[], model="t")
    assert v.confidence == 0


def test_momentum_scales_but_never_flips() -> None:
    assert momentum_factor(Side.LONG, [100, 103]) == pytest.approx(1.2)
    assert momentum_factor(Side.LONG, [100, 99]) == pytest.approx(0.9)
    assert momentum_factor(Side.SHORT, [100, 99]) == pytest.approx(1.1)
    falling = verdict([post(1), post(2), post(3)], mids=[100, 90])
    assert falling.side is Side.LONG and falling.breakdown.momentum_factor == pytest.approx(0.8)


def test_one_live_signal_per_side_and_flips_allowed() -> None:
    v = verdict([post(1), post(2), post(3)])
    assert should_emit(v, None) and should_emit(v, Side.SHORT) and not should_emit(v, Side.LONG)


def test_size_follows_confidence_within_bounds() -> None:
    assert size_for(0.6, 0.6).value == 5
    assert size_for(1.0, 0.6).value == 25
    assert 5 < size_for(0.8, 0.6).value < 25


def test_trailing_stop_from_volatility() -> None:
    assert trailing_stop_for([100, 101]).stop == 0.03  # too few ticks: the default
    calm = trailing_stop_for([100, 100.1, 100.0, 100.1, 100.0, 100.1]).stop
    wild = trailing_stop_for([100, 104, 98, 105, 97, 106]).stop
    assert calm == 0.01
    assert wild > calm and wild <= 0.10
