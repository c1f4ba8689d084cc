"""A row Kafka refuses for good does not hold up the outbox, on real Postgres and Kafka: it leaves the pending list for
`outbox_dead_letters` with the reason, one ERROR line says so (never with the payload), and the rows behind it are
published in write order. The rows are written as an outbox held them before events were measured on their way in
(`outbox.EventTooLarge`)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import ClassVar

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY

from tests.conftest import eventually
from tests.infra import Endpoints
from vprime_shared.contracts import Event
from vprime_shared.db import PLUMBING_SQL, create_pool
from vprime_shared.kafka import make_outbox_producer, wait_for_leaders
from vprime_shared.outbox import OutboxRelay

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
SERVICE = "deadlettertest"
KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588  # a record batch, as the broker and a topic have it unless told otherwise


class Note(Event):
    TOPIC: ClassVar[str] = f"deadletters.{RUN}"
    test: str
    key: str
    n: int
    pad: str = ""

    def partition_key(self) -> str:
        return self.key


@pytest_asyncio.fixture
async def pool(infra: Endpoints, admin_db: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a schema of its own with the outbox every service has."""
    schema = f"deadletters_{uuid.uuid4().hex[:8]}"
    async with admin_db.acquire() as conn, conn.transaction():
        await conn.execute(f"CREATE SCHEMA {schema}; SET LOCAL search_path = {schema}; {PLUMBING_SQL}")
    p = await create_pool(f"{infra.admin_database_url}?search_path={schema}", max_size=5)
    yield p
    await p.close()
    await admin_db.execute(f"DROP SCHEMA {schema} CASCADE")


async def make_topic(infra: Endpoints, name: str, max_message_bytes: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1,
                                            topic_configs={"max.message.bytes": str(max_message_bytes)})])
        await wait_for_leaders(admin, [name])
    finally:
        await admin.close()


async def write(pool: asyncpg.Pool, topic: str, notes: list[Note]) -> list[int]:
    """Outbox rows for `notes`, in one transaction, in order; their ids."""
    async with pool.acquire() as conn, conn.transaction():
        ids = [r["id"] for r in await conn.fetch(
            "INSERT INTO outbox (event_id, topic, key, payload) SELECT e, $2, k, p "
            "FROM unnest($1::uuid[], $3::text[], $4::bytea[]) WITH ORDINALITY AS u(e, k, p, n) ORDER BY n RETURNING id",
            [n.event_id for n in notes], topic, [n.key for n in notes], [n.model_dump_json().encode() for n in notes])]
        await conn.execute("INSERT INTO outbox_pending (id) SELECT unnest($1::bigint[])", ids)
    return ids


async def read(infra: Endpoints, topic: str, test: str, at_least: int) -> list[Note]:
    """The test's notes on `topic`, from its start, once there are `at_least`, and whatever else comes in 0.5 s."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=infra.bootstrap, auto_offset_reset="earliest",
                                group_id=f"deadletters-{uuid.uuid4().hex[:8]}")
    await consumer.start()
    seen: list[Note] = []

    async def poll() -> None:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            seen.extend(note for note in (Note.model_validate_json(r.value) for r in records) if note.test == test)

    try:
        async with asyncio.timeout(30):
            while len(seen) < at_least:
                await poll()
        await asyncio.sleep(0.5)
        await poll()
    finally:
        await consumer.stop()
    return seen


def dead_letters_counted(topic: str) -> float:
    return REGISTRY.get_sample_value("vprime_outbox_dead_letters_total", {"service": SERVICE, "topic": topic}) or 0.0


async def nothing_pending(pool: asyncpg.Pool) -> bool:
    return await pool.fetchval("SELECT count(*) FROM outbox_pending") == 0


async def relay_through(infra: Endpoints, pool: asyncpg.Pool) -> None:
    """A relay publishes what is pending until nothing is."""
    relay = OutboxRelay(pool, make_outbox_producer(infra.bootstrap, SERVICE), service=SERVICE, poll_interval_s=0.2)
    await relay.start()
    try:
        await eventually(lambda: nothing_pending(pool), timeout=30, interval=0.1, what="the pending list empty")
    finally:
        await relay.stop()


def assert_in_order_once(seen: list[Note], expected: list[Note]) -> None:
    assert [n.n for n in seen if n.key == "a"] == [n.n for n in expected if n.key == "a"]
    assert [n.n for n in seen if n.key == "b"] == [n.n for n in expected if n.key == "b"]
    assert sorted(n.event_id for n in seen) == sorted(n.event_id for n in expected), "each once"


async def test_a_row_larger_than_the_broker_takes_goes_to_the_dead_letters_and_the_rows_behind_it_are_published(
        infra: Endpoints, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture) -> None:
    """The incident: a 1.2 MB event (an agent's text field) in the outbox, rows of its key and another behind it."""
    topic = f"{Note.TOPIC}.broker"
    await make_topic(infra, topic, KAFKA_DEFAULT_MAX_MESSAGE_BYTES)
    notes = [Note(test="broker", key="ab"[n % 2], n=n) for n in range(8)]
    big = Note(test="broker", key="a", n=99, pad="SECRET" * 200_000)
    ids = await write(pool, topic, notes[:3] + [big] + notes[3:])
    counted = dead_letters_counted(topic)

    with caplog.at_level(logging.ERROR, logger="vprime_shared.outbox"):
        await relay_through(infra, pool)

    assert_in_order_once(await read(infra, topic, "broker", len(notes)), notes)
    dead = await pool.fetch("SELECT id, topic, key, reason FROM outbox_dead_letters")
    assert [(r["id"], r["topic"], r["key"]) for r in dead] == [(ids[3], topic, "a")]
    assert "MessageSizeTooLargeError" in dead[0]["reason"]
    kept = await pool.fetchval("SELECT length(payload) FROM outbox WHERE id = $1", ids[3])
    assert kept > 1_200_000, "the event stays in the outbox"
    assert dead_letters_counted(topic) == counted + 1
    errors = [r.getMessage() for r in caplog.records if r.name == "vprime_shared.outbox" and r.levelno >= logging.ERROR]
    assert len(errors) == 1 and str(ids[3]) in errors[0] and "MessageSizeTooLargeError" in errors[0]
    assert "SECRET" not in errors[0]


async def test_a_record_batch_larger_than_its_topic_takes_is_sent_again_a_row_at_a_time(
        infra: Endpoints, pool: asyncpg.Pool) -> None:
    """A topic that takes 1,000 bytes at once: the relay's first batch of small rows is refused whole, and only the
    row too large by itself goes to the dead letters."""
    topic = f"{Note.TOPIC}.strict"
    await make_topic(infra, topic, 1000)
    notes = [Note(test="strict", key="ab"[n % 2], n=n, pad="x" * 50) for n in range(12)]
    big = Note(test="strict", key="b", n=99, pad="x" * 2000)
    ids = await write(pool, topic, notes[:5] + [big] + notes[5:])

    await relay_through(infra, pool)

    assert_in_order_once(await read(infra, topic, "strict", len(notes)), notes)
    dead = await pool.fetch("SELECT id, reason FROM outbox_dead_letters")
    assert [r["id"] for r in dead] == [ids[5]] and "MessageSizeTooLargeError" in dead[0]["reason"]
