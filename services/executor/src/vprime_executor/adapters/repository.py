"""Persistence for the executor (the `executor` schema): orders, positions, prices, and what recovery and
reconciliation read. `Repository` is what the handlers need; `PostgresRepository` keeps it in Postgres, and a test
may hand the handlers an in-memory one instead. A `Store` opens repositories: on their own (`outside`: each call its
own statement), in a transaction (`begin`), or in one statement that is its own transaction (`statement`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from vprime_shared import ids, outbox
from vprime_shared.contracts import Execution, MarketTick, Order, Position, Venue
from vprime_shared.contracts.base import Event
from vprime_shared.telemetry import attached
from vprime_shared.unit_of_work import Inbox, Tx, UnitOfWork
from vprime_venues.paper.execution import Prices

from vprime_executor.adapters.prices import PriceBook
from vprime_executor.domain.closes import Closing


@dataclass(frozen=True, slots=True)
class Resolution:
    """An order's outcome to record: its execution, and on a fill the position it opens (`watched`: a tick can close
    it), published in the order's own trace."""

    order: Order
    execution: Execution
    position: Position | None
    mode: str  # "venue" or "paper"
    watched: bool
    trace: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Watched:
    """An open position a tick may close, with the best price it has seen (its trailing stop's anchor)."""

    position: Position
    best_price: float


@dataclass(frozen=True, slots=True)
class Unresolved:
    """An order left SENDING: by a crash, or with its answer lost (`unknown_since`)."""

    order: Order
    claimed_by: uuid.UUID | None
    unknown_since: datetime | None
    mode: str


class Repository(Protocol):
    async def publish(self, event: Event) -> None:
        """Publish `event` with what this repository's transaction commits."""

    # ---- orders
    async def claim(self, orders: list[Order], modes: list[str], instance_id: uuid.UUID | None) -> set[uuid.UUID]:
        """Record each order SENDING, claimed by `instance_id`, with the batch's inbox rows; the ids claimed now."""

    async def resolve(self, resolutions: list[Resolution]) -> set[uuid.UUID]:
        """Record the outcomes of unresolved orders, open their positions and publish their events; the ids resolved
        now (an order resolved before is left as it is, and its events are not published)."""

    async def mark_unknown(self, order_id: uuid.UUID, reason: str) -> None: ...

    async def unresolved_orders(self, created_before: datetime, instance_id: uuid.UUID | None,
                                dead_before: datetime) -> list[Unresolved]:
        """Orders left SENDING before `created_before`, claimed by nobody, by `instance_id`, or by an instance whose
        last heartbeat is before `dead_before`."""

    async def take_over(self, order_id: uuid.UUID, instance_id: uuid.UUID | None, previous: uuid.UUID | None) -> bool: ...

    async def heartbeat(self, instance_id: uuid.UUID) -> None: ...

    # ---- prices
    async def record_price(self, tick: MarketTick) -> None: ...

    async def prices(self, wanted: Iterable[tuple[str, str]]) -> Prices:
        """The latest prices of (venue, instrument) pairs, read at once."""

    # ---- positions
    async def watched_positions(self, venue: str, instrument: str) -> list[Watched]:
        """Open positions on `instrument` a tick can close, not being closed; locked until the transaction ends."""

    async def move_best_price(self, position_id: uuid.UUID, best_price: float) -> None: ...

    async def start_close(self, position_id: uuid.UUID, best_price: float, reason: str) -> int:
        """Mark the position CLOSING for `reason`; the number of this close attempt (from 1)."""

    async def release_close(self, position_id: uuid.UUID) -> None:
        """The close was refused: the position is open and not closing (the next tick may close it again)."""

    async def close_position(self, closed: Position) -> bool:
        """Record `closed` if the position is still open; False if it was closed before."""

    async def closing_positions(self, before: datetime) -> list[Closing]: ...

    async def open_positions_by_venue(self) -> dict[str, int]: ...

    # ---- reconciliation
    async def keyed_accounts(self) -> list[tuple[uuid.UUID, Venue]]:
        """The (deployment, venue) pairs with an agent key."""

    async def open_venue_positions(self, deployment_id: uuid.UUID, venue: Venue) -> list[Position]: ...

    async def record_difference(self, difference: dict[str, Any]) -> None: ...


class Store(Protocol):
    @property
    def outside(self) -> Repository: ...

    def begin(self) -> AbstractAsyncContextManager[Repository]: ...

    def statement(self) -> AbstractAsyncContextManager[Repository]: ...


class PostgresRepository:
    """The executor's tables, on `conn` (a connection or the pool), inside `tx` when it has one (needed to publish,
    and for the statements that write their own inbox and outbox rows)."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool, tx: Tx | None = None) -> None:
        self.conn = conn
        self.tx = tx

    @classmethod
    def of(cls, tx: Tx) -> PostgresRepository:
        return cls(tx.conn, tx)

    def _in_tx(self) -> Tx:
        assert self.tx is not None, "publishing needs the transaction it is committed with"
        return self.tx

    async def publish(self, event: Event) -> None:
        await self._in_tx().publish(event)

    # ---- orders ------------------------------------------------------------------------------------
    async def claim(self, orders: list[Order], modes: list[str], instance_id: uuid.UUID | None) -> set[uuid.UUID]:
        """One statement with the batch's inbox rows (`tx.inbox`): an order whose event was seen before, or claimed
        before (a redelivery under a new event id), is not claimed."""
        tx = self._in_tx()
        assert tx.inbox is not None, "a batch of orders is claimed in one statement, inbox rows and all"
        row = await self.conn.fetchrow(
            f"""WITH {Inbox.cte(1)},
               claimed AS (
                   INSERT INTO orders (order_id, client_order_id, intent_id, deployment_id, venue, venue_symbol, side, status,
                       payload, mode, claimed_by)
                   SELECT o, c, i, d, v, s, sd, 'SENDING', p::jsonb, m, $13
                   FROM unnest($4::uuid[], $5::text[], $6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[],
                               $12::text[], $14::uuid[]) AS u(o, c, i, d, v, s, sd, p, m, e)
                   WHERE e IN (SELECT event_id FROM fresh)
                   ON CONFLICT (order_id) DO NOTHING RETURNING order_id)
               SELECT {Inbox.FRESH}, (SELECT array_agg(order_id) FROM claimed) AS claimed""",
            *tx.inbox.params(),
            [o.order_id for o in orders], [ids.client_order_id(o.order_id) for o in orders], [o.intent_id for o in orders],
            [o.deployment_id for o in orders], [o.venue.value for o in orders], [o.venue_symbol for o in orders],
            [o.side.value for o in orders], [o.model_dump_json() for o in orders], modes, instance_id,
            [o.event_id for o in orders],
        )
        tx.inbox.record(row)
        return set(row["claimed"] or ())

    async def resolve(self, resolutions: list[Resolution]) -> set[uuid.UUID]:
        """One statement (so it needs no transaction of its own: `UnitOfWork.statement`): every outcome recorded, a
        position opened for every fill, and the events of the orders resolved now written to the outbox, each in its
        order's trace.

        An order is unresolved while it has no `resolved_at` (a constraint keeps that the same as SENDING). The
        statement says so rather than `status = 'SENDING'`: that predicate is also the partial index of orders in
        flight, which the planner would then scan whole and join, and until vacuum that index holds an entry for
        every order resolved since (900 pages a batch at 150 signals/s). By primary key, each order is one lookup."""
        tx = self._in_tx()
        for r in resolutions:
            with attached(r.trace):
                await tx.publish(r.execution, about=r.order.order_id)
                if r.position is not None:
                    await tx.publish(r.position, about=r.order.order_id)
        outgoing = tx.outgoing()
        executions = [r.execution for r in resolutions]
        row = await self.conn.fetchrow(
            f"""WITH outcome AS (
                   SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::float8[]) AS o(order_id, status, reason, price, qty)),
               resolved AS (
                   UPDATE orders SET status = o.status, reason = o.reason, fill_price = o.price, qty = o.qty, resolved_at = now()
                   FROM outcome o WHERE orders.order_id = o.order_id AND orders.resolved_at IS NULL RETURNING orders.order_id),
               opened AS (
                   INSERT INTO positions (position_id, order_id, deployment_id, venue, instrument, side, state, entry_price, qty,
                       notional_usd, opened_at, stop_fraction, best_price, payload, mode, watched)
                   SELECT p.position_id, p.order_id, p.deployment_id, p.venue, p.instrument, p.side, p.state, p.price, p.qty,
                       p.notional, p.opened_at, p.stop, p.price, p.payload::jsonb, p.mode, p.watched
                   FROM unnest($6::uuid[], $7::uuid[], $8::uuid[], $9::text[], $10::text[], $11::text[], $12::text[], $13::float8[],
                       $14::float8[], $15::float8[], $16::timestamptz[], $17::float8[], $18::text[], $19::text[], $20::bool[])
                     AS p(position_id, order_id, deployment_id, venue, instrument, side, state, price, qty, notional, opened_at,
                       stop, payload, mode, watched)
                   JOIN resolved USING (order_id)
                   RETURNING 1),
               {outbox.ctes(21, only="about IN (SELECT order_id::text FROM resolved)")}
               SELECT (SELECT array_agg(order_id) FROM resolved) AS resolved, {outbox.result(notify=tx.notify)}""",
            [r.order.order_id for r in resolutions], [e.status.value for e in executions],
            ["filled" if r.position is not None else r.execution.reason for r in resolutions],
            [e.fill_price for e in executions], [e.qty for e in executions],
            *_position_columns([r for r in resolutions if r.position is not None], outgoing),
            *outgoing.params(),
        )
        tx.wrote(outgoing, row)
        return set(row["resolved"] or ())

    async def mark_unknown(self, order_id: uuid.UUID, reason: str) -> None:
        await self.conn.execute(
            "UPDATE orders SET unknown_since = coalesce(unknown_since, now()), reason = $2 WHERE order_id = $1 AND resolved_at IS NULL",
            order_id, reason)

    async def unresolved_orders(self, created_before: datetime, instance_id: uuid.UUID | None,
                                dead_before: datetime) -> list[Unresolved]:
        rows = await self.conn.fetch(
            """SELECT o.payload, o.claimed_by, o.unknown_since, o.mode FROM orders o LEFT JOIN instances i ON i.instance_id = o.claimed_by
               WHERE o.status = 'SENDING' AND o.payload IS NOT NULL AND o.created_at < $1
                 AND (o.claimed_by IS NULL OR o.claimed_by = $2 OR i.beat_at IS NULL OR i.beat_at < $3)""",
            created_before, instance_id, dead_before,
        )
        return [Unresolved(Order.model_validate(r["payload"]), r["claimed_by"], r["unknown_since"], r["mode"] or "venue")
                for r in rows]

    async def take_over(self, order_id: uuid.UUID, instance_id: uuid.UUID | None, previous: uuid.UUID | None) -> bool:
        return bool(await self.conn.fetchval(
            "UPDATE orders SET claimed_by = $2 WHERE order_id = $1 AND status = 'SENDING' "
            "AND claimed_by IS NOT DISTINCT FROM $3 RETURNING true", order_id, instance_id, previous))

    async def heartbeat(self, instance_id: uuid.UUID) -> None:
        await self.conn.execute(
            "INSERT INTO instances (instance_id, beat_at) VALUES ($1, now()) ON CONFLICT (instance_id) DO UPDATE SET beat_at = now()",
            instance_id)

    # ---- prices ------------------------------------------------------------------------------------
    async def record_price(self, tick: MarketTick) -> None:
        await PriceBook(self.conn).update(tick)

    async def prices(self, wanted: Iterable[tuple[str, str]]) -> Prices:
        return await PriceBook(self.conn).snapshot(wanted)

    # ---- positions ---------------------------------------------------------------------------------
    async def watched_positions(self, venue: str, instrument: str) -> list[Watched]:
        rows = await self.conn.fetch(
            """SELECT best_price, payload FROM positions
               WHERE instrument = $1 AND venue = $2 AND state = 'OPEN' AND watched AND closing_since IS NULL FOR UPDATE""",
            instrument.upper(), venue.upper(),
        )
        return [Watched(Position.model_validate(r["payload"]), r["best_price"]) for r in rows]

    async def move_best_price(self, position_id: uuid.UUID, best_price: float) -> None:
        await self.conn.execute("UPDATE positions SET best_price = $2 WHERE position_id = $1", position_id, best_price)

    async def start_close(self, position_id: uuid.UUID, best_price: float, reason: str) -> int:
        return await self.conn.fetchval(
            """UPDATE positions SET best_price = $2, closing_since = now(), close_reason = $3, close_attempt = close_attempt + 1
               WHERE position_id = $1 RETURNING close_attempt""", position_id, best_price, reason)

    async def release_close(self, position_id: uuid.UUID) -> None:
        await self.conn.execute("UPDATE positions SET closing_since = NULL WHERE position_id = $1 AND state = 'OPEN'", position_id)

    async def close_position(self, closed: Position) -> bool:
        updated = await self.conn.execute(
            """UPDATE positions SET state = 'CLOSED', closed_at = $2, exit_price = $3, realized_pnl_usd = $4, payload = $5,
                   close_reason = $6 WHERE position_id = $1 AND state = 'OPEN'""",
            closed.position_id, closed.closed_at, closed.exit_price, closed.realized_pnl_usd, closed.model_dump(mode="json"),
            closed.close_reason,
        )
        return updated.endswith("1")

    async def closing_positions(self, before: datetime) -> list[Closing]:
        rows = await self.conn.fetch(
            "SELECT payload, close_reason, close_attempt FROM positions WHERE state = 'OPEN' AND closing_since IS NOT NULL "
            "AND closing_since < $1", before)
        return [Closing(Position.model_validate(r["payload"]), r["close_reason"] or "recovered close", max(r["close_attempt"], 1))
                for r in rows]

    async def open_positions_by_venue(self) -> dict[str, int]:
        return {r["venue"]: r["n"] for r in await self.conn.fetch(
            "SELECT venue, count(*) AS n FROM positions WHERE state = 'OPEN' GROUP BY venue")}

    # ---- reconciliation ----------------------------------------------------------------------------
    async def keyed_accounts(self) -> list[tuple[uuid.UUID, Venue]]:
        return [(r["deployment_id"], Venue(r["venue"])) for r in await self.conn.fetch("SELECT deployment_id, venue FROM credentials")]

    async def open_venue_positions(self, deployment_id: uuid.UUID, venue: Venue) -> list[Position]:
        rows = await self.conn.fetch(
            "SELECT payload FROM positions WHERE deployment_id = $1 AND venue = $2 AND state = 'OPEN' AND mode = 'venue'",
            deployment_id, venue.value)
        return [Position.model_validate(r["payload"]) for r in rows]

    async def record_difference(self, difference: dict[str, Any]) -> None:
        d = difference
        await self.conn.execute("INSERT INTO reconciliation (deployment_id, venue, symbol, ours, venue_size) VALUES ($1,$2,$3,$4,$5)",
                                d["deployment_id"], d["venue"], d["symbol"], d["ours"], d["venue_size"])


def _position_columns(opened: list[Resolution], outgoing: outbox.Outgoing) -> list[list[Any]]:
    """The positions table's columns for the positions `opened`, one array each, in `resolve`'s order. A position's
    payload is the JSON its outbox row carries (each opened position is published in the same statement), encoded once."""
    payload = dict(zip((e.event_id for e in outgoing.events), outgoing.payloads, strict=True))
    ps = [r.position for r in opened]
    assert all(p is not None for p in ps)
    return [
        [p.position_id for p in ps], [r.order.order_id for r in opened], [r.order.deployment_id for r in opened],
        [r.order.venue.value for r in opened], [r.order.instrument.upper() for r in opened], [r.order.side.value for r in opened],
        [p.state.value for p in ps], [p.entry_price for p in ps], [p.qty for p in ps], [p.notional_usd for p in ps],
        [p.opened_at for p in ps], [r.order.risk_model.stop for r in opened], [payload[p.event_id].decode() for p in ps],
        [r.mode for r in opened], [r.watched for r in opened],
    ]


class PostgresStore:
    """Repositories on the executor's database, through its unit of work (whose relay takes the outbox rows)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    @property
    def outside(self) -> PostgresRepository:
        return PostgresRepository(self.uow.pool)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[PostgresRepository]:
        async with self.uow.begin() as tx:
            yield PostgresRepository.of(tx)

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[PostgresRepository]:
        async with self.uow.statement() as tx:
            yield PostgresRepository.of(tx)
