"""One Postgres transaction per unit of work: state change + outbox rows (+ inbox row for a consumed event).

`UnitOfWork.once(event)` is how every consumer handles an event: if this consumer already
processed `event.event_id`, the block is skipped, so redelivery is harmless.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from vprime_shared import outbox
from vprime_shared.contracts.base import Event


class Tx:
    """The open transaction a handler works in."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.published: list[Event] = []

    async def publish(self, event: Event) -> None:
        """Publish `event` once this transaction commits (transactional outbox)."""
        await outbox.add(self.conn, event)
        self.published.append(event)


class UnitOfWork:
    def __init__(self, pool: asyncpg.Pool, consumer: str) -> None:
        self.pool = pool
        self.consumer = consumer

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Tx]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield Tx(conn)

    @asynccontextmanager
    async def once(self, event: Event) -> AsyncIterator[Tx | None]:
        """A transaction that records `event` in the inbox; yields None if it was processed before."""
        async with self.pool.acquire() as conn, conn.transaction():
            first_time = await conn.fetchval(
                "INSERT INTO inbox (event_id, consumer, topic) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING RETURNING true",
                event.event_id,
                self.consumer,
                event.TOPIC,
            )
            yield Tx(conn) if first_time else None
