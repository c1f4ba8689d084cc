"""The bench's schedule: each signal sent once it is due, never before, and the sender woken once a tick for
whatever fell due meanwhile (one produce request for them all), not once a signal."""

from __future__ import annotations

import time

from vprime_local import ceiling


async def sends(total: int, rate: float, tick_s: float) -> tuple[float, list[tuple[int, float]]]:
    started = time.perf_counter()
    return started, [(n, time.perf_counter()) async for n in ceiling.paced(total, rate, started, tick_s)]


def wake_ups(times: list[tuple[int, float]]) -> int:
    """Sends separated by more than a millisecond from the one before: each followed a sleep."""
    return 1 + sum(b - a > 0.001 for (_, a), (_, b) in zip(times, times[1:]))


async def test_with_a_tick_what_fell_due_goes_out_together_and_none_before_it_is_due() -> None:
    started, times = await sends(100, 1000.0, tick_s=0.02)  # 100 signals due over 0.1 s
    assert [n for n, _ in times] == list(range(100))
    assert all(at >= started + n / 1000.0 for n, at in times)
    assert wake_ups(times) <= 8  # about one a tick (0.1 s / 20 ms), not one a signal


async def test_without_a_tick_each_signal_waits_for_its_own_time() -> None:
    started, times = await sends(20, 200.0, tick_s=0.0)  # one every 5 ms
    assert all(at >= started + n / 200.0 for n, at in times)
    assert wake_ups(times) >= 15  # a sleep before (nearly) every one
