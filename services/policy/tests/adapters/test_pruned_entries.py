"""Where a prune of pending entries starts reading: what this process knows it deleted already."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from vprime_policy.adapters.repository import BEGINNING, PrunedEntries


def test_an_agent_never_pruned_is_read_from_the_beginning() -> None:
    assert PrunedEntries().since([uuid.uuid4()]) == BEGINNING
    assert PrunedEntries().since([]) == BEGINNING


def test_a_batch_reads_from_the_earliest_cutoff_of_its_deployments() -> None:
    pruned, now = PrunedEntries(), datetime.now(UTC)
    early, late, new = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    pruned.advance([early], now - timedelta(minutes=5))
    pruned.advance([late], now - timedelta(minutes=2))
    assert pruned.since([early, late]) == now - timedelta(minutes=5)
    assert pruned.since([late]) == now - timedelta(minutes=2)
    assert pruned.since([late, new]) == BEGINNING  # one the process has not pruned yet: from the beginning


def test_a_cutoff_never_moves_back() -> None:
    pruned, now, d = PrunedEntries(), datetime.now(UTC), uuid.uuid4()
    pruned.advance([d], now)
    pruned.advance([d], now - timedelta(minutes=1))  # an older batch's prune, committed later
    assert pruned.until(d) == now
