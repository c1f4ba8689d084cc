import gc

import pytest

from vprime_shared.contracts import Position, Signal
from vprime_shared.runtime import GATHER_BYTES, ServiceRuntime, settle_heap
from vprime_shared.settings import ServiceSettings


@pytest.fixture
def collector():
    """The interpreter's collector settings, restored after the test (it is process-wide)."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settle_heap_freezes_startup_objects_and_raises_the_young_threshold(collector):
    _, gen1, gen2 = gc.get_threshold()
    built_at_startup = [{"n": n} for n in range(1000)]

    settle_heap(20_000)

    assert gc.get_freeze_count() >= len(built_at_startup)
    assert gc.get_threshold() == (20_000, gen1, gen2)


def test_settle_heap_keeps_pythons_thresholds_at_zero(collector):
    before = gc.get_threshold()
    settle_heap(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() > 0


def test_consumers_on_a_signals_way_have_short_empty_fetches_and_the_others_gather():
    runtime = ServiceRuntime(ServiceSettings(service_name="fetchtest", kafka_fetch_max_wait_ms=40), package="vprime_shared")

    async def handle(tx, event):  # pragma: no cover - never consumed here
        return None

    runtime.batch_subscriber(Signal)(handle)
    runtime.batch_subscriber(Position, gather_ms=100)(handle)
    # (FastStream keeps each consumer's settings there, as it will hand them to aiokafka)
    on_the_way, gathering = ({tuple(s.topic_names): s for s in runtime.broker.subscribers}[(e.TOPIC,)] for e in (Signal, Position))
    assert on_the_way._connection_args["fetch_max_wait_ms"] == 40
    assert on_the_way._connection_args["fetch_min_bytes"] == 1, "answered as soon as anything arrives"
    assert gathering._connection_args["fetch_max_wait_ms"] == 100
    assert gathering._connection_args["fetch_min_bytes"] == GATHER_BYTES
