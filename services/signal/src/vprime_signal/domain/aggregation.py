"""Per agent and instrument: evidence in a sliding window → a side and a confidence. Pure functions.

Each piece of evidence (a post's stance, a research note) contributes
`weight(source) × strength × 0.5 ** (age / half_life)` to the bullish or the bearish side, where the
weights are the agent's `{x, research}` (normalised). Then

    agreement  = |bullish - bearish| / (bullish + bearish)    conflict lowers it, agreement keeps it at 1
    evidence   = 1 - exp(-(bullish + bearish))                 more independent evidence, more confidence
    momentum   = 1 ± clamp(10 × recent return, 0.2)             the market may scale confidence, never flip the side
    confidence = min(1, agreement × evidence × momentum)

A signal is emitted when confidence reaches the agent's threshold, unless a signal for the same side of
the same instrument is still live (emitted within the window); a flip of the stance may signal the
opposite side. Size follows confidence between `SIZE_MIN_PCT` and `SIZE_MAX_PCT`; the trailing stop is
three times recent volatility, between 1 % and 10 % (3 % before enough ticks are in).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from vprime_shared.contracts import RiskModel, ScoreBreakdown, Side, SizeModel

SIZE_MIN_PCT = 5.0
SIZE_MAX_PCT = 25.0
STOP_MIN, STOP_MAX, STOP_DEFAULT = 0.01, 0.10, 0.03
MIN_TICKS_FOR_VOLATILITY = 5
MOMENTUM_GAIN = 10.0
MOMENTUM_CAP = 0.2


class Source(StrEnum):
    X = "x"
    RESEARCH = "research"


@dataclass(frozen=True, slots=True)
class Evidence:
    source: Source
    source_id: str
    direction: int  # +1 bullish, -1 bearish
    strength: float  # 0..1
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class AgentProfile:
    x_weight: float
    research_weight: float
    threshold: float

    @classmethod
    def from_weights(cls, weights: dict[str, float], threshold: float) -> AgentProfile:
        x, research = max(weights.get("x", 0.0), 0.0), max(weights.get("research", 0.0), 0.0)
        total = x + research
        if total == 0:
            return cls(0.5, 0.5, threshold)
        return cls(x / total, research / total, threshold)

    def weight(self, source: Source) -> float:
        return self.x_weight if source is Source.X else self.research_weight


@dataclass(frozen=True)
class Verdict:
    side: Side | None
    confidence: float
    breakdown: ScoreBreakdown
    supporting: list[Evidence]  # the evidence on the verdict's side: the signal's sources

    @property
    def reaches_threshold(self) -> bool:
        return self.side is not None and self.confidence >= self.breakdown.threshold


def momentum_factor(side: Side | None, mids: list[float]) -> float:
    """Recent return in the side's direction scales confidence by up to ±20 %."""
    if side is None or len(mids) < 2 or mids[0] <= 0:
        return 1.0
    ret = mids[-1] / mids[0] - 1
    signed = ret if side is Side.LONG else -ret
    return 1.0 + max(-MOMENTUM_CAP, min(MOMENTUM_CAP, MOMENTUM_GAIN * signed))


def judge(evidence: list[Evidence], profile: AgentProfile, *, now: datetime, window: timedelta, half_life: timedelta,
          mids: list[float], model: str) -> Verdict:
    live = [e for e in evidence if now - window <= e.observed_at <= now + timedelta(minutes=5)]
    bull = bear = 0.0
    for e in live:
        age = max((now - e.observed_at).total_seconds(), 0.0)
        contribution = profile.weight(e.source) * e.strength * 0.5 ** (age / half_life.total_seconds())
        if e.direction > 0:
            bull += contribution
        else:
            bear += contribution
    total = bull + bear
    side = None if math.isclose(bull, bear) else (Side.LONG if bull > bear else Side.SHORT)
    agreement = abs(bull - bear) / total if total else 0.0
    evidence_factor = 1 - math.exp(-total)
    momentum = momentum_factor(side, mids)
    confidence = min(1.0, agreement * evidence_factor * momentum)
    direction = 1 if side is Side.LONG else -1
    supporting = [e for e in live if side is not None and e.direction == direction]
    breakdown = ScoreBreakdown(
        model=model,
        window_minutes=window.total_seconds() / 60,
        half_life_minutes=half_life.total_seconds() / 60,
        bullish=round(bull, 6),
        bearish=round(bear, 6),
        agreement=round(agreement, 6),
        evidence_factor=round(evidence_factor, 6),
        momentum_factor=round(momentum, 6),
        confidence=round(confidence, 6),
        threshold=profile.threshold,
        posts=sum(1 for e in live if e.source is Source.X),
        research=sum(1 for e in live if e.source is Source.RESEARCH),
    )
    return Verdict(side, confidence, breakdown, supporting)


def should_emit(verdict: Verdict, live_side: Side | None) -> bool:
    """One live signal per agent and instrument per window; a flip may signal the other side."""
    return verdict.reaches_threshold and verdict.side != live_side


def size_for(confidence: float, threshold: float) -> SizeModel:
    span = max(1.0 - threshold, 1e-9)
    share = min(max((confidence - threshold) / span, 0.0), 1.0)
    return SizeModel(value=round(SIZE_MIN_PCT + (SIZE_MAX_PCT - SIZE_MIN_PCT) * share, 2))


def trailing_stop_for(mids: list[float]) -> RiskModel:
    if len(mids) < MIN_TICKS_FOR_VOLATILITY:
        return RiskModel(type="trailing-stop", stop=STOP_DEFAULT)
    returns = [math.log(b / a) for a, b in zip(mids, mids[1:]) if a > 0 and b > 0]
    mean = sum(returns) / len(returns)
    sigma = math.sqrt(sum((r - mean) ** 2 for r in returns) / max(len(returns) - 1, 1))
    return RiskModel(type="trailing-stop", stop=round(min(STOP_MAX, max(STOP_MIN, 3 * sigma)), 4))
