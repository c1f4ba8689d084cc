"""Consuming a topic (or several) in batches, for consumers whose cost is per transaction rather than per
event (projections): every new event of a batch is handled in one transaction, inbox rows and all.

What holds for one-at-a-time consumers holds here too: an event that does not parse (or is oversized)
is dead-lettered alone with its reason while the rest of its batch goes on; an event already in the
inbox is skipped (consumers whose every write is an idempotent upsert keyed by the fact's id, like
query's projections, can do without the inbox: `inbox=False`); transient failures (database or broker away) are retried in place; and if the
batch's transaction fails for any other reason its events are handled one by one, so that only the
event that fails is dead-lettered. Each event keeps its own consumer span, a child of its producer's.

A handler that writes a batch's inbox rows, state and outbox rows in one statement (`one_statement=True`: the
router's intents, the executor's orders, policy's decisions after the read they are made on) is handed every event,
with the inbox rows for its statement (`Tx.inbox`); the statement is the batch's transaction, so the BEGIN, the
COMMIT and the inbox's own round trip are saved: on a machine that is busy, each round trip is also a wait for the
CPU. A handler that reads first asks its read which events were handled before (`Inbox.seen`), and one that
writes nothing says so (`Inbox.record(None)`). Without an inbox (`inbox=False`), such a batch is handed to its
handler whole and written by it in one statement, nothing more (policy's positions: a batch's upserts).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aiokafka.structs import ConsumerRecord
from opentelemetry import propagate, trace
from pydantic import ValidationError

from vprime_shared.contracts import Event
from vprime_shared.kafka import PoisonEvent, refuse_oversized, retry_transient
from vprime_shared.telemetry import current_trace_headers, tracing_enabled
from vprime_shared.unit_of_work import Inbox, Tx, fresh_events

if TYPE_CHECKING:
    from vprime_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)
tracer = trace.get_tracer("vprime.batches")

Handler = Callable[[Tx, Any], Awaitable[None]]
AfterCommit = Callable[[list[Any]], Awaitable[None] | None]
E = TypeVar("E", bound=Event)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Received(Generic[E]):
    """An event handed to a whole-batch handler, with the trace headers of its consumer span: what the event
    causes (events published, orders sent) carries them, so its trace goes on."""

    event: E
    trace: dict[str, str]
    payload: bytes | None = None  # the record's value, as it arrived (None for an event handed over in process)

    def json(self) -> str:
        """The event's JSON: as it arrived, which parsed into `event`, rather than encoded again."""
        return self.payload.decode() if self.payload is not None else self.event.model_dump_json()


def first_of_each(items: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """The first item of each key, in the order they came: a batch's repeats (a redelivery inside one poll) once."""
    first: dict[Hashable, T] = {}
    for item in items:
        first.setdefault(key(item), item)
    return list(first.values())


class BatchSubscription:
    def __init__(self, runtime: ServiceRuntime, events: Iterable[type[Event]], handler: Handler, after_commit: AfterCommit | None,
                 *, inbox: bool = True, together: bool = False, one_statement: bool = False) -> None:
        if one_statement and not together:
            raise ValueError("a batch handled in one statement is handed whole (together=True)")
        self.runtime = runtime
        self.inbox = inbox
        self.together = together  # the handler takes the whole batch (set-based statements), not one event at a time
        self.one_statement = one_statement  # ... and writes it, inbox rows and outbox rows included, in one statement
        self.models = {e.TOPIC: e for e in events}  # a batch may mix the topics of one consumer
        self.topics = ", ".join(self.models)
        self.handler = handler
        self.after_commit = after_commit
        self.records: dict[uuid.UUID, ConsumerRecord] = {}  # event id -> its record, while its batch is handled
        self.traced = tracing_enabled()

    async def decode(self, msg: Any, _original: Any = None) -> list[Event]:
        """The batch's events; what does not parse goes to the DLQ here, with its reason."""
        events = []
        for record in msg.raw_message:
            try:
                refuse_oversized(record.value)
                event = self.models[record.topic].model_validate_json(record.value or b"")
            except (ValidationError, PoisonEvent, ValueError) as exc:
                await self.runtime.dead_letters.send(record, exc)
                continue
            self.records[event.event_id] = record
            events.append(event)
        return events

    async def handle(self, events: list[Event]) -> None:
        unique = first_of_each(events, lambda e: e.event_id)  # the same event twice in one batch: once
        try:
            done = await retry_transient(lambda: self._together(unique), f"a batch of {self.topics}")
        except Exception:  # noqa: BLE001 - anything but transient: find the one event that fails
            log.warning("a batch of %d %s failed as a whole; handling its events one by one", len(unique), self.topics)
            done = [e for e in unique if await self._alone(e)]
        finally:
            for e in unique:
                self.records.pop(e.event_id, None)
        if self.after_commit is not None and done:
            follow_up = self.after_commit(done)
            if inspect.isawaitable(follow_up):
                await follow_up

    async def _together(self, events: list[Event]) -> list[Event]:
        uow = self.runtime.uow
        if self.one_statement:  # every event goes to the handler: its statement leaves out those in the inbox
            async with uow.statement(events if self.inbox else None) as tx:
                await self.handler(tx, [self._received(event) for event in events])
            return [e for e in events if tx.inbox is None or e.event_id in (tx.inbox.fresh or ())]
        async with uow.pool.acquire() as conn, uow.on(conn) as tx:
            todo = events
            if self.inbox:
                fresh = await fresh_events(conn, Inbox(uow.consumer, events))
                todo = [e for e in events if e.event_id in fresh]
            if self.together:
                await self.handler(tx, [self._received(event) for event in todo])
            else:
                for event in todo:
                    with self._span(event):
                        await self.handler(tx, event)
        return todo

    def _received(self, event: Event) -> Received[Event]:
        with self._span(event):  # the consumer span, for its place in the trace; the work is the batch's
            return self._in_span(event)

    def _in_span(self, event: Event) -> Received[Event]:
        """`event` as received, with the trace headers of the span it is in and its record's bytes."""
        return Received(event, current_trace_headers(), self.records[event.event_id].value)

    async def _handle_one(self, tx: Tx, event: Event) -> None:
        """The handler, for one event (inside its span)."""
        await self.handler(tx, [self._in_span(event)] if self.together else event)

    async def _alone(self, event: Event) -> bool:
        try:
            with self._span(event):
                await retry_transient(lambda: self._one(event), event.TOPIC)
            return True
        except Exception as exc:  # noqa: BLE001 - this event, and only it, cannot be handled
            await self.runtime.dead_letters.send(self.records[event.event_id], exc)
            return False

    async def _one(self, event: Event) -> None:
        if self.one_statement:
            await self._together([event])
            return
        if self.inbox:
            await self.runtime.once(event, self._handle_one)
            return
        async with self.runtime.uow.begin() as tx:
            await self._handle_one(tx, event)

    def _span(self, event: Event) -> Any:
        """A consumer span for this event under its producer's (the record's trace headers); with tracing off, none."""
        if not self.traced:
            return contextlib.nullcontext()
        record = self.records.get(event.event_id)
        headers = {k: v.decode(errors="replace") for k, v in (record.headers if record else ())}
        return tracer.start_as_current_span(f"{event.TOPIC} process", context=propagate.extract(headers),
                                            kind=trace.SpanKind.CONSUMER)
