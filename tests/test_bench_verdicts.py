"""The bench's verdict on a rate: sustained only if the lag stopped growing. A pipeline that completes less
than it is offered falls behind by a fixed share of each second, which a 10 s stream's short drain hides."""

from __future__ import annotations

import random

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
