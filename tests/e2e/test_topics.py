"""Topics made at start (`ensure_topics`): each partition led before anything consumes them, and a topic that never
gets leaders is a clear error rather than a wait without end."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from tests.infra import Endpoints
from vprime_shared.kafka import ensure_topics, wait_for_leaders

pytestmark = pytest.mark.integration


async def test_new_topics_come_back_with_a_leader_for_every_partition(infra: Endpoints) -> None:
    names = [f"topics-probe-{uuid.uuid4().hex[:8]}-{n}" for n in range(3)]
    await ensure_topics(infra.bootstrap, names, partitions=4)
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        described = {t["topic"]: t["partitions"] for t in await admin.describe_topics(names)}
    finally:
        await admin.close()
    assert sorted(described) == sorted(names)
    assert all(len(partitions) == 4 and all(p["leader"] >= 0 for p in partitions) for partitions in described.values())


async def test_a_topic_without_leaders_is_an_error_that_names_it(infra: Endpoints) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        with pytest.raises(KafkaError, match="no such topic!"):
            await wait_for_leaders(admin, ["no such topic!"], timeout_s=0.5)  # an invalid name: never made, never led
    finally:
        await admin.close()
