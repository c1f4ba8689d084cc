"""The bench's agents: taken so that each partition of signals.v1 carries as many as the others, give or take one."""

from __future__ import annotations

import uuid

from vprime_local.bench import EvenSpread
from vprime_shared.outbox import partition_of


def test_no_partition_takes_more_than_its_even_share() -> None:
    spread = EvenSpread(5, 3)
    offered = [(f"k{n}", p) for n, p in enumerate([0, 0, 0, 0, 1, 1, 1, 2, 2])]
    taken = [key for key, partition in offered if spread.take(key, partition)]
    assert taken == ["k0", "k1", "k4", "k5", "k7"]
    assert spread.counts == [2, 2, 1] and spread.full
    assert not spread.take("k9", 2)  # full: nothing more is taken


def test_random_ids_reach_an_even_spread_within_a_few_tries() -> None:
    spread = EvenSpread(5, 3)
    tried = 0
    while not spread.full:
        key = str(uuid.UUID(int=tried * 7919 + 1))
        spread.take(key, partition_of(key.encode(), 3))
        tried += 1
    assert sorted(spread.counts) == [1, 2, 2]
    assert tried < 30
