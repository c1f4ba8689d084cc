from __future__ import annotations

import asyncio

import httpx
import pytest

from vprime_venues.execution import VenueUnavailable
from vprime_venues.ratelimit import BudgetExhausted, RateBudget, read_with_backoff, refuse_throttled_order


class Clock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def a_budget(weight_per_minute: float = 60, burst: float | None = 10) -> tuple[RateBudget, Clock]:
    clock = Clock()
    return RateBudget(weight_per_minute, burst=burst, clock=clock, sleep=clock.sleep), clock


async def test_weight_within_the_burst_is_spent_at_once() -> None:
    budget, clock = a_budget()
    await budget.take(4)
    async with budget.spend(6):
        pass
    assert clock.slept == [] and budget.available == 0


async def test_weight_beyond_the_bucket_waits_for_it_to_flow_in() -> None:
    budget, clock = a_budget(weight_per_minute=60, burst=10)  # one a second
    await budget.take(10)
    await budget.take(3)
    assert clock.now == pytest.approx(3.0)
    assert budget.available == pytest.approx(0)


async def test_the_bucket_never_holds_more_than_its_burst() -> None:
    budget, clock = a_budget(weight_per_minute=60, burst=10)
    clock.now += 3600
    assert budget.available == 10


async def test_the_default_burst_is_a_tenth_of_a_minute() -> None:
    assert RateBudget(1200).burst == 120


async def test_a_request_heavier_than_the_burst_waits_for_a_full_bucket_and_goes_into_debt() -> None:
    budget, clock = a_budget(weight_per_minute=60, burst=10)
    await budget.take(5)
    await budget.take(20)
    assert clock.now == pytest.approx(5.0)  # until the bucket was full again
    assert budget.available == pytest.approx(-10)


async def test_a_bounded_wait_refuses_without_spending() -> None:
    budget, clock = a_budget(weight_per_minute=60, burst=10)
    await budget.take(10)
    with pytest.raises(BudgetExhausted):
        await budget.take(5, max_wait_s=2)
    assert budget.available == 0 and clock.now == 0
    await budget.take(2, max_wait_s=2)
    assert clock.now == pytest.approx(2.0)


async def test_try_take_never_waits() -> None:
    budget, _ = a_budget(burst=10)
    assert budget.try_take(8)
    assert not budget.try_take(5)
    assert budget.available == 2


async def test_debit_and_exhaust() -> None:
    budget, clock = a_budget(weight_per_minute=60, burst=10)
    budget.debit(4)
    assert budget.available == 6
    budget.exhaust()
    assert budget.available == 0
    budget.debit(3)
    budget.exhaust()  # a debt stays a debt
    assert budget.available == -3


async def test_concurrent_takers_are_served_in_turn_at_the_budgets_rate() -> None:
    budget, clock = a_budget(weight_per_minute=60, burst=2)
    done: list[tuple[int, float]] = []

    async def taker(i: int) -> None:
        await budget.take(2)
        done.append((i, clock.now))

    await asyncio.gather(*(taker(i) for i in range(5)))
    assert [i for i, _ in done] == [0, 1, 2, 3, 4]
    assert [t for _, t in done] == pytest.approx([0, 2, 4, 6, 8])  # 10 weight at 1 a second, 2 held at start


def answers(*codes: int, retry_after: str | None = None) -> tuple[list[int], object]:
    calls: list[int] = []

    async def send() -> httpx.Response:
        code = codes[min(len(calls), len(codes) - 1)]
        calls.append(code)
        return httpx.Response(code, headers={"retry-after": retry_after} if retry_after and code == 429 else {})

    return calls, send


async def test_a_read_answered_429_is_retried_with_exponential_backoff() -> None:
    clock = Clock()
    calls, send = answers(429, 429, 429, 200)
    r = await read_with_backoff(send, "VENUE", sleep=clock.sleep)  # type: ignore[arg-type]
    assert r.status_code == 200 and len(calls) == 4
    assert clock.slept == [0.5, 1.0, 2.0]


async def test_a_read_throttled_every_time_is_unavailable() -> None:
    clock = Clock()
    calls, send = answers(429)
    with pytest.raises(VenueUnavailable, match="429"):
        await read_with_backoff(send, "VENUE", tries=6, max_backoff_s=3.0, sleep=clock.sleep)  # type: ignore[arg-type]
    assert len(calls) == 6
    assert clock.slept == [0.5, 1.0, 2.0, 3.0, 3.0]  # capped


async def test_a_read_honours_retry_after_within_the_cap() -> None:
    clock = Clock()
    _, send = answers(429, 200, retry_after="2.5")
    await read_with_backoff(send, "VENUE", sleep=clock.sleep)  # type: ignore[arg-type]
    assert clock.slept == [2.5]


async def test_a_throttled_read_empties_the_budget_and_each_try_pays() -> None:
    budget, clock = a_budget(weight_per_minute=60, burst=10)
    calls, send = answers(429, 200)
    await read_with_backoff(send, "VENUE", budget=budget, weight=2, sleep=clock.sleep)  # type: ignore[arg-type]
    # 2 spent, emptied by the 429, 0.5 s backoff refills 0.5, then the retry waits 1.5 s for its 2
    assert budget.available == pytest.approx(0) and clock.now == pytest.approx(2.0)


async def test_other_answers_are_returned_as_they_are() -> None:
    calls, send = answers(503)
    r = await read_with_backoff(send, "VENUE")  # type: ignore[arg-type]
    assert r.status_code == 503 and len(calls) == 1


def test_an_order_answered_429_is_unavailable_at_once() -> None:
    budget, _ = a_budget(burst=10)
    with pytest.raises(VenueUnavailable, match="not placed"):
        refuse_throttled_order(httpx.Response(429), "VENUE", budget)
    assert budget.available == 0
    refuse_throttled_order(httpx.Response(200), "VENUE", budget)
