from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vprime_router.domain.health import BreakerState, CircuitBreaker

T0 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def test_opens_at_the_threshold_and_recovers_through_a_probe() -> None:
    b = CircuitBreaker(threshold=3, open_for=timedelta(seconds=30))
    b.record_failure(T0, "timeout")
    b.record_failure(T0, "timeout")
    assert b.state(T0) is BreakerState.CLOSED and b.allows(T0)
    b.record_failure(T0, "timeout")
    assert b.state(T0) is BreakerState.OPEN and not b.allows(T0 + timedelta(seconds=29))
    half = T0 + timedelta(seconds=30)
    assert b.state(half) is BreakerState.HALF_OPEN and b.allows(half)
    b.probe(half)
    assert not b.allows(half + timedelta(seconds=1))  # one probe at a time
    b.record_success()
    assert b.state(half) is BreakerState.CLOSED and b.failures == 0


def test_a_failed_probe_opens_it_again() -> None:
    b = CircuitBreaker(threshold=2, open_for=timedelta(seconds=10))
    b.record_failure(T0, "down")
    b.record_failure(T0, "down")
    half = T0 + timedelta(seconds=10)
    b.probe(half)
    b.record_failure(half, "still down")
    assert b.state(half) is BreakerState.OPEN and "still down" in b.describe(half)
    assert b.state(half + timedelta(seconds=10)) is BreakerState.HALF_OPEN


def test_a_stuck_probe_expires() -> None:
    b = CircuitBreaker(threshold=1, open_for=timedelta(seconds=10))
    b.record_failure(T0, "down")
    half = T0 + timedelta(seconds=10)
    b.probe(half)
    assert not b.allows(half + timedelta(seconds=5)) and b.allows(half + timedelta(seconds=11))
