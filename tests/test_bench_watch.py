"""The bench's watch on positions: each position timed once, when its fetch returned, and the positions of the
stream being measured counted as they arrive (the drain waits on that count, not on a scan of every run's)."""

from __future__ import annotations

import asyncio
import gc
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from vprime_local.bench import LIVE, Watch, collector_paused


def record(signal: str, intent: str, state: str = "OPEN") -> Any:
    value = orjson.dumps({"signal_id": signal, "intent_id": intent, "position_id": f"p-{intent}", "state": state})
    return SimpleNamespace(topic=LIVE, value=value, timestamp=1_700_000_000_000)


class Fetches:
    """A consumer whose fetches return `batches`, then wait forever."""

    def __init__(self, *batches: list[Any]) -> None:
        self.batches = list(batches)

    async def getmany(self, timeout_ms: int) -> dict[str, list[Any]]:
        if self.batches:
            return {"tp": self.batches.pop(0)}
        await asyncio.Event().wait()
        return {}


async def test_only_the_measured_streams_positions_are_counted_each_once() -> None:
    watch = Watch()
    watch.count({"s1": 0.0, "s2": 0.0})
    consumer = Fetches([record("s1", "i1"), record("old", "i0"), record("s1", "i1")],  # a repeat, and an earlier stream's
                       [record("s2", "i2"), record("s2", "i3"), record("s1", "i1", "CLOSED")])
    task = asyncio.create_task(watch.run(consumer))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert watch.counted == 3
    assert {intent for _, intent in watch.seen} == {"i0", "i1", "i2", "i3"}
    assert watch.signal_of["i2"] == "s2" and "p-i1" in watch.closed

    watch.count({"s9": 0.0})  # the next stream starts from zero
    assert watch.counted == 0


def test_no_collection_runs_while_a_stream_is_measured() -> None:
    held = [[n] for n in range(1000)]  # what the bench holds of the streams before
    collections = []

    def counted(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    try:
        with collector_paused():
            assert not gc.isenabled()
            assert gc.get_freeze_count() >= len(held)  # frozen: no later full collection walks it
            gc.callbacks.append(counted)
            try:
                made = [[n] for n in range(50_000)]  # far past the young generation's threshold
            finally:
                gc.callbacks.remove(counted)
        assert collections == [] and len(made) == 50_000
        assert gc.isenabled()
    finally:
        gc.unfreeze()  # the rest of the test session collects as before
