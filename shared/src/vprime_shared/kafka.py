"""Kafka: the broker factory, topic provisioning, consumer defaults and the dead-letter middleware.

Consumers use `AckPolicy.ACK`: the offset is committed after the handler returns, and
handlers return only after their Postgres transaction committed. Errors never escape a
handler unhandled: transient ones (database or broker unreachable) are retried with backoff
in place, and anything else (invalid payload, unknown entity, a bug) sends the original bytes
to `<topic>.dlq` with the reason, so the consumer moves on and nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import traceback
from datetime import UTC, datetime
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.middlewares import BaseMiddleware
from prometheus_client import REGISTRY, Counter

from vprime_shared.contracts import EVENT_TYPES, dead_letter_topic
from vprime_shared.telemetry import tracing_enabled

log = logging.getLogger(__name__)

COMPACTED_PREFIX = "registry."
MAX_MESSAGE_BYTES = 1_048_576
# The largest event Vprime writes (a venue's market catalog) is far below this; anything above it is
# a producer's mistake or abuse and is dead-lettered unread.
MAX_EVENT_BYTES = 512 * 1024

T = TypeVar("T")

DEAD_LETTERS = Counter("vprime_dead_letters_total", "Events sent to a dead-letter topic", ["service", "topic"])

# Errors that say "the infrastructure is not there right now", not "this event is bad".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    KafkaConnectionError,
)


class PoisonEvent(Exception):
    """A well-formed event that can never be processed (e.g. it names an unknown agent): dead-letter it."""


def all_topics() -> list[str]:
    topics = list(EVENT_TYPES)
    return topics + [dead_letter_topic(t) for t in topics]


async def ensure_topics(bootstrap: str, topics: list[str] | None = None, partitions: int = 3) -> None:
    """Create the topics (registry topics compacted) if missing, and wait for the broker's group coordinator. Safe to
    call from every instance."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="vprime-admin")
    for attempt in range(1, 61):
        try:
            await admin.start()
            break
        except KafkaError as exc:
            if attempt == 60:
                raise
            log.warning("kafka not reachable yet (%s); retrying", exc)
            await asyncio.sleep(0.5)
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in (topics or all_topics()) if t not in existing]
        if missing:
            await _create(admin, missing, partitions)
            await wait_for_leaders(admin, missing)
        await _group_coordinator(admin)
    finally:
        await admin.close()


async def _create(admin: AIOKafkaAdminClient, missing: list[str], partitions: int) -> None:
    new = [
        NewTopic(
            name=t,
            num_partitions=partitions,
            replication_factor=1,
            topic_configs={"cleanup.policy": "compact"} if t.startswith(COMPACTED_PREFIX) and not t.endswith(".dlq") else {},
        )
        for t in missing
    ]
    try:
        await admin.create_topics(new)
    except TopicAlreadyExistsError:
        pass  # another instance created them first


async def wait_for_leaders(admin: AIOKafkaAdminClient, topics: list[str], timeout_s: float = 30.0) -> None:
    """Wait until every partition of `topics` (just created) has a leader. A consumer that starts before its
    partitions have one is refused their offsets (NOT_LEADER_OR_FOLLOWER, which aiokafka logs at ERROR) until they do."""

    async def led() -> bool:
        described = await admin.describe_topics(topics)
        return len(described) == len(topics) and all(
            t["error_code"] == 0 and t["partitions"] and all(p["error_code"] == 0 and p["leader"] >= 0 for p in t["partitions"])
            for t in described)

    await _until(led, f"topics without a leader for every partition: {', '.join(topics)}", timeout_s)


async def _group_coordinator(admin: AIOKafkaAdminClient, timeout_s: float = 60.0) -> None:
    """Wait until the broker has a group coordinator. A new broker makes its offsets topic when first asked for one,
    and until it has, every consumer that asks logs an error (aiokafka's, at ERROR) and asks again: asked here first,
    a fresh stack starts without them."""

    async def found() -> bool:
        try:
            await admin.find_coordinator("vprime.startup")
        except KafkaError as exc:
            if not exc.retriable:
                raise
            return False
        return True

    await _until(found, "no group coordinator", timeout_s, interval_s=0.2)


async def _until(ready: Callable[[], Awaitable[bool]], what: str, timeout_s: float, interval_s: float = 0.1) -> None:
    """Ask `ready()` every `interval_s` until it says yes; a `KafkaError` saying `what` after `timeout_s`."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await ready():
        if asyncio.get_running_loop().time() > deadline:
            raise KafkaError(f"{what} after {timeout_s:.0f}s")
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def offset_readers(bootstrap: str, client_id: str) -> AsyncIterator[tuple[AIOKafkaAdminClient, Any]]:
    """What reads a lag: an admin client (consumer groups and their committed offsets) and a consumer that joins no
    group (partitions and their end offsets)."""
    from aiokafka import AIOKafkaConsumer

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id)
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await probe.start()
    try:
        yield admin, probe
    finally:
        await probe.stop()
        await admin.close()


async def consumer_lag(bootstrap: str, groups: dict[str, list[str]]) -> dict[tuple[str, str], int]:
    """Lag per (group, topic): end offsets minus the group's committed offsets, summed over partitions."""
    async with offset_readers(bootstrap, "vprime-lag") as (admin, probe):
        lag: dict[tuple[str, str], int] = {}
        for group, topic in ((g, t) for g, topics in groups.items() for t in topics):
            partitions = [TopicPartition(topic, p) for p in (probe.partitions_for_topic(topic) or set())]
            if not partitions:
                await probe._client.force_metadata_update()  # noqa: SLF001 - metadata for a topic not subscribed to
                partitions = [TopicPartition(topic, p) for p in (probe.partitions_for_topic(topic) or set())]
            ends = await probe.end_offsets(partitions) if partitions else {}
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions) if partitions else {}
            lag[(group, topic)] = sum(max(end - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0), 0)
                                      for tp, end in ends.items())
        return lag


def consumer_options(service: str, name: str) -> dict[str, Any]:
    """Subscriber settings every consumer shares: a group per service and consumer, named after its topic
    (instances of one service share it, so scaling out splits partitions), from the start, offsets committed
    after processing (by `OffsetCommitter`, in the background: FastStream itself commits nothing)."""
    return {
        "group_id": f"vprime.{service}.{name}",
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.MANUAL,
    }


def refuse_oversized(value: bytes | None) -> None:
    """Refused before parsing: no event of ours comes near the limit."""
    if len(value or b"") > MAX_EVENT_BYTES:
        raise PoisonEvent(f"oversized event: {len(value or b'')} bytes, the limit is {MAX_EVENT_BYTES}")


async def retry_transient(attempt: Callable[[], Awaitable[T]], what: str) -> T:
    """`attempt()` until it stops failing transiently (database or broker away), backing off to 5 s."""
    delay = 0.2
    while True:
        try:
            return await attempt()
        except TRANSIENT_ERRORS as exc:
            log.warning("transient failure handling %s, retrying in %.1fs: %r", what, delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


class OffsetCommitter:
    """Commits consumed offsets in the background, many at once, instead of one Kafka round trip per event.

    Only the offset after an event that was handled (or dead-lettered) is ever committed, so nothing
    unprocessed is skipped; a crash between flushes redelivers at most `interval_s` worth of events,
    which the inbox drops as already processed.
    """

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self._pending: dict[Any, dict[TopicPartition, int]] = {}
        self._task: asyncio.Task[None] | None = None

    def processed(self, msg: Any) -> None:
        consumer, raw = getattr(msg, "consumer", None), getattr(msg, "raw_message", None)
        if consumer is None or raw is None:
            return
        offsets = self._pending.setdefault(consumer, {})
        for record in raw if isinstance(raw, tuple) else (raw,):  # a batch: its last offset per partition
            tp = TopicPartition(record.topic, record.partition)
            offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)

    async def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for consumer, offsets in pending.items():
            try:
                await consumer.commit(offsets)
            except KafkaError as exc:  # e.g. the partition moved in a rebalance: its new owner redelivers, the inbox dedups
                log.warning("could not commit offsets %s: %r", offsets, exc)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.flush()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="offset-commits")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.flush()


class DeadLetters:
    """Publishes an event that cannot be processed to its topic's DLQ, raw bytes and all; and has the
    offsets of events it is done with (handled or dead-lettered) committed."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.broker: KafkaBroker | None = None
        self.commits = OffsetCommitter()

    async def send(self, record: Any, error: BaseException) -> None:
        assert self.broker is not None, "DeadLetters is not attached to a broker"
        topic = record.topic
        reason = f"{type(error).__name__}: {error}"[:4000]
        headers = {
            "x-dlq-error": reason,
            "x-dlq-service": self.service,
            "x-dlq-first-seen": datetime.now(UTC).isoformat(),
            "x-dlq-source": f"{topic}/{record.partition}/{record.offset}",
        }
        for attempt in range(1, 11):
            try:
                await self.broker.publish(record.value or b"", topic=dead_letter_topic(topic), key=record.key, headers=headers)
                break
            except KafkaError:
                if attempt == 10:
                    raise
                await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
        DEAD_LETTERS.labels(self.service, topic).inc()
        log.warning("dead-lettered %s/%s@%s: %s", topic, record.partition, record.offset, reason)

    def middleware(self) -> Any:
        return functools.partial(DeadLetterMiddleware, dead_letters=self)


class DeadLetterMiddleware(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, dead_letters: DeadLetters) -> None:
        super().__init__(msg, context=context)
        self.dead_letters = dead_letters

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        self.stream_message = msg
        body = getattr(msg, "body", b"")
        if isinstance(body, (bytes, bytearray)):  # a batch checks each of its events itself
            refuse_oversized(body)
        result = await retry_transient(lambda: call_next(msg), getattr(self.msg, "topic", "?"))
        self.dead_letters.commits.processed(msg)
        return result

    async def after_processed(self, exc_type: Any = None, exc_val: BaseException | None = None, exc_tb: Any = None) -> bool:
        if exc_val is None or not isinstance(exc_val, Exception) or self.msg is None:
            return False
        if not hasattr(self.msg, "topic"):  # publish scope, not a consumed record
            return False
        if not isinstance(exc_val, (PoisonEvent, ValueError)):
            log.error("handler failed on %s: %s", self.msg.topic, "".join(traceback.format_exception(exc_val)))
        await self.dead_letters.send(self.msg, exc_val)
        self.dead_letters.commits.processed(getattr(self, "stream_message", None))
        return True


def producer_options(linger_ms: int = 0) -> dict[str, Any]:
    """Every producer of a service (the broker's, the outbox relay's): idempotent, acknowledged by all replicas."""
    return {"enable_idempotence": True, "acks": "all", "linger_ms": linger_ms, "max_request_size": MAX_MESSAGE_BYTES}


def make_outbox_producer(bootstrap: str, service: str, *, linger_ms: int = 0) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=bootstrap, client_id=f"vprime-{service}-outbox", **producer_options(linger_ms))


def make_broker(bootstrap: str, service: str, dead_letters: DeadLetters, *, linger_ms: int = 0) -> KafkaBroker:
    broker = KafkaBroker(
        bootstrap,
        client_id=f"vprime-{service}",
        **producer_options(linger_ms),
        logger=logging.getLogger(f"vprime.{service}.broker"),  # through the service's JSON log handler
        # FastStream's line per consumed message (or batch) and per handled one: DEBUG, so that a service at INFO logs
        # what it decided (policy, router, executor) rather than two lines for every tick, signal and position it reads.
        log_level=logging.DEBUG,
        middlewares=[
            # Consumer spans only when traces go somewhere: off, the middleware would still parse every record's
            # baggage and make a span nobody records.
            *([KafkaTelemetryMiddleware()] if tracing_enabled() else []),
            KafkaPrometheusMiddleware(registry=REGISTRY, app_name=f"vprime-{service}"),
            dead_letters.middleware(),
        ],
    )
    dead_letters.broker = broker
    return broker
