"""Transactional outbox: events are written in the same transaction as the state they describe,
and a relay publishes them to Kafka in commit order.

The relay wakes on NOTIFY (sent when a transaction that wrote to the outbox commits) and
falls back to polling. Each schema has a channel of its own: the services share one database, and a
shared channel would wake every service's relay at every service's commit. A session advisory lock
makes one relay per schema the publisher, so events of one key leave in the order they were written,
however many instances run. What is still to be published is listed in `outbox_pending` (one id per event);
what was sent leaves that list with the relay's next read (one statement), or on its own once the relay is
idle, or when it stops. The outbox rows themselves stay as they were written.

The relay sends through its own aiokafka producer rather than the FastStream broker: a row is already
encoded bytes with a topic and key, and the broker's per-message publish path (correlation id, two
middlewares) cost a fifth of a service's CPU under load. What those middlewares gave is kept: a
producer span per event under the trace the row carries (when tracing is on), and a published count
per topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import time
from collections import Counter as tally
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import asyncpg
import orjson
from aiokafka.partitioner import murmur2
from opentelemetry import propagate, trace
from prometheus_client import Counter

from vprime_shared.contracts.base import Event
from vprime_shared.telemetry import tracing_enabled

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer
    from aiokafka.producer.message_accumulator import BatchBuilder

log = logging.getLogger(__name__)
tracer = trace.get_tracer("vprime.outbox")

NOTIFY_CHANNEL = "vprime_outbox"  # + "_<schema>"
CONTENT_TYPE = ("content-type", b"application/json")
# How long published rows may wait to leave the pending list with the next read before they leave it on their
# own. A relay that dies in between sends them again (consumers drop what they have seen).
SETTLE_AFTER_S = 0.05
PUBLISHED = Counter("vprime_outbox_published_total", "Events the outbox relay published", ["service", "topic"])


@functools.lru_cache(maxsize=65_536)
def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2 of the key, as in the Java client and aiokafka) gives
    `key`: every producer of a topic agrees, so one key stays in one partition. Keys are deployment and agent ids,
    few and repeated, hence the cache."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()


async def add(conn: asyncpg.Connection, events: list[tuple[Event, dict[str, str]]]) -> None:
    """Record `events` (each with the trace headers of the work that produced it) for publication, in one
    statement; call inside the transaction that changes the matching state."""
    if not events:
        return
    # The pending ids and the NOTIFY ride in the same statement (one round trip); Postgres delivers the NOTIFY at
    # commit and folds a transaction's identical notifications into one. `ORDER BY ordinality` keeps the ids in
    # write order.
    await conn.execute(
        "WITH added AS (INSERT INTO outbox (event_id, topic, key, payload, headers) "
        "SELECT e, t, k, p, h::jsonb FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[]) "
        "WITH ORDINALITY AS u(e, t, k, p, h, n) ORDER BY n RETURNING id), "
        "pending AS (INSERT INTO outbox_pending (id) SELECT id FROM added RETURNING 1) "
        f"SELECT pg_notify('{NOTIFY_CHANNEL}_' || current_schema(), '') FROM pending LIMIT 1",
        [e.event_id for e, _ in events],
        [e.TOPIC for e, _ in events],
        [e.partition_key() for e, _ in events],
        [encode(e) for e, _ in events],
        [orjson.dumps(h).decode() for _, h in events],
    )


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        service: str,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        settle_after_s: float = SETTLE_AFTER_S,
        on_backlog: Callable[[int], object] | None = None,
    ) -> None:
        self._on_backlog = on_backlog
        self._pool = pool
        self._producer = producer
        self._service = service
        self._traced = tracing_enabled()
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._settle_after_s = settle_after_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._backlog_sampled = 0.0
        self._sent: list[int] = []  # ids published (acknowledged by Kafka) but still pending

    async def start(self) -> None:
        await self._producer.start()
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with _suppress_cancel():
                await self._task
        await self._producer.stop()  # waits for what is still in flight

    async def backlog(self, conn: asyncpg.Connection | asyncpg.Pool | None = None) -> int:
        return await (conn or self._pool).fetchval("SELECT count(*) FROM outbox_pending")

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                async with self._pool.acquire() as conn:
                    await self._lead(conn)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep relaying through broker or database outages
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1.0)

    async def _lead(self, conn: asyncpg.Connection) -> None:
        schema = await conn.fetchval("SELECT current_schema()")
        lock_key = int.from_bytes(hashlib.sha256(f"outbox:{schema}".encode()).digest()[:8], "big", signed=True)
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key):
            await asyncio.sleep(self._poll_interval_s)  # another instance is the publisher
        channel = f"{NOTIFY_CHANNEL}_{schema}"
        await conn.add_listener(channel, self._notified)
        try:
            while True:
                self._wake.clear()
                while await self._publish_batch(conn) == self._batch_size:
                    pass
                if self._on_backlog is not None and time.monotonic() - self._backlog_sampled > 1.0:
                    # A gauge, sampled at most once a second: not a count(*) per wake-up under load.
                    self._backlog_sampled = time.monotonic()
                    self._on_backlog(await self.backlog(conn))
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self._settle_after_s if self._sent else self._poll_interval_s)
                except TimeoutError:
                    await self._settle_sent(conn)  # quiet: what was published is settled on its own
        finally:
            with _suppress_cancel():  # on the way out, so that the next publisher does not send it again
                await self._settle_sent(conn)
            await conn.remove_listener(channel, self._notified)
            await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)

    async def _publish_batch(self, conn: asyncpg.Connection) -> int:
        # Settling what was sent last and reading what comes next is one statement: one round trip (and one commit)
        # per wake-up under load instead of two. The SELECT sees the rows as they were before the DELETE, hence
        # the exclusion. The next ids are read first and their rows looked up by key: as a join, the planner may
        # merge it with the whole outbox, scanned from its first row.
        rows = await conn.fetch(
            "WITH sent AS (DELETE FROM outbox_pending WHERE id = ANY($2::bigint[])) "
            "SELECT id, topic, key, payload, headers FROM outbox WHERE id = ANY(ARRAY("
            "SELECT id FROM outbox_pending WHERE id <> ALL($2::bigint[]) ORDER BY id LIMIT $1)) ORDER BY id",
            self._batch_size, self._sent,
        )
        self._sent = []
        if not rows:
            return 0
        # Each partition's rows go as record batches of the relay's own making, in order (one partition, one
        # batch in flight: the producer keeps them in order), then every ack is awaited. Per event, `send` found
        # the topic's metadata, hashed the key and queued a future: about 8 % of the router's CPU in a profile at
        # 200 signals/s.
        batches: dict[tuple[str, int], list[BatchBuilder]] = {}
        partitions: dict[str, int] = {}
        for row in rows:
            topic, key = row["topic"], row["key"].encode()
            if topic not in partitions:
                partitions[topic] = len(await self._producer.partitions_for(topic))
            with self._producer_span(topic, row["headers"] or {}) as headers:
                record = {"timestamp": None, "key": key, "value": row["payload"],
                          "headers": [*((k, v.encode()) for k, v in headers.items()), CONTENT_TYPE]}
            builders = batches.setdefault((topic, partition_of(key, partitions[topic])), [])
            if not builders or builders[-1].append(**record) is None:  # none yet for this partition, or full
                builders.append(self._producer.create_batch())
                builders[-1].append(**record)
        acks = [await self._producer.send_batch(builder, topic, partition=partition)
                for (topic, partition), builders in batches.items() for builder in builders]
        await asyncio.gather(*acks)
        self._sent = [r["id"] for r in rows]  # acknowledged: settled with the next read, or alone once the relay is idle
        for topic, n in tally(r["topic"] for r in rows).items():
            PUBLISHED.labels(self._service, topic).inc(n)
        return len(rows)

    async def _settle_sent(self, conn: asyncpg.Connection) -> None:
        if self._sent:
            await conn.execute("DELETE FROM outbox_pending WHERE id = ANY($1::bigint[])", self._sent)
            self._sent = []

    @contextlib.contextmanager
    def _producer_span(self, topic: str, headers: dict[str, str]) -> Iterator[dict[str, str]]:
        """The headers to send: with tracing on, those of a producer span that continues the trace of the work
        that wrote the row; off, the row's own."""
        if not self._traced:
            yield headers
            return
        with tracer.start_as_current_span(f"{topic} publish", context=propagate.extract(headers), kind=trace.SpanKind.PRODUCER,
                                          attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                                                      "messaging.operation": "publish"}):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            yield carrier


class _suppress_cancel:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return exc_type is not None and issubclass(exc_type, (asyncio.CancelledError, Exception))  # type: ignore[arg-type]
