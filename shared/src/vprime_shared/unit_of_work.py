"""One Postgres transaction per unit of work: state change + outbox rows (+ inbox row for a consumed event).

`UnitOfWork.once(event)` is how every consumer handles an event: if this consumer already
processed `event.event_id`, the block is skipped, so redelivery is harmless.

A unit of work whose whole change fits in one statement (inbox rows, state and outbox rows as CTEs of it) needs no
explicit transaction: Postgres runs a lone statement as one. `UnitOfWork.statement()` is that unit of work: it saves
the BEGIN and the COMMIT, two of a small batch's few round trips, each a wait for the CPU on a busy machine.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg

from vprime_shared import outbox
from vprime_shared.contracts.base import Event
from vprime_shared.outbox import Outgoing
from vprime_shared.telemetry import current_trace_headers

if TYPE_CHECKING:
    from vprime_shared.outbox import OutboxRelay, Written


# Failures that leave no answer from Postgres (the connection lost, or the wait for the answer cancelled): a COMMIT,
# or a lone statement, under way when one came may have committed or not. An error Postgres sent means it did not.
NO_ANSWER = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError, asyncio.CancelledError, TimeoutError)


@dataclass(slots=True)
class Inbox:
    """A batch's events for a consumer's inbox, written by a CTE of the statement that handles them (`cte`): the
    events that statement handles are those it finds in `fresh`, which it returns (column `FRESH`) to `record`."""

    consumer: str
    events: Sequence[Event]
    fresh: set[uuid.UUID] | None = field(default=None)  # set by `record` once the statement has run

    @staticmethod
    def cte(first: int, *, when: str = "") -> str:
        """`fresh`: the event ids (parameters `$first` to `$first+2`) this consumer had not processed, now recorded
        (`when`: only if that condition of the statement holds)."""
        return (f"fresh AS (INSERT INTO inbox (event_id, consumer, topic) SELECT e, ${first + 1}, t "
                f"FROM unnest(${first}::uuid[], ${first + 2}::text[]) AS u(e, t) {f'WHERE {when}' if when else ''} "
                "ON CONFLICT DO NOTHING RETURNING event_id)")

    FRESH = "(SELECT array_agg(event_id) FROM fresh) AS fresh"  # the column `record` reads

    @staticmethod
    def seen(first: int) -> str:
        """A column, `seen`: which of the events (parameters `$first` and `$first+1`, `seen_params`) this consumer has
        processed, for a handler that reads before the statement that writes its inbox rows."""
        return (f"(SELECT array_agg(event_id) FROM inbox WHERE consumer = ${first + 1} "
                f"AND event_id = ANY(${first}::uuid[])) AS seen")

    def params(self) -> list[Any]:
        return [[e.event_id for e in self.events], self.consumer, [e.TOPIC for e in self.events]]

    def seen_params(self) -> list[Any]:
        return [[e.event_id for e in self.events], self.consumer]

    def record(self, row: Mapping[str, Any] | None) -> None:
        """The events new to this consumer, read from the statement's `FRESH` column (None: no statement wrote any,
        all of them were seen before)."""
        self.fresh = set((row or {}).get("fresh") or ())


class Tx:
    """The open transaction a handler works in (or, for `UnitOfWork.statement`, the one statement that is its
    transaction)."""

    def __init__(self, conn: asyncpg.Connection, relay: OutboxRelay | None = None, *, inbox: Inbox | None = None) -> None:
        self.conn = conn
        self.inbox = inbox  # a one-statement batch's inbox rows, for its statement to write
        self._relay = relay  # this process's relay: handed the outbox rows at commit
        self._unwritten: list[tuple[Event, dict[str, str], Hashable]] = []
        self._written: list[Written] = []
        self._deferred: dict[str, list[tuple[set[Hashable], list[dict[str, Any]]]]] = {}  # statement -> its rounds of rows
        self._committed: list[Callable[[], None]] = []

    async def publish(self, event: Event, *, about: Hashable = None) -> None:
        """Publish `event` once this transaction commits (transactional outbox). The outbox rows of a
        transaction are written together by `flush`, just before it commits: one statement, not one per event; or
        by a statement of the handler's own (`outgoing`), where `about` says which of its writes the event tells of.
        Events are encoded there too, and one larger than `outbox.MAX_EVENT_BYTES` fails the unit of work with
        `outbox.EventTooLarge` before anything of it is written."""
        self._unwritten.append((event, current_trace_headers(), about))  # the trace of the work that produced it

    def outgoing(self) -> Outgoing:
        """The events published so far, for the handler's own statement to write (`outbox.ctes`); it hands back
        what it wrote to `wrote`."""
        outgoing, self._unwritten = Outgoing.of(self._unwritten), []
        return outgoing

    def wrote(self, outgoing: Outgoing, row: Mapping[str, Any]) -> None:
        """Rows of `outgoing` that a statement wrote (read from its `outbox.result` columns), for the relay at commit."""
        self._wrote(outgoing.written(row))

    @property
    def notify(self) -> bool:
        """Whether outbox rows written now must wake the relay by a NOTIFY: not when this process's relay leads,
        since it is handed them at commit."""
        return not (self._relay is not None and self._relay.leading)

    def defer(self, statement: str, row: dict[str, Any], *, key: Hashable = None) -> None:
        """Run `statement` (a write whose result nobody reads) at `flush`, over `row` and every other row deferred to it
        in this transaction: one statement for all of them, which reads them as `$1`, a JSON array of objects (e.g.
        `jsonb_to_recordset($1) AS r(intent_id uuid, attempt int)`). Rows of one `key` are written in the order they
        came, each in a statement of its own, since a statement may change a table row only once. The rows are
        encoded by the connection's JSON codec (`db.use_json_codecs`, as on every service connection)."""
        rounds = self._deferred.setdefault(statement, [])
        for keys, rows in rounds:
            if key is None or key not in keys:
                break
        else:
            keys, rows = set(), []
            rounds.append((keys, rows))
        keys.add(key)
        rows.append(row)

    def insert(self, table: str, row: dict[str, Any], *, on_conflict: str = "", key: Hashable = None) -> None:
        """Insert `row` (column: value) into `table` at `flush`, in one statement with every other row this
        transaction inserts there with the same columns and `on_conflict` clause (see `defer`). PostgreSQL types
        each value as its column (`jsonb_populate_recordset`); a column the table does not have fails the statement."""
        names = ", ".join(row)
        self.defer(f"INSERT INTO {table} ({names}) SELECT {names} FROM jsonb_populate_recordset(NULL::{table}, $1) {on_conflict}",
                   row, key=key)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this transaction has committed (not if it rolls back, nor when it is nested in another
        transaction and so only releases a savepoint): for what a process may remember only of what the database
        really holds."""
        self._committed.append(callback)

    async def flush(self) -> None:
        for statement, rounds in self._deferred.items():
            for _, rows in rounds:
                await self.conn.execute(statement, rows)
        self._deferred = {}
        self._wrote(await outbox.add(self.conn, self.outgoing(), notify=self.notify))

    def _wrote(self, rows: list[Written]) -> None:
        self._written += rows
        if self._relay is not None:
            self._relay.writing(rows)

    @classmethod
    @asynccontextmanager
    async def on(cls, conn: asyncpg.Connection, relay: OutboxRelay | None = None, *, inbox: Inbox | None = None,
                 transaction: bool = True) -> AsyncIterator[Tx]:
        """A transaction on `conn` whose published events are written to the outbox before it commits, and handed
        to `relay` (this process's) once it has. `transaction=False`: no explicit transaction, for work done in one
        statement, which writes its own outbox rows (`outgoing`) and `inbox`; whatever it left to `flush` would be
        a second transaction, so that is refused."""
        tx = cls(conn, relay, inbox=inbox)
        nested = conn.is_in_transaction()  # inside a larger transaction: what this does commits nothing by itself
        committing = False  # the work is done and its COMMIT (or RELEASE) under way
        try:
            if transaction:
                async with conn.transaction():
                    yield tx
                    await tx.flush()
                    committing = True
            else:
                yield tx
                if tx._unwritten or tx._deferred or (inbox is not None and inbox.fresh is None):
                    raise RuntimeError("work without a transaction writes its inbox rows, state and outbox rows in one "
                                       "statement; this left some for another")
        except BaseException as exc:
            if relay is not None:
                lost = isinstance(exc, NO_ANSWER)
                if transaction and committing and lost and not nested:
                    relay.unsure(tx._written)
                elif transaction:
                    relay.rolled_back(tx._written)
                elif nested:
                    relay.released(tx._written)
                elif tx._written:
                    relay.committed(tx._written)  # its one statement committed on its own, whatever failed after it
                elif lost:
                    relay.unsure([])  # its one statement may have been under way
            raise
        if nested:  # a savepoint released, not a commit: whether it holds is the outer one's to say
            if relay is not None:  # (its outbox rows reach the relay by a read of what is pending; its callbacks are
                relay.released(tx._written)  # not called)
            return
        if relay is not None:
            relay.committed(tx._written)
        for callback in tx._committed:
            callback()


class UnitOfWork:
    def __init__(self, pool: asyncpg.Pool, consumer: str) -> None:
        self.pool = pool
        self.consumer = consumer
        self.relay: OutboxRelay | None = None  # this process's relay, once it has started (`ServiceRuntime.start`)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Tx]:
        async with self.pool.acquire() as conn, self.on(conn) as tx:
            yield tx

    @asynccontextmanager
    async def statement(self, events: Sequence[Event] | None = None) -> AsyncIterator[Tx]:
        """Work done in one statement, with no explicit transaction (see `Tx.on`); with `events`, its statement
        also writes their inbox rows (`tx.inbox`)."""
        inbox = Inbox(self.consumer, events) if events is not None else None
        async with self.pool.acquire() as conn, self.on(conn, inbox=inbox, transaction=False) as tx:
            yield tx

    def on(self, conn: asyncpg.Connection, *, inbox: Inbox | None = None, transaction: bool = True) -> AbstractAsyncContextManager[Tx]:
        """A transaction on `conn` (acquired from `pool`), its outbox rows handed to this process's relay."""
        return Tx.on(conn, self.relay, inbox=inbox, transaction=transaction)

    @asynccontextmanager
    async def once(self, event: Event) -> AsyncIterator[Tx | None]:
        """A transaction that records `event` in the inbox; yields None if it was processed before."""
        async with self.pool.acquire() as conn, self.on(conn) as tx:
            yield tx if await fresh_events(conn, Inbox(self.consumer, [event])) else None


async def fresh_events(conn: asyncpg.Connection, inbox: Inbox) -> set[uuid.UUID]:
    """Record `inbox`'s events, in a statement of their own; those this consumer had not processed."""
    inbox.record(await conn.fetchrow(f"WITH {Inbox.cte(1)} SELECT {Inbox.FRESH}", *inbox.params()))
    return inbox.fresh or set()

