"""The bench's verdicts: a rate of Vprime's is sustained only if the lag stopped growing (a pipeline that completes
less than it is offered falls behind by a fixed share of each second, which a 10 s stream's short drain hides), and
the bare pipeline's ceiling is measured at an offer it no longer keeps up with."""

from __future__ import annotations

import random

from vprime_local import ceiling
from vprime_local.bench import LAG_GROWTH_LIMIT_S_PER_S, lag_growth


def stream(offered: float, capacity: float, seconds: float = 10.0, base_s: float = 0.03, jitter_s: float = 0.0) -> list[tuple[float, float]]:
    """(sent at, latency) for a queue served at `capacity` per second, offered `offered` per second."""
    rng = random.Random(7)
    points, free_at = [], 0.0
    for n in range(int(offered * seconds)):
        sent = n / offered
        free_at = max(free_at, sent) + 1 / capacity
        points.append((sent, free_at - sent + base_s + rng.uniform(0, jitter_s)))
    return points


def test_a_pipeline_that_keeps_up_has_no_lag_growth() -> None:
    assert abs(lag_growth(stream(offered=600, capacity=900, jitter_s=0.2))) < 0.02


def test_a_pipeline_short_of_the_offer_falls_behind_by_its_shortfall() -> None:
    # 1,020 offered, 900 done: (1020 - 900) / 900 = 0.133 s of lag gained per second.
    growth = lag_growth(stream(offered=1020, capacity=900))
    assert abs(growth - 120 / 900) < 0.01
    assert growth > LAG_GROWTH_LIMIT_S_PER_S


def test_the_first_second_filling_the_pipeline_is_left_out() -> None:
    points = [(0.5, 2.0)] * 50 + [(x / 100, 0.05) for x in range(100, 1000)]
    assert abs(lag_growth(points)) < 1e-9
    assert lag_growth(points, settle_s=0.0) < -0.05


def test_too_few_points_give_no_growth() -> None:
    assert lag_growth([(2.0, 0.1)]) == 0.0
    assert lag_growth([(2.0, 0.1), (2.0, 0.3)]) == 0.0  # all sent at one instant: no slope to speak of


def bare(offered_signals: float, capacity_messages: float, fan_out: int = 3, seconds: float = 10.0) -> dict:
    """A bare-pipeline measurement of a pipeline that carries `capacity_messages` a second: what it has not carried
    when the stream ends, it carries after it, and the rate counts the stream and its drain."""
    signals = int(offered_signals * seconds)
    expected = signals * fan_out
    took = max(seconds, expected / capacity_messages)
    measured = {"offered_signals_per_s": offered_signals, "signals": signals, "expected": expected,
                "messages": expected, "completed_per_s": expected / took}
    measured["saturated"] = ceiling.saturated(measured)
    return measured


def test_the_bare_pipeline_is_saturated_only_when_it_falls_short_of_the_offer() -> None:
    assert not bare(3000, capacity_messages=20_000)["saturated"]  # 9,000 offered, all carried: the offer, not a ceiling
    assert not bare(3000, capacity_messages=8_700)["saturated"]  # 97 % of the offer: within 5 % of it
    assert bare(12000, capacity_messages=20_000)["saturated"]


async def test_the_ceiling_is_searched_until_the_pipeline_no_longer_keeps_up() -> None:
    offered: list[float] = []

    async def measure(rate: float) -> dict:
        offered.append(rate)
        return bare(rate, capacity_messages=20_000)

    found = await ceiling.find_ceiling(measure, start=3000, most=48000)
    assert offered == [3000, 6000, 12000]  # 18,000 messages/s kept up; 36,000 did not
    assert found["saturated"] and abs(found["completed_per_s"] - 20_000) < 1


async def test_the_search_stops_at_its_largest_offer_and_says_it_kept_up() -> None:
    async def measure(rate: float) -> dict:
        return bare(rate, capacity_messages=1_000_000)

    found = await ceiling.find_ceiling(measure, start=3000, most=10000)
    assert found["offered_signals_per_s"] == 6000 and not found["saturated"]
