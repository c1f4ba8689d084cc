import gc

import pytest

from vprime_shared.runtime import settle_heap


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
