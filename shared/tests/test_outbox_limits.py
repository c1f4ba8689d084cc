"""What keeps one event from holding up the outbox. An event larger than a consumer accepts is refused before it is
written (`EventTooLarge`); a row Kafka refuses for good all the same goes to the dead letters, and the rows behind it
are published in order. Fakes stand in for Postgres and the producer; real Kafka and Postgres are in
tests/e2e/test_outbox_dead_letters.py."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    KafkaError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    TopicAuthorizationFailedError,
)

from vprime_shared import kafka, outbox
from vprime_shared.contracts import Event
from vprime_shared.contracts.common import RequestedVenue
from vprime_shared.contracts.registry import AgentState, AgentStatus
from vprime_shared.outbox import MAX_EVENT_BYTES, EventTooLarge, OutboxRelay, Outgoing, Written
from vprime_shared.unit_of_work import Tx


class Note(Event):
    TOPIC: ClassVar[str] = "notes"
    text: str = ""
    key: str = "k"

    def partition_key(self) -> str:
        return self.key


def agent(name: str) -> AgentState:
    return AgentState(agent_id=uuid.uuid4(), creator_wallet="0xabc", name=name, venue=RequestedVenue.MULTI,
                      status=AgentStatus.DRAFT, profit_receiver_address="0xabc", created_at=datetime.now(UTC))


def size_of(event: Event, headers: dict[str, str]) -> int:
    return len(outbox.encode(event)) + len(event.partition_key()) + len(orjson.dumps(headers))


# The size check


def test_the_limit_is_what_every_consumer_accepts_and_under_kafkas_default_record_batch_limit() -> None:
    assert MAX_EVENT_BYTES <= kafka.MAX_EVENT_BYTES
    assert MAX_EVENT_BYTES < 1024 * 1024


def test_an_event_within_the_limit_is_encoded_once_with_its_headers_as_stored() -> None:
    note, headers = Note(text="x" * 1000), {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
    outgoing = Outgoing.of([(note, headers, None)])
    assert outgoing.payloads == [outbox.encode(note)]
    assert outgoing.params()[4] == [orjson.dumps(headers).decode()]


def test_an_event_over_the_limit_is_refused_saying_its_type_its_size_and_the_limit() -> None:
    big = agent("x" * 1_200_000)
    with pytest.raises(EventTooLarge) as refused:
        Outgoing.of([(big, {}, None)])
    size = size_of(big, {})
    assert str(refused.value) == f"AgentState event is {size:,} bytes; the most an event may be is {MAX_EVENT_BYTES:,}"
    assert (refused.value.event_type, refused.value.size, refused.value.limit) == ("AgentState", size, MAX_EVENT_BYTES)
    assert isinstance(refused.value, ValueError)


def test_the_key_and_the_headers_count_too() -> None:
    headers = {"baggage": "b" * 100}
    fits = Note(text="")
    room = MAX_EVENT_BYTES - size_of(fits, headers)
    Outgoing.of([(Note(text="x" * room), headers, None)])  # exactly the limit
    with pytest.raises(EventTooLarge):
        Outgoing.of([(Note(text="x" * room, key="kk"), headers, None)])  # one byte more, in the key
    with pytest.raises(EventTooLarge):
        Outgoing.of([(Note(text="x" * room), {"baggage": "b" * 101}, None)])  # one more, in the headers


def test_the_limit_is_per_event_not_per_batch() -> None:
    half = MAX_EVENT_BYTES // 2
    outgoing = Outgoing.of([(Note(text="x" * half), {}, None) for _ in range(3)])
    assert len(outgoing.payloads) == 3
    with pytest.raises(EventTooLarge):
        Outgoing.of([(Note(text="x" * half), {}, None), (Note(text="x" * MAX_EVENT_BYTES), {}, None)])


class Connection:
    """As much of an asyncpg connection as `Tx.on` uses; the statements it was given."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.rolled_back = False

    def is_in_transaction(self) -> bool:
        return False

    @asynccontextmanager
    async def transaction(self) -> Any:
        try:
            yield
        except BaseException:
            self.rolled_back = True
            raise

    async def fetchrow(self, statement: str, *args: Any) -> dict[str, Any]:
        self.statements.append(statement)
        return {"outbox_ids": [], "outbox_events": []}


async def test_a_unit_of_work_publishing_an_event_over_the_limit_fails_having_written_no_outbox_row() -> None:
    conn = Connection()
    with pytest.raises(EventTooLarge):
        async with Tx.on(conn) as tx:  # type: ignore[arg-type]
            await tx.publish(Note(text="small"))
            await tx.publish(agent("x" * (MAX_EVENT_BYTES + 1)))
    assert conn.statements == [] and conn.rolled_back


# The relay and Kafka's refusals


class Txn:
    """aiokafka's idempotence state, as `OutboxRelay._restart_sequences` sees it."""

    transactional_id = None

    def __init__(self) -> None:
        self._pid_and_epoch, self._pid_waiter, self._sequence_numbers = (1, 0), None, {}


class Builder:
    """A record batch: full past `capacity` bytes, but its first record always goes in (as aiokafka's)."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.values = capacity, []

    def append(self, *, timestamp: Any, key: bytes, value: bytes, headers: Any) -> object | None:
        if self.values and sum(map(len, self.values)) + len(value) > self.capacity:
            return None
        self.values.append(value)
        return object()


class Producer:
    """As much of aiokafka's producer as the relay uses, against a broker that refuses what `refuse` says. As an
    idempotent producer's, a refused batch leaves a gap in its partition's sequence: every later batch there is
    refused as out of order until the sequence restarts."""

    def __init__(self, refuse: Any, *, capacity: int = 100) -> None:
        self.refuse, self.capacity = refuse, capacity
        self._txn_manager = Txn()
        self.published: list[bytes] = []
        self.batches: list[list[bytes]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def create_batch(self) -> Builder:
        return Builder(self.capacity)

    async def send_batch(self, builder: Builder, topic: str, *, partition: int) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.batches.append(builder.values)
        gap = self._txn_manager._sequence_numbers.get((topic, partition))
        error = OutOfOrderSequenceNumber() if gap else self.refuse(topic, builder.values)
        if error is None:
            self.published += builder.values
            done.set_result(None)
        else:
            self._txn_manager._sequence_numbers[(topic, partition)] = "gap"
            done.set_exception(error)
        return done


class Settling:
    """The relay's connection: the dead letters it wrote."""

    def __init__(self) -> None:
        self.dead: dict[int, str] = {}

    async def execute(self, statement: str, ids: list[int], topics: list[str], keys: list[str],
                      reasons: list[str]) -> None:
        assert "outbox_dead_letters" in statement and "DELETE FROM outbox_pending" in statement
        self.dead.update(zip(ids, reasons, strict=True))


def rows(*values: bytes, topic: str = "notes") -> list[Written]:
    return [Written(n, topic, "k", value, {}) for n, value in enumerate(values, start=1)]


def relay(producer: Producer) -> OutboxRelay:
    return OutboxRelay(None, producer, service="limits-test")  # type: ignore[arg-type]


def too_large(limit: int) -> Any:
    return lambda topic, values: MessageSizeTooLargeError() if sum(map(len, values)) > limit else None


async def test_a_row_refused_alone_goes_to_the_dead_letters_and_the_rows_behind_it_are_published_in_order() -> None:
    producer, conn = Producer(too_large(50)), Settling()
    publisher = relay(producer)
    await publisher._publish(conn, rows(b"a1", b"B" * 200, b"a2", b"a3"))  # type: ignore[arg-type]
    assert producer.published == [b"a1", b"a2", b"a3"]
    assert list(conn.dead) == [2] and "MessageSizeTooLargeError" in conn.dead[2]
    assert list(publisher._sent) == [1, 3, 4]  # settled with the next read
    assert producer._txn_manager._sequence_numbers == {}, "the sequence restarted after the refusal"


async def test_a_batch_too_large_as_a_whole_is_sent_again_a_row_at_a_time() -> None:
    # The topic takes 30 bytes at once: no row is too large, batches of them are.
    producer, conn = Producer(too_large(30)), Settling()
    publisher = relay(producer)
    await publisher._publish(conn, rows(*(b"x%d" % n * 5 for n in range(6))))  # type: ignore[arg-type]
    assert producer.published == [b"x%d" % n * 5 for n in range(6)]
    assert conn.dead == {}


async def test_a_topic_refused_dead_letters_its_rows_without_sending_each_again() -> None:
    producer, conn = Producer(lambda topic, values: TopicAuthorizationFailedError(topic)), Settling()
    await relay(producer)._publish(conn, rows(b"a", b"b", b"c"))  # type: ignore[arg-type]
    assert sorted(conn.dead) == [1, 2, 3] and producer.published == []
    assert len(producer.batches) == 1


@pytest.mark.parametrize("error", [ClusterAuthorizationFailedError(), OutOfOrderSequenceNumber(),
                                   KafkaError("Unexpected error during batch delivery")])
async def test_errors_that_are_not_the_rows_doing_are_raised_and_nothing_is_dead_lettered(error: Exception) -> None:
    """Kafka does not call them retriable, but a row sent again later may well go: the relay retries from what is
    pending, as after a broker outage, with a fresh sequence."""
    producer, conn = Producer(lambda topic, values: error if b"b" in values else None, capacity=1), Settling()
    publisher = relay(producer)
    with pytest.raises(type(error)):
        await publisher._publish(conn, rows(b"a", b"b", b"c"))  # type: ignore[arg-type]
    assert conn.dead == {}
    assert list(publisher._sent) == [1], "what was acknowledged is settled; the rest stays pending"
    assert producer._txn_manager._sequence_numbers == {}


async def test_the_sequence_restart_matches_aiokafkas_idempotent_producer() -> None:
    """The relay restarts an idempotent producer's sequences through aiokafka's own state: this fails if an upgrade
    changes it."""
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", enable_idempotence=True)
    txn = producer._txn_manager
    txn.set_pid_and_epoch(7, 0)
    txn.increment_sequence_number(("notes", 0), 3)
    relay(producer)._restart_sequences()  # type: ignore[arg-type]
    assert not txn.has_pid() and txn.sequence_number(("notes", 0)) == 0 and not txn._pid_waiter.done()
    txn.set_pid_and_epoch(8, 0)  # as the sender does before its next batch
    assert txn.producer_id == 8
