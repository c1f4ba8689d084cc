"""The bench measures stop reaction once the stack has caught up: what its consumer groups have yet to handle, read
from Kafka (end offsets against committed ones), counts every partition of every group of the stack."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from tests.infra import Endpoints
from vprime_local.bench import stack_lag

pytestmark = pytest.mark.integration


async def test_the_lag_is_what_each_group_has_left_on_each_partition(infra: Endpoints) -> None:
    stack = f"vprime.lag-{uuid.uuid4().hex[:8]}."  # this test's groups only: the broker holds other tests' groups too
    topic = f"lag-probe-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap)
    await producer.start()
    try:
        for n in range(6):
            await producer.send_and_wait(topic, f"{n}".encode(), partition=0)
    finally:
        await producer.stop()
    partition = TopicPartition(topic, 0)

    async def commit(group: str, offset: int) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=infra.bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign([partition])
            await consumer.commit({partition: OffsetAndMetadata(offset, "")})
        finally:
            await consumer.stop()

    await commit(f"{stack}read-models", 2)  # 4 of 6 left
    await commit(f"{stack}intents", 6)  # caught up
    await commit(f"elsewhere-{uuid.uuid4().hex[:8]}", 0)  # not the stack's: not counted
    assert await stack_lag(infra.bootstrap, prefix=stack) == 4
    await commit(f"{stack}read-models", 6)
    assert await stack_lag(infra.bootstrap, prefix=stack) == 0
