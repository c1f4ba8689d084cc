"""Topics made at start (`ensure_topics`): each partition led before anything consumes them, a topic that never
gets leaders a clear error rather than a wait without end, and the simulator's tick topic made as the services make
theirs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from tests.conftest import eventually
from tests.infra import Endpoints
from vprime_shared.contracts import MarketTick
from vprime_shared.kafka import ensure_topics, wait_for_leaders
from vprime_simulator.exchange import Exchange
from vprime_simulator.feed import run_feed

pytestmark = pytest.mark.integration


@pytest.fixture
async def admin(infra: Endpoints) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await client.start()
    yield client
    await client.close()


async def test_new_topics_come_back_with_a_leader_for_every_partition(infra: Endpoints, admin: AIOKafkaAdminClient) -> None:
    names = [f"topics-probe-{uuid.uuid4().hex[:8]}-{n}" for n in range(3)]
    await ensure_topics(infra.bootstrap, names, partitions=4)
    described = {t["topic"]: t["partitions"] for t in await admin.describe_topics(names)}
    assert sorted(described) == sorted(names)
    assert all(len(partitions) == 4 and all(p["leader"] >= 0 for p in partitions) for partitions in described.values())


async def test_a_topic_without_leaders_is_an_error_that_names_it(admin: AIOKafkaAdminClient) -> None:
    with pytest.raises(KafkaError, match="no such topic!"):
        await wait_for_leaders(admin, ["no such topic!"], timeout_s=0.5)  # an invalid name: never made, never led


async def test_the_simulators_feed_makes_its_topic_as_the_services_would(infra: Endpoints, admin: AIOKafkaAdminClient,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # It starts before the services: its topic is made with their partition count, not by the broker on the first
    # tick (the broker's own default is 3).
    monkeypatch.setenv("KAFKA_TOPIC_PARTITIONS", "5")
    topic = f"ticks-probe-{uuid.uuid4().hex[:8]}"
    feed = asyncio.create_task(run_feed(Exchange(seed=1), infra.bootstrap, ["BTC"], 0.05, topic=topic))
    # Read only once the topic is there: a consumer's metadata request for a topic the broker does not have makes it.
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=infra.bootstrap, auto_offset_reset="earliest")
    try:
        await eventually(lambda: _has(admin, topic), timeout=30, what=f"{topic} made")
        await consumer.start()
        tick = await asyncio.wait_for(consumer.getone(), 30)
        assert MarketTick.model_validate_json(tick.value).instrument == "BTC"
        assert len(consumer.partitions_for_topic(topic) or ()) == 5
    finally:
        feed.cancel()
        await consumer.stop()


async def _has(admin: AIOKafkaAdminClient, topic: str) -> bool:
    return topic in await admin.list_topics()
