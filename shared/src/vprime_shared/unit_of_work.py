"""One Postgres transaction per unit of work: state change + outbox rows (+ inbox row for a consumed event).

`UnitOfWork.once(event)` is how every consumer handles an event: if this consumer already
processed `event.event_id`, the block is skipped, so redelivery is harmless.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from contextlib import asynccontextmanager

import asyncpg

from vprime_shared import outbox
from vprime_shared.contracts.base import Event
from vprime_shared.telemetry import current_trace_headers


class Tx:
    """The open transaction a handler works in."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._unwritten: list[tuple[Event, dict[str, str]]] = []
        self._deferred: dict[str, list[tuple[Any, ...]]] = {}

    async def publish(self, event: Event) -> None:
        """Publish `event` once this transaction commits (transactional outbox). The outbox rows of a
        transaction are written together by `flush`, just before it commits: one statement, not one per event."""
        self._unwritten.append((event, current_trace_headers()))  # the trace of the work that produced it

    def defer(self, statement: str, *args: Any) -> None:
        """Run `statement` (a write whose result nobody reads) at `flush`, with every other run of it in this
        transaction: one pipelined `executemany` per statement, in the order they were deferred."""
        self._deferred.setdefault(statement, []).append(args)

    async def flush(self) -> None:
        for statement, runs in self._deferred.items():
            await self.conn.executemany(statement, runs)
        self._deferred = {}
        await outbox.add(self.conn, self._unwritten)
        self._unwritten = []

    @classmethod
    @asynccontextmanager
    async def on(cls, conn: asyncpg.Connection) -> AsyncIterator[Tx]:
        """A transaction on `conn` whose published events are written to the outbox before it commits."""
        async with conn.transaction():
            tx = cls(conn)
            yield tx
            await tx.flush()


class UnitOfWork:
    def __init__(self, pool: asyncpg.Pool, consumer: str) -> None:
        self.pool = pool
        self.consumer = consumer

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Tx]:
        async with self.pool.acquire() as conn, Tx.on(conn) as tx:
            yield tx

    @asynccontextmanager
    async def once(self, event: Event) -> AsyncIterator[Tx | None]:
        """A transaction that records `event` in the inbox; yields None if it was processed before."""
        async with self.pool.acquire() as conn, Tx.on(conn) as tx:
            first_time = await conn.fetchval(
                "INSERT INTO inbox (event_id, consumer, topic) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING RETURNING true",
                event.event_id,
                self.consumer,
                event.TOPIC,
            )
            yield tx if first_time else None
