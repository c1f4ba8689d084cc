"""The outbox relay on real Postgres and Kafka: what transactions write to the outbox is published in write
order and leaves the pending list. What a transaction of the leading relay's own process commits is handed to it
(no NOTIFY, no read back); what another instance commits reaches it by NOTIFY; a commit whose answer was lost is
not overtaken by the process's next. A batch the relay sent leaves it together with the relay's next read, on its
own once the relay is idle, and when the relay stops, so a relay that takes over does not send it again. An
outbox of the earlier shape (published rows marked in place) is carried over once, its unpublished rows pending."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from prometheus_client import REGISTRY

from tests.conftest import eventually
from tests.infra import Endpoints
from vprime_shared import outbox
from vprime_shared.contracts import Event
from vprime_shared.db import PLUMBING_SQL, create_pool
from vprime_shared.kafka import ensure_topics, make_outbox_producer
from vprime_shared.outbox import NOTIFY_CHANNEL, SETTLE_AFTER_S, OutboxRelay, Outgoing
from vprime_shared.unit_of_work import NO_ANSWER, Tx

pytestmark = pytest.mark.integration


RUN = uuid.uuid4().hex[:8]


class Note(Event):
    TOPIC: ClassVar[str] = f"relaytest.{RUN}"
    test: str  # the test that wrote it: every test reads the topic from its start
    key: str
    n: int
    pad: str = ""

    def partition_key(self) -> str:
        return self.key


@pytest.fixture
def schema() -> str:
    """The test's own schema (`pool`'s), for connections of the test's own making."""
    return f"relay_{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture
async def pool(infra: Endpoints, admin_db: asyncpg.Pool, schema: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a schema of its own with the outbox every service has."""
    async with admin_db.acquire() as conn, conn.transaction():
        await conn.execute(f"CREATE SCHEMA {schema}; SET LOCAL search_path = {schema}; {PLUMBING_SQL}")
    await ensure_topics(infra.bootstrap, [Note.TOPIC], partitions=2)
    p = await create_pool(f"{infra.admin_database_url}?search_path={schema}", max_size=5)  # as a service's, codecs and all
    yield p
    await p.close()
    await admin_db.execute(f"DROP SCHEMA {schema} CASCADE")


def notes(test: str, key: str | Iterable[str], numbers: Iterable[int]) -> list[Note]:
    keys = [key] if isinstance(key, str) else list(key)
    return [Note(test=test, key=keys[n % len(keys)], n=n) for n in numbers]


async def write(pool: asyncpg.Pool, notes: list[Note]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, Outgoing.of([(n, {}, None) for n in notes]))


async def unpublished(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM outbox_pending")


@pytest_asyncio.fixture
async def topic(infra: Endpoints) -> AsyncIterator[AIOKafkaConsumer]:
    """What reaches the test topic, read from its start."""
    consumer = AIOKafkaConsumer(Note.TOPIC, bootstrap_servers=infra.bootstrap, auto_offset_reset="earliest",
                                group_id=f"relaytest-{uuid.uuid4().hex[:8]}")
    await consumer.start()
    yield consumer
    await consumer.stop()


async def read(topic: AIOKafkaConsumer, test: str, at_least: int, seen: list[Note], *, then_s: float = 0.0) -> list[Note]:
    """Add the test's notes that arrive to `seen` until it holds `at_least`, then whatever else comes within `then_s`."""

    async def poll() -> None:
        for records in (await topic.getmany(timeout_ms=200)).values():
            # (the partition probe's empty records are no notes)
            seen.extend(note for note in (Note.model_validate_json(r.value) for r in records if r.value != b"{}") if note.test == test)

    async with asyncio.timeout(30):
        while len(seen) < at_least:
            await poll()
    if then_s:
        await asyncio.sleep(then_s)
        await poll()
    return seen


def assert_each_once_in_order_per_key(seen: list[Note], count: int, keys: str) -> None:
    assert sorted(n.n for n in seen) == list(range(count)), "each note once"
    for key in keys:
        mine = [n.n for n in seen if n.key == key]
        assert mine == sorted(mine) and len(mine) == count // len(keys), f"key {key}: out of order or missing"


def relay(infra: Endpoints, pool: asyncpg.Pool, **options: float) -> OutboxRelay:
    return OutboxRelay(pool, make_outbox_producer(infra.bootstrap, "relaytest"), service="relaytest", batch_size=7, **options)


async def test_published_in_write_order_and_settled_once_the_relay_is_idle(
        infra: Endpoints, pool: asyncpg.Pool, topic: AIOKafkaConsumer) -> None:
    publisher = relay(infra, pool)
    await publisher.start()
    try:
        # Four transactions, more rows than the relay reads at once, two keys: each key's notes arrive in order.
        for start in range(0, 40, 10):
            await write(pool, notes("order", ["a", "b"], range(start, start + 10)))
        seen = await read(topic, "order", 40, [])
        # Nothing more is coming: the last batch is settled on its own, a few SETTLE_AFTER_S later.
        await eventually(lambda: _zero(unpublished(pool)), timeout=max(2.0, 40 * SETTLE_AFTER_S), interval=0.02,
                         what="the relay's last batch settled once it is idle")
    finally:
        await publisher.stop()
    assert_each_once_in_order_per_key(seen, 40, "ab")


async def test_a_stopping_relay_settles_what_it_sent_so_its_successor_sends_nothing_again(
        infra: Endpoints, pool: asyncpg.Pool, topic: AIOKafkaConsumer) -> None:
    # Written before the relay listens, so no notification wakes it after its first read: what that read sent
    # waits for the stop to be settled.
    await write(pool, notes("stop", "a", range(3)))
    publisher = relay(infra, pool, settle_after_s=60, poll_interval_s=60)
    await publisher.start()
    try:
        seen = await read(topic, "stop", 3, [])
        assert await unpublished(pool) == 3, "published, not yet settled"
    finally:
        await publisher.stop()
    assert await unpublished(pool) == 0

    successor = relay(infra, pool)
    await successor.start()
    try:
        await write(pool, notes("stop", "a", [3]))
        seen = await read(topic, "stop", 4, seen, then_s=1.0)
    finally:
        await successor.stop()
    assert [n.n for n in seen] == [0, 1, 2, 3], "each note once, in order"


async def test_a_batch_larger_than_a_record_batch_keeps_each_keys_order_and_partition(
        infra: Endpoints, pool: asyncpg.Pool, topic: AIOKafkaConsumer) -> None:
    """The relay builds each partition's record batches itself: a read of 60 notes of 1 KB on two keys takes
    several record batches a partition, sent in order, and each key lands where a plain producer sends it."""
    big = [note.model_copy(update={"pad": "x" * 1000}) for note in notes("batches", ["c", "d"], range(60))]
    await write(pool, big)
    plain = make_outbox_producer(infra.bootstrap, "relaytest-plain")
    await plain.start()
    try:
        expected = {key: (await plain.send_and_wait(Note.TOPIC, b"{}", key=key.encode())).partition for key in "cd"}
    finally:
        await plain.stop()
    publisher = OutboxRelay(pool, make_outbox_producer(infra.bootstrap, "relaytest"), service="relaytest", batch_size=500)
    await publisher.start()
    landed: list[tuple[int, Note]] = []
    try:
        async with asyncio.timeout(30):
            while len(landed) < 60:
                for records in (await topic.getmany(timeout_ms=200)).values():
                    landed.extend((r.partition, note) for r in records if r.value != b"{}"
                                  for note in [Note.model_validate_json(r.value)] if note.test == "batches")
    finally:
        await publisher.stop()
    assert sorted(note.n for _, note in landed) == list(range(60))
    for key in "cd":
        assert {p for p, note in landed if note.key == key} == {expected[key]}, f"key {key}: not where Kafka's partitioner puts it"
        mine = [note.n for _, note in landed if note.key == key]
        assert mine == sorted(mine), f"key {key}: out of order"


async def write_through(pool: asyncpg.Pool, relay: OutboxRelay, notes: list[Note]) -> None:
    """As a service writes: in a transaction that hands its outbox rows to the process's relay at commit."""
    async with pool.acquire() as conn, Tx.on(conn, relay) as tx:
        for note in notes:
            await tx.publish(note)


def order_checks() -> float:
    return REGISTRY.get_sample_value("vprime_outbox_order_checks_total", {"service": "relaytest"}) or 0.0


async def leading(relay: OutboxRelay) -> bool:
    return relay.leading


@pytest_asyncio.fixture
async def notifications(infra: Endpoints, pool: asyncpg.Pool, schema: str) -> AsyncIterator[list[str]]:
    """The NOTIFYs sent on the test schema's outbox channel."""
    heard: list[str] = []

    def hear(*args: object) -> None:
        heard.append(str(args[2]))

    async with pool.acquire() as conn:
        channel = f"{NOTIFY_CHANNEL}_{schema}"
        await conn.add_listener(channel, hear)
        yield heard
        await conn.remove_listener(channel, hear)


async def test_the_leaders_own_commits_are_handed_over_without_a_notify_and_rollbacks_hand_nothing(
        infra: Endpoints, pool: asyncpg.Pool, topic: AIOKafkaConsumer, notifications: list[str]) -> None:
    # Long polls: whatever is published here came by hand, not from a read of what is pending.
    publisher = relay(infra, pool, poll_interval_s=60)
    await publisher.start()
    try:
        await eventually(lambda: leading(publisher), timeout=10, interval=0.02, what="the relay leads")
        checks = order_checks()
        for start in range(0, 30, 3):
            await write_through(pool, publisher, notes("handed", ["e", "f"], range(start, start + 3)))
        # Only while it has just taken the lead does it look for rows of other instances before its own.
        assert order_checks() - checks <= 5, "its own commits, one after the other, went at once"
        with pytest.raises(RuntimeError):
            async with pool.acquire() as conn, Tx.on(conn, publisher) as tx:
                await tx.publish(Note(test="handed", key="e", n=99))
                await tx.flush()  # written to the outbox, then rolled back
                raise RuntimeError("the unit of work fails")
        with pytest.raises(RuntimeError):
            async with pool.acquire() as conn, conn.transaction():
                async with Tx.on(conn, publisher) as tx:  # a savepoint: released here, not committed
                    await tx.publish(Note(test="handed", key="f", n=98))
                raise RuntimeError("the enclosing transaction fails")
        seen = await read(topic, "handed", 30, [], then_s=0.5)
        await eventually(lambda: _zero(unpublished(pool)), timeout=5, interval=0.02, what="what was handed over settled")
    finally:
        await publisher.stop()
    assert_each_once_in_order_per_key(seen, 30, "ef")  # the rolled back notes (98, 99) never
    assert notifications == [], "the leader's own commits wake nobody"


async def test_another_instances_commits_reach_the_leader_by_notify_in_order_with_its_own(
        infra: Endpoints, pool: asyncpg.Pool, topic: AIOKafkaConsumer, notifications: list[str]) -> None:
    leader, follower = relay(infra, pool, poll_interval_s=60), relay(infra, pool, poll_interval_s=60)
    await leader.start()
    try:
        await eventually(lambda: leading(leader), timeout=10, interval=0.02, what="the first relay leads")
        await follower.start()
        try:
            # Once the leader keeps up (its first publication, to a topic new to its producer, is slow): the two
            # processes take turns on the same keys, each commit right after the other's, so the leader is handed
            # its own rows while the NOTIFY of the other's, committed just before, may still be on its way.
            await write_through(pool, leader, notes("turns-first", "g", [0]))
            await read(topic, "turns-first", 1, [])
            for start in range(0, 100, 2):
                await write_through(pool, follower if start % 4 else leader, notes("turns", ["g", "h"], range(start, start + 2)))
            seen = await read(topic, "turns", 100, [], then_s=0.5)
            assert not follower.leading
        finally:
            await follower.stop()
    finally:
        await leader.stop()
    assert_each_once_in_order_per_key(seen, 100, "gh")
    assert len(notifications) == 25, "one NOTIFY per commit of the instance that does not lead, none for the leader's"


async def test_the_leaders_connection_goes_back_to_the_pool_committing_as_every_other(
        infra: Endpoints, pool: asyncpg.Pool, schema: str) -> None:
    # The leader's own commits do not wait for the WAL flush; the services' must, on the same pool's connections.
    one = await create_pool(f"{infra.admin_database_url}?search_path={schema}", min_size=1, max_size=1)
    publisher = relay(infra, one)
    try:
        await publisher.start()
        await eventually(lambda: leading(publisher), timeout=10, interval=0.02, what="the relay leads")
        await publisher.stop()
        assert await one.fetchval("SHOW synchronous_commit") == "on"
    finally:
        await one.close()


class AnswerSwallower:
    """A TCP proxy in front of Postgres that, once armed, lets the next COMMIT through and then closes the client's
    connection instead of passing Postgres's answer on: the transaction committed, and its client never hears so."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream, self.armed, self.swallowed = (host, port), False, asyncio.Event()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> AnswerSwallower:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection(*self.upstream)
        committing = asyncio.Event()

        async def to_server() -> None:
            while data := await client_in.read(65536):
                if self.armed and b"COMMIT" in data.upper():
                    self.armed = False
                    committing.set()
                server_out.write(data)
                await server_out.drain()

        async def to_client() -> None:
            while data := await server_in.read(65536):
                if committing.is_set():  # Postgres's answer to the COMMIT: it has committed
                    self.swallowed.set()
                    return
                client_out.write(data)
                await client_out.drain()

        pumps = [asyncio.create_task(to_server()), asyncio.create_task(to_client())]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for writer in (client_out, server_out):
            writer.close()


async def test_a_commit_whose_answer_was_lost_is_not_overtaken_by_a_later_commit(
        infra: Endpoints, pool: asyncpg.Pool, schema: str, topic: AIOKafkaConsumer) -> None:
    # Long polls: a row the leader is not handed, and is not told of by a NOTIFY, would wait a minute for the sweep.
    publisher = relay(infra, pool, poll_interval_s=60)
    await publisher.start()
    url = urlsplit(infra.admin_database_url)
    try:
        await eventually(lambda: leading(publisher), timeout=10, interval=0.02, what="the relay leads")
        # Until every transaction running when it took the lead has ended, the leader checks before it publishes
        # what it is handed, and that check would find the lost commit's rows by itself: write until it no longer does.
        warm: list[Note] = []
        for n in range(10):
            checks = order_checks()
            await write_through(pool, publisher, notes("unsure-first", "u", [n]))
            await read(topic, "unsure-first", n + 1, warm)
            if order_checks() == checks:
                break
        else:
            pytest.fail("the leader kept checking its own commits")
        async with AnswerSwallower(url.hostname or "127.0.0.1", url.port or 5432) as proxy:
            lossy = await create_pool(urlunsplit(url._replace(netloc=f"{url.username}:{url.password}@127.0.0.1:{proxy.port}",
                                                              query=f"search_path={schema}&sslmode=disable")), min_size=1, max_size=1)
            try:
                proxy.armed = True
                with pytest.raises(NO_ANSWER):
                    await write_through(lossy, publisher, notes("unsure", "u", [0]))
                assert proxy.swallowed.is_set(), "the COMMIT reached Postgres and its answer did not come back"
            finally:
                lossy.terminate()
        # The process's next commit, on the same key, must not go out before the one whose answer was lost.
        await write_through(pool, publisher, notes("unsure", "u", [1]))
        seen = await read(topic, "unsure", 2, [], then_s=0.3)
    finally:
        await publisher.stop()
    assert [note.n for note in seen] == [0, 1]


async def _zero(count: Awaitable[int]) -> bool:
    return await count == 0


async def test_an_outbox_of_the_earlier_shape_is_carried_over_once(admin_db: asyncpg.Pool) -> None:
    """Rows the earlier relay had not marked published are pending afterwards, those it had are not; running the
    plumbing again (every start does) changes nothing."""
    schema = f"relay_{uuid.uuid4().hex[:8]}"
    try:
        async with admin_db.acquire() as conn, conn.transaction():
            await conn.execute(f"""CREATE SCHEMA {schema}; SET LOCAL search_path = {schema};
                CREATE TABLE outbox (id BIGSERIAL PRIMARY KEY, event_id UUID NOT NULL UNIQUE, topic TEXT NOT NULL,
                    key TEXT NOT NULL, payload BYTEA NOT NULL, headers JSONB NOT NULL DEFAULT '{{}}'::jsonb,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(), published_at TIMESTAMPTZ);
                CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
                INSERT INTO outbox (event_id, topic, key, payload, published_at)
                SELECT gen_random_uuid(), 't', 'k', '\\x00', CASE WHEN n % 3 = 0 THEN NULL ELSE now() END
                FROM generate_series(1, 9) AS n;""")
            await conn.execute(PLUMBING_SQL)
            await conn.execute(PLUMBING_SQL)
            assert [r["id"] for r in await conn.fetch("SELECT id FROM outbox_pending ORDER BY id")] == [3, 6, 9]
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 9, "the outbox keeps every row"
            assert not await conn.fetchval("SELECT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = $1 "
                                           "AND table_name = 'outbox' AND column_name = 'published_at')", schema)
    finally:
        await admin_db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
