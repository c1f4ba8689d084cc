"""Transactional outbox: events are written in the same transaction as the state they describe,
and a relay publishes them to Kafka in commit order.

A session advisory lock makes one relay per schema the publisher (the leader), so events of one key leave in
the order they were written, however many instances run. A transaction committed in the leader's own process
hands its rows straight to the relay (`committed`), which publishes them without reading them back and without a
NOTIFY: with one instance per service, that is every row. A transaction committed elsewhere (an instance that is
not the leader) sends a NOTIFY at commit, and the leader reads what is pending. Each schema has a channel of its
own: the services share one database, and a shared channel would wake every service's relay at every service's
commit. The leader also reads what is pending once it leads and every `poll_interval_s` after, so a row whose
writer lost the lead between writing and committing is not left behind. What is still to be published is
listed in `outbox_pending` (one id per event); what was sent leaves that list with the relay's next read (one
statement), or on its own within `settle_after_s`, or when the relay stops. The outbox rows themselves stay as
they were written. Delivery is at least once: a leader that dies before settling what it sent has it sent again
by the next one, and consumers drop what they have seen.

Rows handed over are published at once only when nothing another instance committed can be owed before them
(`PublishOrder`): their ids take up where the last published id left off, and every id skipped so far belongs to
a transaction of this process still open. Otherwise the leader first makes one round trip on its listening
connection, which delivers the NOTIFY of anything committed before it (PostgreSQL sends pending notifications
before it is ready for the next query), and reads what is pending when one came. So a row whose commit came
before the transaction of another row began (for one key: the instance that had it before a rebalance, then the
one that has it now) is published first.

The relay sends through its own aiokafka producer rather than the FastStream broker: a row is already
encoded bytes with a topic and key, and the broker's per-message publish path (correlation id, two
middlewares) cost a fifth of a service's CPU under load. What those middlewares gave is kept: a
producer span per event under the trace the row carries (when tracing is on), and a published count
per topic.

An event is refused before it reaches the outbox when it is larger than a consumer accepts (`EventTooLarge`). A row
Kafka refuses for good all the same (too large for a topic's own limit, a topic it will never take) leaves the pending
list for `outbox_dead_letters`, and the rows behind it are published in order: one row must not hold up the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import time
from collections import Counter as tally
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson
from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
)
from aiokafka.partitioner import murmur2
from aiokafka.producer.transaction_manager import NO_PRODUCER_EPOCH, NO_PRODUCER_ID, PidAndEpoch
from aiokafka.util import create_future
from opentelemetry import propagate, trace
from prometheus_client import Counter

from vprime_shared import kafka
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
# own (at most one statement per this interval under a steady stream). A relay that dies in between sends them
# again (consumers drop what they have seen).
SETTLE_AFTER_S = 0.05
PUBLISHED = Counter("vprime_outbox_published_total", "Events the outbox relay published", ["service", "topic"])
ORDER_CHECKS = Counter("vprime_outbox_order_checks_total",
                       "Round trips the leading relay made before publishing rows handed over, for rows another "
                       "instance may have committed before them", ["service"])
DEAD_LETTERED = Counter("vprime_outbox_dead_letters_total",
                        "Outbox rows Kafka refused for good, moved to outbox_dead_letters", ["service", "topic"])

# The most an event may be (value, key and headers): what every consumer accepts (`kafka.refuse_oversized` dead-letters
# a larger value unread), well under Kafka's default limit of a record batch (1 MiB). A larger event would be
# published only to be dead-lettered by each of its consumers.
MAX_EVENT_BYTES = kafka.MAX_EVENT_BYTES

# What Kafka answers about a record batch that sending it again cannot change: a batch too large for the broker or the
# topic (the batch, or one of its rows), a topic it will never take. An idempotent producer retries every error
# aiokafka calls retriable itself, so whatever reaches the relay is one aiokafka does not; but most of those are not
# the row's doing (a sequence number out of order, a sender task that died, the whole cluster refusing this client, an
# error code aiokafka does not know): taken as refusals, they would move sound rows, perhaps the whole outbox, to the
# dead letters. Those are retried, as a broker outage is.
REFUSED_RECORDS: tuple[type[Exception], ...] = (MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError)
REFUSED_TOPICS: tuple[type[Exception], ...] = (InvalidTopicError, TopicAuthorizationFailedError)
REFUSED = REFUSED_RECORDS + REFUSED_TOPICS
# The current snapshot's oldest running and next transaction ids: when every transaction that may hold a skipped id
# has ended.
_SNAPSHOT = "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint FROM pg_current_snapshot() AS s"


@functools.lru_cache(maxsize=65_536)
def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2 of the key, as in the Java client and aiokafka) gives
    `key`: every producer of a topic agrees, so one key stays in one partition. Keys are deployment and agent ids,
    few and repeated, hence the cache."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()


class EventTooLarge(ValueError):
    """An event larger than `MAX_EVENT_BYTES` (value, key and headers): refused before the outbox, so that no row Kafka
    or a consumer would refuse is ever written."""

    def __init__(self, event: Event, size: int, limit: int) -> None:
        self.event_type, self.size, self.limit = type(event).__name__, size, limit
        super().__init__(f"{self.event_type} event is {size:,} bytes; the most an event may be is {limit:,}")


@dataclass(frozen=True, slots=True)
class Written:
    """An outbox row as its transaction wrote it: what the relay publishes."""

    id: int
    topic: str
    key: str
    payload: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Events about to be written to the outbox, each with the trace headers of the work that produced it and what it
    is about (a key of the state written with it, or None), as the parameters of `ctes`."""

    events: list[Event]
    headers: list[dict[str, str]]
    about: list[str | None]
    keys: list[str]
    payloads: list[bytes]
    headers_json: list[str]  # `headers` as the outbox stores them

    @classmethod
    def of(cls, unwritten: Sequence[tuple[Event, dict[str, str], Hashable]]) -> Outgoing:
        """The events encoded, each no larger than `MAX_EVENT_BYTES` (else `EventTooLarge`)."""
        events = [e for e, _, _ in unwritten]
        headers = [h for _, h, _ in unwritten]
        keys, payloads = [e.partition_key() for e in events], [encode(e) for e in events]
        headers_json = [orjson.dumps(h).decode() for h in headers]
        # Sizes from the encoding the outbox stores (the headers' JSON counts a few bytes of punctuation more than
        # Kafka does); the sum first, so that a batch well under the limit costs three C loops.
        if sum(map(len, payloads)) + sum(map(len, keys)) + sum(map(len, headers_json)) > MAX_EVENT_BYTES:
            for event, key, payload, text in zip(events, keys, payloads, headers_json, strict=True):
                if (size := len(payload) + len(key) + len(text)) > MAX_EVENT_BYTES:
                    raise EventTooLarge(event, size, MAX_EVENT_BYTES)
        return cls(events, headers, [None if a is None else str(a) for _, _, a in unwritten], keys, payloads,
                   headers_json)

    def params(self) -> list[list[Any]]:
        """The six parameters `ctes` reads, in its order."""
        return [[e.event_id for e in self.events], [e.TOPIC for e in self.events], self.keys, self.payloads,
                self.headers_json, self.about]

    def written(self, row: Mapping[str, Any]) -> list[Written]:
        """The rows a statement wrote, read from its `result` columns, in write order."""
        at = {e.event_id: n for n, e in enumerate(self.events)}
        return [Written(i, self.events[at[e]].TOPIC, self.keys[at[e]], self.payloads[at[e]], self.headers[at[e]])
                for i, e in zip(row["outbox_ids"] or (), row["outbox_events"] or (), strict=True)]


def ctes(first: int, *, only: str = "") -> str:
    """Two CTEs, `added` and `pending`, that write an `Outgoing` (parameters `$first` to `$first+5`) inside a larger
    statement, in write order: the outbox rows and the ids still to publish. `only` keeps some rows, by their
    `about` (e.g. `about IN (SELECT intent_id::text FROM recorded)`: the events of what the statement really wrote);
    rows about nothing in particular are kept.
    The statement's one row takes `result`: the ids written and their events, and the NOTIFY when asked."""
    p = [f"${first + n}" for n in range(6)]
    return (f"added AS (INSERT INTO outbox (event_id, topic, key, payload, headers) SELECT e, t, k, p, h::jsonb "
            f"FROM unnest({p[0]}::uuid[], {p[1]}::text[], {p[2]}::text[], {p[3]}::bytea[], {p[4]}::text[], {p[5]}::text[]) "
            f"WITH ORDINALITY AS u(e, t, k, p, h, about, n) {f'WHERE about IS NULL OR ({only})' if only else ''} ORDER BY n "
            "RETURNING id, event_id), "
            "pending AS (INSERT INTO outbox_pending (id) SELECT id FROM added RETURNING id)")


def result(*, notify: bool) -> str:
    """The `ctes` columns of a statement's one row, which `Outgoing.written` reads: `outbox_ids` and `outbox_events`,
    in write order (`pending` runs
    whether read or not, as every data-modifying CTE does). The NOTIFY rides in the same row: Postgres delivers it at
    commit and folds a transaction's identical notifications into one."""
    return ("(SELECT array_agg(id ORDER BY id) FROM added) AS outbox_ids, "
            "(SELECT array_agg(event_id ORDER BY id) FROM added) AS outbox_events" + (_NOTIFY if notify else ""))


async def add(conn: asyncpg.Connection, outgoing: Outgoing, *, notify: bool = True) -> list[Written]:
    """Record `outgoing` for publication, in one statement; call inside the transaction that changes the matching
    state. `notify=False` when the relay of this process leads and will be handed the rows at commit
    (`OutboxRelay.committed`): no other relay needs waking."""
    if not outgoing.events:
        return []
    row = await conn.fetchrow(f"WITH {ctes(1)} SELECT {result(notify=notify)}", *outgoing.params())
    return outgoing.written(row)


_NOTIFY = f", pg_notify('{NOTIFY_CHANNEL}_' || current_schema(), '')"
# A refused row leaves the pending list and enters the dead letters in one statement. One put back on the pending list
# and refused again keeps its latest reason.
_DEAD_LETTER = ("WITH dead AS (INSERT INTO outbox_dead_letters (id, topic, key, reason) "
                "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) "
                "ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, failed_at = excluded.failed_at) "
                "DELETE FROM outbox_pending WHERE id = ANY($1::bigint[])")


def _reason(error: BaseException) -> str:
    """Why Kafka refused a row, for the dead letters and the log: the error and what it means, never the row."""
    description = getattr(error, "description", "")
    return f"{error}: {description}"[:1000] if description else str(error)[:1000]


class PublishOrder:
    """What the leading relay knows of the outbox ids (one sequence per schema), to tell whether rows handed over
    may be published before anything it has not seen.

    A row committed before another's transaction began has the lower id (it took its id before it committed). So
    rows handed over can owe nothing to another instance when their ids above the last one published (`high`)
    follow on from it, and every id skipped so far (`holes`, and those the handed rows skip) is of a transaction of
    this process still open (`ours`) or rolled back (`void`). Holes of other transactions are dropped once every
    transaction that was running when they were found has ended (`snapshot`): by then each either rolled back or
    committed, and a read of what is pending publishes what did. A relay that has just taken the lead knows no ids
    (`blind`) until every transaction running then has ended."""

    MAX_SKIPPED = 10_000  # more ids skipped at once than are worth listing: treated as not knowing any

    high: int | None
    holes: set[int]
    void: set[int]
    blind: bool
    horizon: tuple[int, frozenset[int] | None] | None  # (xmax, the holes it covers; None: all ids)

    def __init__(self) -> None:
        self.ours: set[int] = set()
        self.forget()

    def forget(self) -> None:
        """Not leading (yet, or any more): nothing is known of the ids but this process's open transactions."""
        self.high, self.holes, self.void, self.blind, self.horizon = None, set(), set(), True, None

    def writing(self, ids: Iterable[int]) -> None:
        self.ours.update(ids)

    def closed(self, ids: Iterable[int], *, rolled_back: bool) -> None:
        ids = set(ids)
        self.ours -= ids
        if rolled_back:
            self.holes -= ids
            self.void |= {i for i in ids if self.high is None or i > self.high}

    def _skipped(self, above: set[int]) -> set[int] | None:
        """The ids between `high` and the highest of `above` that neither `above` nor `void` holds (None: too many)."""
        assert self.high is not None
        top = max(above, default=self.high)
        if top - self.high - len(above) > self.MAX_SKIPPED:
            return None
        return set(range(self.high + 1, top + 1)) - above - self.void

    def in_order(self, ids: Iterable[int]) -> bool:
        if self.blind or self.high is None:
            return False
        ids = set(ids)
        skipped = self._skipped({i for i in ids if i > self.high})
        return skipped is not None and ((self.holes - ids) | skipped) <= self.ours

    def published(self, ids: Iterable[int]) -> None:
        ids = set(ids)
        self.holes -= ids
        above = {i for i in ids if self.high is None or i > self.high}
        if not above:
            return
        if self.high is not None:
            skipped = self._skipped(above)
            if skipped is None:
                self.blind, self.holes, self.horizon = True, set(), None
            else:
                self.holes |= skipped
        self.high = max(above)
        self.void = {i for i in self.void if i > self.high}

    def snapshot(self, xmin: int, xmax: int) -> bool:
        """A snapshot taken after pending notifications were delivered. True when holes were dropped: one of them may
        have committed since the last read, so read what is pending."""
        dropped = False
        if self.horizon is not None and xmin >= self.horizon[0]:
            covered = self.horizon[1]
            if covered is None:
                self.blind = False
            else:
                self.holes -= covered
            self.horizon, dropped = None, True
        if self.horizon is None:
            if self.blind:
                self.horizon = (xmax, None)
            elif foreign := self.holes - self.ours:
                self.horizon = (xmax, frozenset(foreign))
        return dropped


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
        self.leading = False  # this relay holds the schema's lock: rows committed in this process are handed to it
        self._handed: list[Written] = []  # committed here, not yet published
        self._stray = False  # a NOTIFY came: another instance committed rows, read what is pending
        self._sent: dict[int, None] = {}  # ids published (acknowledged by Kafka) but still pending, in order
        self._sent_since = 0.0  # when the oldest of them was published
        self._order = PublishOrder()

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

    def writing(self, rows: Sequence[Written]) -> None:
        """Rows a transaction of this process has written and not yet committed: ids the leader may see skipped
        without owing another instance anything."""
        self._order.writing(row.id for row in rows)

    def committed(self, rows: Sequence[Written]) -> None:
        """Rows a transaction of this process has just committed. The leader publishes them as they are; any other
        relay leaves them to the leader, which their NOTIFY woke."""
        self._order.closed((row.id for row in rows), rolled_back=False)
        if self.leading and rows:
            self._handed.extend(rows)
            self._wake.set()

    def rolled_back(self, rows: Sequence[Written]) -> None:
        self._order.closed((row.id for row in rows), rolled_back=True)

    def unsure(self, rows: Sequence[Written]) -> None:
        """A commit of this process whose outcome never came back (its connection lost, or the wait for it
        cancelled), or a one-statement unit of work that failed with its statement perhaps under way (`rows` then
        empty: their ids are unknown). Its rows may have committed with no NOTIFY (this process's relay was to be
        handed them), so the leader reads what is pending before it publishes anything handed to it afterwards:
        rows committed later must not overtake them, and the sweep would find them only a poll interval on."""
        self._order.closed((row.id for row in rows), rolled_back=False)
        self._notified()  # as if another instance had committed: read what is pending

    def released(self, rows: Sequence[Written]) -> None:
        """Rows of a savepoint released inside a larger transaction: whether they commit is that transaction's to
        say, and a read of what is pending finds them if they do."""
        self._order.closed((row.id for row in rows), rolled_back=False)

    def _notified(self, *_: object) -> None:
        self._stray = True
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
        # The leader's only writes take published rows off the pending list. One lost in a crash of Postgres sends
        # them again (consumers drop what they have seen), so its commits need not wait for the WAL to reach the
        # disk: fewer flushes for the commits that must wait for one.
        await conn.execute("SET synchronous_commit = off")
        # From here this process's commits are handed over, not notified; what was committed before (here, or by
        # an instance that led before) is found by the first read.
        self.leading, self._stray, swept = True, True, 0.0
        try:
            while True:
                self._wake.clear()
                if self._stray or time.monotonic() - swept >= self._poll_interval_s:
                    # Everything pending in write order, whoever wrote it: rows handed over are among them if they
                    # committed before the read, and are not sent twice.
                    self._stray, swept = False, time.monotonic()
                    while True:
                        read = await self._read_and_publish(conn)
                        self._handed = [row for row in self._handed if row.id not in read]
                        if len(read) < self._batch_size:
                            break
                if self._handed and not self._order.in_order(row.id for row in self._handed):
                    # One round trip on the listening connection first: the NOTIFY of anything another instance
                    # committed before it arrives ahead of its answer, and its callback runs before this resumes.
                    if not self._stray:  # (a NOTIFY already came: no need to ask)
                        ORDER_CHECKS.labels(self._service).inc()
                        if self._order.snapshot(*await conn.fetchrow(_SNAPSHOT)):
                            self._stray = True
                    if self._stray:
                        continue  # read what is pending first: the rows handed over are among it
                if self._handed:
                    handed, self._handed = self._handed, []
                    await self._publish(conn, [row for row in handed if row.id not in self._sent])
                if self._on_backlog is not None and time.monotonic() - self._backlog_sampled > 1.0:
                    # A gauge, sampled at most once a second: not a count(*) per wake-up under load.
                    self._backlog_sampled = time.monotonic()
                    self._on_backlog(await self.backlog(conn))
                if self._sent and time.monotonic() - self._sent_since >= self._settle_after_s:
                    await self._settle_sent(conn)
                # Rows handed over or a NOTIFY during this round left the wake set: the wait returns at once.
                until_sweep = swept + self._poll_interval_s - time.monotonic()
                until_settle = self._sent_since + self._settle_after_s - time.monotonic() if self._sent else until_sweep
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=max(min(until_sweep, until_settle), 0.0))
        finally:
            self.leading, self._handed = False, []  # what was handed over and not sent is pending: the next leader's
            self._order.forget()
            with _suppress_cancel():  # on the way out, so that the next publisher does not send it again
                await self._settle_sent(conn)
            await conn.remove_listener(channel, self._notified)
            await conn.execute("RESET synchronous_commit")  # the connection goes back to the pool as it came
            await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)

    async def _read_and_publish(self, conn: asyncpg.Connection) -> set[int]:
        """Publish the next `batch_size` rows pending that were not sent already; their ids."""
        # Settling what was sent last and reading what comes next is one statement: one round trip (and one commit)
        # instead of two. The SELECT sees the rows as they were before the DELETE, hence the exclusion. The next ids
        # are read first and their rows looked up by key: as a join, the planner may merge it with the whole outbox,
        # scanned from its first row.
        rows = await conn.fetch(
            "WITH sent AS (DELETE FROM outbox_pending WHERE id = ANY($2::bigint[])) "
            "SELECT id, topic, key, payload, headers FROM outbox WHERE id = ANY(ARRAY("
            "SELECT id FROM outbox_pending WHERE id <> ALL($2::bigint[]) ORDER BY id LIMIT $1)) ORDER BY id",
            self._batch_size, list(self._sent),
        )
        self._sent = {}
        await self._publish(conn, [Written(r["id"], r["topic"], r["key"], r["payload"], r["headers"] or {})
                                   for r in rows])
        return {r["id"] for r in rows}

    async def _publish(self, conn: asyncpg.Connection, rows: list[Written]) -> None:
        """Send `rows` and wait for Kafka's acks; they stay pending until settled. A row Kafka refuses for good
        leaves the pending list for the dead letters instead, and the rows behind it go all the same
        (`_after_failures`)."""
        if not rows:
            return
        sent = await self._send(rows)
        acks = await asyncio.gather(*(ack for _, ack in sent), return_exceptions=True)
        if any(isinstance(ack, BaseException) for ack in acks):
            await self._after_failures(conn, [(batch, ack) for (batch, _), ack in zip(sent, acks, strict=True)])
        else:
            self._published(rows)

    async def _send(self, rows: list[Written]) -> list[tuple[list[Written], asyncio.Future[Any]]]:
        """Queue `rows` for Kafka: each record batch's rows, with the future of its ack."""
        # Each partition's rows go as record batches of the relay's own making, in order (one partition, one
        # batch in flight: the producer keeps them in order), then every ack is awaited. Per event, `send` found
        # the topic's metadata, hashed the key and queued a future: about 8 % of the router's CPU in a profile at
        # 200 signals/s.
        batches: dict[tuple[str, int], list[tuple[BatchBuilder, list[Written]]]] = {}
        partitions: dict[str, int] = {}
        for row in rows:
            key = row.key.encode()
            if row.topic not in partitions:
                partitions[row.topic] = len(await self._producer.partitions_for(row.topic))
            with self._producer_span(row.topic, row.headers) as headers:
                record = {"timestamp": None, "key": key, "value": row.payload,
                          "headers": [*((k, v.encode()) for k, v in headers.items()), CONTENT_TYPE]}
            builders = batches.setdefault((row.topic, partition_of(key, partitions[row.topic])), [])
            if not builders or builders[-1][0].append(**record) is None:  # none yet for this partition, or full
                builders.append((self._producer.create_batch(), []))
                builders[-1][0].append(**record)
            builders[-1][1].append(row)
        return [(batch, await self._producer.send_batch(builder, topic, partition=partition))
                for (topic, partition), builders in batches.items() for builder, batch in builders]

    def _published(self, rows: Sequence[Written]) -> None:
        """`rows` acknowledged: settled with the next read, or on their own."""
        self._order.published(row.id for row in rows)
        if not self._sent:
            self._sent_since = time.monotonic()
        self._sent.update((row.id, None) for row in rows)
        for topic, n in tally(row.topic for row in rows).items():
            PUBLISHED.labels(self._service, topic).inc(n)

    async def _after_failures(self, conn: asyncpg.Connection, outcomes: list[tuple[list[Written], object]]) -> None:
        """After a round in which Kafka failed record batches (`outcomes`: each batch's rows, and its ack or error).
        When one was refused for good (`REFUSED_RECORDS`, `REFUSED_TOPICS`), the failed rows are sent again one at
        a time, in write order: each one refused alone goes to the dead letters, the others are published. Otherwise,
        or on an error in between, the error is raised, and the rows not yet published are sent again from the
        pending list, as after a broker outage.

        Rows of a partition after a failed batch were not published either: the producer is idempotent, so the
        broker refuses the batches behind a missing one as out of order. So sending the failed rows again, in
        write order, keeps each key's order."""
        failed: list[Written] = []
        errors: list[BaseException] = []
        refused: dict[int, BaseException] = {}  # rows refused in a batch of their own: why
        topics: dict[str, BaseException] = {}  # topics refused whatever the row: why
        for batch, ack in outcomes:
            if not isinstance(ack, BaseException):
                self._published(batch)
                continue
            failed += batch
            errors.append(ack)
            if isinstance(ack, REFUSED_TOPICS):
                topics[batch[0].topic] = ack
            elif isinstance(ack, REFUSED_RECORDS) and len(batch) == 1:
                refused[batch[0].id] = ack
        self._restart_sequences()  # every ack is in: nothing of this producer's is in flight
        if not any(isinstance(e, REFUSED) for e in errors):
            raise errors[0]
        if other := [e for e in errors if not isinstance(e, (*REFUSED, OutOfOrderSequenceNumber))]:
            raise other[0]  # (out of order: behind a refused batch)
        dead: list[tuple[Written, BaseException]] = []
        try:
            for row in sorted(failed, key=lambda r: r.id):
                why = topics.get(row.topic, refused.get(row.id))
                if why is None:
                    [(_, ack)] = await self._send([row])
                    try:
                        await ack
                    except REFUSED as exc:
                        why = exc
                        if isinstance(exc, REFUSED_TOPICS):
                            topics[row.topic] = exc
                        self._restart_sequences()
                    except Exception:
                        self._restart_sequences()
                        raise
                    else:
                        self._published([row])
                        continue
                dead.append((row, why))
        except Exception:
            await self._dead_letter(conn, dead)  # what was refused stays refused; the rest is sent again
            raise
        await self._dead_letter(conn, dead)

    async def _dead_letter(self, conn: asyncpg.Connection, dead: list[tuple[Written, BaseException]]) -> None:
        """Move `dead` from the pending list to `outbox_dead_letters` (the outbox keeps the rows themselves)."""
        if not dead:
            return
        reasons = [_reason(why) for _, why in dead]
        await conn.execute(_DEAD_LETTER, [row.id for row, _ in dead], [row.topic for row, _ in dead],
                           [row.key for row, _ in dead], reasons)
        self._order.published(row.id for row, _ in dead)  # off the pending list: nothing to wait for
        for (row, _), reason in zip(dead, reasons, strict=True):
            DEAD_LETTERED.labels(self._service, row.topic).inc()
            log.error("outbox row %d (%s) refused by Kafka, moved to outbox_dead_letters: %s",
                      row.id, row.topic, reason)

    def _restart_sequences(self) -> None:
        """Have the producer take a new producer id before its next batch, its sequence numbers starting again at
        zero on every partition. aiokafka numbers each batch as it sends it and does not take the numbers back when
        the batch fails, so the broker would refuse every later batch of that partition as out of order, whatever it
        holds. Only between rounds: a batch still in flight keeps the id it was sent with."""
        txn = self._producer._txn_manager
        if txn is None or txn.transactional_id is not None:  # not idempotent, or transactional: nothing to restart
            return
        txn._pid_and_epoch = PidAndEpoch(NO_PRODUCER_ID, NO_PRODUCER_EPOCH)
        txn._pid_waiter = create_future()
        txn._sequence_numbers.clear()

    async def _settle_sent(self, conn: asyncpg.Connection) -> None:
        if self._sent:
            await conn.execute("DELETE FROM outbox_pending WHERE id = ANY($1::bigint[])", list(self._sent))
            self._sent = {}

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
