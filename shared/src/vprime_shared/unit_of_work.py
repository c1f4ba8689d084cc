"""One Postgres transaction per unit of work: state change + outbox rows (+ inbox row for a consumed event).

`UnitOfWork.once(event)` is how every consumer handles an event: if this consumer already
processed `event.event_id`, the block is skipped, so redelivery is harmless.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable
from typing import TYPE_CHECKING, Any
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg

from vprime_shared import outbox
from vprime_shared.contracts.base import Event
from vprime_shared.telemetry import current_trace_headers

if TYPE_CHECKING:
    from vprime_shared.outbox import OutboxRelay, Written


class Tx:
    """The open transaction a handler works in."""

    def __init__(self, conn: asyncpg.Connection, relay: OutboxRelay | None = None) -> None:
        self.conn = conn
        self._relay = relay  # this process's relay: handed the outbox rows at commit
        self._unwritten: list[tuple[Event, dict[str, str]]] = []
        self._written: list[Written] = []
        self._deferred: dict[str, list[tuple[set[Hashable], list[dict[str, Any]]]]] = {}  # statement -> its rounds of rows
        self._committed: list[Callable[[], None]] = []

    async def publish(self, event: Event) -> None:
        """Publish `event` once this transaction commits (transactional outbox). The outbox rows of a
        transaction are written together by `flush`, just before it commits: one statement, not one per event."""
        self._unwritten.append((event, current_trace_headers()))  # the trace of the work that produced it

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
        leading = self._relay is not None and self._relay.leading
        self._written += await outbox.add(self.conn, self._unwritten, notify=not leading)
        self._unwritten = []

    @classmethod
    @asynccontextmanager
    async def on(cls, conn: asyncpg.Connection, relay: OutboxRelay | None = None) -> AsyncIterator[Tx]:
        """A transaction on `conn` whose published events are written to the outbox before it commits, and handed
        to `relay` (this process's) once it has."""
        async with conn.transaction():
            tx = cls(conn, relay)
            yield tx
            await tx.flush()
        if conn.is_in_transaction():  # a savepoint released, not a commit: whether it holds is the outer one's to say
            return  # (its outbox rows reach the relay by its sweep; its callbacks are not called)
        if relay is not None:
            relay.committed(tx._written)
        for callback in tx._committed:
            callback()


class UnitOfWork:
    def __init__(self, pool: asyncpg.Pool, consumer: str, relay: OutboxRelay | None = None) -> None:
        self.pool = pool
        self.consumer = consumer
        self.relay = relay

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Tx]:
        async with self.pool.acquire() as conn, self.on(conn) as tx:
            yield tx

    def on(self, conn: asyncpg.Connection) -> AbstractAsyncContextManager[Tx]:
        """A transaction on `conn` (acquired from `pool`), its outbox rows handed to this process's relay."""
        return Tx.on(conn, self.relay)

    @asynccontextmanager
    async def once(self, event: Event) -> AsyncIterator[Tx | None]:
        """A transaction that records `event` in the inbox; yields None if it was processed before."""
        async with self.pool.acquire() as conn, self.on(conn) as tx:
            first_time = await conn.fetchval(
                "INSERT INTO inbox (event_id, consumer, topic) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING RETURNING true",
                event.event_id,
                self.consumer,
                event.TOPIC,
            )
            yield tx if first_time else None
