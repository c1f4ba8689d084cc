"""The per-client rate limit on sign-in requests."""

from __future__ import annotations

import pytest

from vprime_control.auth_api import ClientRateLimit, RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_request_every_sixty_over_n_seconds() -> None:
    clock = Clock()
    limit = ClientRateLimit(6, clock=clock)
    for _ in range(6):
        limit.take("10.0.0.1", "sign-in requests")
    with pytest.raises(RateLimited, match="at most 6 a minute") as refused:
        limit.take("10.0.0.1", "sign-in requests")
    assert refused.value.retry_after_s == 10
    limit.take("10.0.0.2", "sign-in requests")  # another client has its own bucket
    clock.now = 10.0
    limit.take("10.0.0.1", "sign-in requests")
    with pytest.raises(RateLimited):
        limit.take("10.0.0.1", "sign-in requests")


def test_the_buckets_kept_are_bounded() -> None:
    limit = ClientRateLimit(1, clients=100, clock=Clock())
    for n in range(1_000):
        limit.take(f"client-{n}", "sign-in requests")
    assert len(limit._buckets) == 100
