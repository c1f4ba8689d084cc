"""The executor: orders placed once, positions run to their close.

An order is recorded (SENDING) in one transaction before it is sent, and resolved in another after,
so a crash anywhere between leaves at most one venue order: the venue's client order id is derived
from our order id, and `recovery.recover` finds what a crash left SENDING by that id. Outcomes are
FILLED, REJECTED (definitive, with the venue's reason) or FAILED (retryable: it never reached the
venue); an order whose answer was lost stays SENDING, unknown, until the venue says (`mark_unknown`).
Positions open on fill; every tick applies their risk model and a close goes out reduce-only the same
two-phase way. Reconciliation is in `reconciliation`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Gauge

from vprime_shared import ids, outbox
from vprime_shared.contracts import (
    Execution,
    ExecutionStatus,
    MarketTick,
    Order,
    Position,
    PositionState,
    RiskModel,
    Side,
)
from vprime_shared.batches import Received, first_of_each
from vprime_shared.contracts.base import utcnow
from vprime_shared.ids import new_id
from vprime_shared.kafka import retry_transient
from vprime_shared.telemetry import attached, current_trace_headers
from vprime_shared.unit_of_work import Inbox, Tx, UnitOfWork

from vprime_venues.execution import VenueFill, VenueRefused, VenueUnavailable, VenueUnknown, entry_fee_bps
from vprime_venues.paper.execution import NoPrice, Prices

from vprime_executor.adapters.prices import PriceBook
from vprime_executor.domain.stops import closes_on_ticks, evaluate, realized_pnl
from vprime_executor.venues import Route, VenueRouter

log = logging.getLogger(__name__)
ORDERS = Counter("vprime_orders_total", "Orders resolved, by venue and outcome", ["venue", "outcome"])
OPEN_POSITIONS = Gauge("vprime_open_positions", "Open positions, by venue", ["venue"])
Outcome = VenueFill | VenueRefused | VenueUnavailable | NoPrice
LOOKUP_WINDOW_S = 60.0  # how long an order whose answer was lost is looked up before it counts as never placed, when
                        # its venue does not say (`lookup_window_s` on the adapter)


def close_client_id(position_id: Any) -> str:
    return ids.client_order_id(ids.derived_id("close", position_id))


# ---- orders ------------------------------------------------------------------------------------
async def claim_orders(tx: Tx, received: list[Received[Order]], venues: VenueRouter,
                       instance_id: Any = None) -> list[Claimed]:
    """Phase one, for a batch of orders: each recorded SENDING and claimed by this instance, with the batch's inbox
    rows (`tx.inbox`), in one statement, which is its transaction. Returns the orders claimed now, each with the
    route it will take (paper, or the venue with the deployment's signer), its trace, and for paper the prices it
    fills at; all of them read for the batch before it is claimed. An order claimed before (a redelivery, or its
    event already in the inbox), or twice in the batch, is left out."""
    assert tx.inbox is not None, "a batch of orders is claimed in one statement, inbox rows and all"
    fresh = first_of_each(received, lambda r: r.event.order_id)
    orders = [r.event for r in fresh]
    routes = await venues.routes(tx.conn, [(o.deployment_id, o.venue) for o in orders])
    route_of = [routes[(o.deployment_id, o.venue)] for o in orders]
    prices = await PriceBook(tx.conn).snapshot((o.venue.value, o.instrument) for o, route in zip(orders, route_of, strict=True)
                                               if route.adapter is None)
    row = await tx.conn.fetchrow(
        f"""WITH {Inbox.cte(1)},
           claimed AS (
               INSERT INTO orders (order_id, client_order_id, intent_id, deployment_id, venue, venue_symbol, side, status, payload,
                   mode, claimed_by)
               SELECT o, c, i, d, v, s, sd, 'SENDING', p::jsonb, m, $13
               FROM unnest($4::uuid[], $5::text[], $6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[],
                           $12::text[], $14::uuid[]) AS u(o, c, i, d, v, s, sd, p, m, e)
               WHERE e IN (SELECT event_id FROM fresh)
               ON CONFLICT (order_id) DO NOTHING RETURNING order_id)
           SELECT {Inbox.FRESH}, (SELECT array_agg(order_id) FROM claimed) AS claimed""",
        *tx.inbox.params(),
        [o.order_id for o in orders], [ids.client_order_id(o.order_id) for o in orders], [o.intent_id for o in orders],
        [o.deployment_id for o in orders], [o.venue.value for o in orders], [o.venue_symbol for o in orders],
        [o.side.value for o in orders], [o.model_dump_json() for o in orders],
        [route.mode for route in route_of], instance_id, [o.event_id for o in orders],
    )
    tx.inbox.record(row)
    claimed = set(row["claimed"] or ())
    return [Claimed(r.event, route, r.trace, prices) for r, route in zip(fresh, route_of, strict=True) if r.event.order_id in claimed]


@dataclass(frozen=True, slots=True)
class Claimed:
    """An order claimed for sending: the route it takes, the trace it continues, the prices a paper fill uses."""

    order: Order
    route: Route
    trace: dict[str, str]
    prices: Prices


async def notional_for(order: Order, route: Route, venues: VenueRouter) -> float:
    """Margin from the size model (a share of the account's equity on that venue, or fixed USDC), times leverage."""
    if order.size_type == "fixed-usdc":
        margin = order.size_pct
    else:
        equity = await route.adapter.equity(route.signer) if route.adapter and route.signer else venues.settings.paper_equity_usd
        margin = equity * order.size_pct / 100
    return margin * order.leverage


async def send_order(uow: UnitOfWork, order: Order, route: Route, venues: VenueRouter, resolutions: Resolutions, *,
                     prices: Prices | None = None, venue_calls: AbstractAsyncContextManager[Any] | None = None,
                     crash: str = "") -> Execution | None:
    """Phase two: send, then resolve (together with whatever else came back meanwhile). The venue call runs
    outside any transaction, inside `venue_calls` (a limit on calls under way at once). The resolution does not
    hold it: a shared transaction resolves whatever came back, and holding a slot until it commits would cap
    that transaction at the limit.

    `crash` is fault injection for the reliability tests: die before the send or between send and record."""
    _crash_if(crash == "before_send", order)
    async with venue_calls or contextlib.nullcontext():
        outcome = await place_order(order, route, venues, prices or PriceBook(uow.pool))
    _crash_if(crash == "after_send", order)
    if isinstance(outcome, VenueUnknown):
        await mark_unknown(uow, order, outcome)
        return None
    return await resolutions.resolve(order, outcome, route)


async def mark_unknown(uow: UnitOfWork, order: Order, outcome: VenueUnknown) -> None:
    """The order's answer was lost: it may be on the venue, so it is neither failed nor sent again. It stays
    unresolved (no execution is published, so the router does not fail over) and `recover` looks it up."""
    ORDERS.labels(order.venue.value, "UNKNOWN").inc()
    log.warning("order %s on %s: %s", order.order_id, order.venue.value, outcome)
    await retry_transient(lambda: uow.pool.execute(
        "UPDATE orders SET unknown_since = coalesce(unknown_since, now()), reason = $2 WHERE order_id = $1 AND resolved_at IS NULL",
        order.order_id, str(outcome)), "recording an order whose answer was lost")


class Resolutions:
    """Outcomes of orders sent side by side, resolved in shared transactions: whatever came back while the
    last transaction ran goes into the next one (one outcome under light load, hundreds under heavy), each
    in its own order's trace. If a shared transaction fails, its outcomes are resolved one by one."""

    def __init__(self, uow: UnitOfWork, venues: VenueRouter, max_batch: int = 500) -> None:
        self.uow = uow
        self.venues = venues
        self.max_batch = max_batch
        self._waiting: list[tuple[Order, Outcome, Route, dict[str, str], asyncio.Future[Execution | None]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def resolve(self, order: Order, outcome: Outcome, route: Route) -> Execution | None:
        done: asyncio.Future[Execution | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((order, outcome, route, current_trace_headers(), done))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="order-resolutions")
        return await asyncio.shield(done)  # a cancelled sender does not cancel the resolution

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:self.max_batch], self._waiting[self.max_batch:]
            try:
                results = await retry_transient(lambda b=batch: self._together(b), "resolving orders")
            except Exception:  # noqa: BLE001 - find the outcome that fails: alone, the rest still resolve
                log.warning("resolving %d orders together failed; resolving them one by one", len(batch))
                for item in batch:
                    await self._alone(item)
            else:
                for (*_, done), execution in zip(batch, results, strict=True):
                    if not done.done():
                        done.set_result(execution)

    async def _together(self, batch: list[Any]) -> list[Execution | None]:
        async with self.uow.statement() as tx:  # resolve_all is one statement: its own transaction
            return await resolve_all(tx, [(order, outcome, route, trace_headers) for order, outcome, route, trace_headers, _ in batch],
                                     self.venues)

    async def _alone(self, item: Any) -> None:
        done = item[-1]
        try:
            [execution] = await self._together([item])
        except Exception as exc:  # noqa: BLE001 - left SENDING: recovery resolves it later
            if not done.done():
                done.set_exception(exc)
        else:
            if not done.done():
                done.set_result(execution)


def _crash_if(crash: bool, order: Order) -> None:
    if crash:
        log.warning("EXECUTOR_CRASH: exiting with order %s recorded and unresolved", order.order_id)
        os._exit(70)


async def place_order(order: Order, route: Route, venues: VenueRouter, prices: Prices) -> Outcome | VenueUnknown:
    cid = ids.client_order_id(order.order_id)
    try:
        notional = await notional_for(order, route, venues)
        if route.adapter is None:
            fill, venue_order_id = await venues.paper(prices).place_order(order)
            return VenueFill(fill.price, fill.qty, fill.notional_usd, fill.fee_usd, venue_order_id)
        assert route.signer is not None
        return await route.adapter.place(route.signer, order, notional, cid)
    except (VenueRefused, VenueUnavailable, VenueUnknown, NoPrice) as exc:
        return exc


async def resolve(tx: Tx, order: Order, outcome: Outcome, route: Route, venues: VenueRouter) -> Execution | None:
    """Record the order's outcome, and open its position on a fill; None if it was resolved already (recovery
    got there first)."""
    [execution] = await resolve_all(tx, [(order, outcome, route, current_trace_headers())], venues)
    return execution


Resolving = tuple[Order, Outcome, Route, dict[str, str]]  # an outcome, with the trace of the order it answers


async def resolve_all(tx: Tx, items: list[Resolving], venues: VenueRouter) -> list[Execution | None]:
    """Record every order's outcome, open a position for every fill, and write the events of the orders resolved
    now to the outbox, in one statement (so it needs no transaction of its own: `UnitOfWork.statement`); for each
    item its execution, or None if the order was resolved already (by recovery, or earlier in the same list). Each
    order's events are published in its own trace.

    An order is unresolved while it has no `resolved_at` (a constraint keeps that the same as SENDING). The
    statement says so rather than `status = 'SENDING'`: that predicate is also the partial index of orders in
    flight, which the planner would then scan whole and join, and until vacuum that index holds an entry for
    every order resolved since (900 pages a batch at 150 signals/s). By primary key, each order is one lookup."""
    first: dict[uuid.UUID, int] = {}  # order id -> its first item: a repeat resolves nothing
    for n, (order, *_) in enumerate(items):
        first.setdefault(order.order_id, n)
    todo = list(first.values())
    answers = {n: _answer(items[n][0], items[n][1], items[n][2], venues) for n in todo}
    fills = [n for n in todo if answers[n][1] is not None]
    for n in todo:
        with attached(items[n][3]):
            for event in answers[n]:
                if event is not None:
                    await tx.publish(event, about=items[n][0].order_id)
    outgoing = tx.outgoing()
    row = await tx.conn.fetchrow(
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
        [items[n][0].order_id for n in todo], [answers[n][0].status.value for n in todo],
        ["filled" if answers[n][1] is not None else answers[n][0].reason for n in todo],
        [answers[n][0].fill_price for n in todo], [answers[n][0].qty for n in todo],
        *_position_columns([(items[n][0], items[n][2], answers[n][1]) for n in fills], outgoing),  # type: ignore[misc]
        *outgoing.params(),
    )
    tx.wrote(outgoing, row)
    resolved = set(row["resolved"] or ())
    results: list[Execution | None] = []
    for n, (order, _, route, _) in enumerate(items):
        if first[order.order_id] != n or order.order_id not in resolved:
            results.append(None)
            continue
        execution = answers[n][0]
        ORDERS.labels(order.venue.value, execution.status.value).inc()
        log.info("order %s on %s (%s): %s: %s", order.order_id, order.venue.value, route.mode, execution.status.value, execution.reason)
        results.append(execution)
    return results


def _answer(order: Order, outcome: Outcome, route: Route, venues: VenueRouter) -> tuple[Execution, Position | None]:
    """What the venue's answer means: the order's execution and, on a fill, the position it opens."""
    base = dict(order_id=order.order_id, intent_id=order.intent_id, signal_id=order.signal_id, deployment_id=order.deployment_id,
                venue=order.venue, client_order_id=ids.client_order_id(order.order_id), attempt=order.attempt)
    if not isinstance(outcome, VenueFill):
        unavailable = isinstance(outcome, VenueUnavailable)
        status = ExecutionStatus.FAILED if unavailable else ExecutionStatus.REJECTED
        return Execution(**base, status=status, retryable=unavailable,
                         venue_specific=unavailable or getattr(outcome, "venue_specific", False), reason=str(outcome)), None
    execution = Execution(**base, status=ExecutionStatus.FILLED, fill_price=outcome.price, qty=outcome.qty, fee=outcome.fee_usd,
                          venue_order_id=outcome.venue_order_id, reason=f"filled on {'the venue' if route.mode == 'venue' else 'paper'}")
    position = Position(
        position_id=ids.position_id(order.order_id), order_id=order.order_id, intent_id=order.intent_id, signal_id=order.signal_id,
        agent_id=order.agent_id, deployment_id=order.deployment_id, venue=order.venue, venue_symbol=order.venue_symbol,
        instrument=order.instrument, side=order.side, state=PositionState.OPEN, entry_price=outcome.price, qty=outcome.qty,
        notional_usd=outcome.notional_usd, size_pct=order.size_pct, equity_usd=venues.settings.paper_equity_usd,
        leverage=order.leverage, fees_usd=outcome.fee_usd, opened_at=utcnow(),
        extra={"mode": route.mode, "contract_multiplier": order.contract_multiplier, "risk_model": order.risk_model.model_dump(),
               **({"trade_id": outcome.trade_id} if outcome.trade_id else {})},
    )
    return execution, position


def _position_columns(opened: list[tuple[Order, Route, Position]], outgoing: outbox.Outgoing) -> list[list[Any]]:
    """The positions table's columns for `opened`, one array each, in resolve_all's order. A position's payload is
    the JSON its outbox row carries (each opened position is published in the same statement), encoded once."""
    payload = dict(zip((e.event_id for e in outgoing.events), outgoing.payloads, strict=True))
    return [
        [p.position_id for _, _, p in opened], [o.order_id for o, _, _ in opened], [o.deployment_id for o, _, _ in opened],
        [o.venue.value for o, _, _ in opened], [o.instrument.upper() for o, _, _ in opened], [o.side.value for o, _, _ in opened],
        [p.state.value for _, _, p in opened], [p.entry_price for _, _, p in opened], [p.qty for _, _, p in opened],
        [p.notional_usd for _, _, p in opened], [p.opened_at for _, _, p in opened], [o.risk_model.stop for o, _, _ in opened],
        [payload[p.event_id].decode() for _, _, p in opened], [r.mode for _, r, _ in opened], [closes_on_ticks(o.risk_model) for o, _, _ in opened],
    ]


# ---- positions ---------------------------------------------------------------------------------
async def tick_received(tx: Tx, tick: MarketTick, venues: VenueRouter) -> list[tuple[Position, str]]:
    """Record the price, apply each open position's risk model; paper positions close at the tick, venue
    positions are marked CLOSING and returned, to be closed on the venue reduce-only."""
    await PriceBook(tx.conn).update(tick)
    rows = await tx.conn.fetch(
        """SELECT position_id, best_price, payload, mode FROM positions
           WHERE instrument = $1 AND venue = $2 AND state = 'OPEN' AND watched AND closing_since IS NULL FOR UPDATE""",
        tick.instrument.upper(), tick.venue.upper(),
    )
    to_close = []
    for row in rows:
        position = Position.model_validate(row["payload"])
        risk = order_risk(position)
        verdict = evaluate(position.side, position.entry_price, row["best_price"], risk, tick.mid)
        if verdict.close_reason is None:
            if verdict.best_price != row["best_price"]:
                await tx.conn.execute("UPDATE positions SET best_price = $2 WHERE position_id = $1", row["position_id"], verdict.best_price)
            continue
        if row["mode"] == "venue":
            await tx.conn.execute("UPDATE positions SET best_price = $2, closing_since = now(), close_reason = $3 WHERE position_id = $1",
                                  row["position_id"], verdict.best_price, verdict.close_reason)
            to_close.append((position, verdict.close_reason))
            continue
        exit_price, exit_fee = venues.paper(PriceBook(tx.conn)).exit_fill(position, tick.mid)
        await _record_close(tx, position, exit_price, exit_fee, verdict.close_reason, tick.ts)
    return to_close


def order_risk(position: Position) -> RiskModel:
    return RiskModel.model_validate(position.extra.get("risk_model") or {"type": "none"})


def close_order(position: Position) -> Order:
    """The reduce-only order that closes `position`, as the venue knows it (by `close_client_id`): for looking it up."""
    return Order(order_id=ids.derived_id("close", position.position_id), intent_id=position.intent_id,
                 signal_id=position.signal_id, agent_id=position.agent_id, deployment_id=position.deployment_id,
                 venue=position.venue, venue_symbol=position.venue_symbol, instrument=position.instrument,
                 contract_multiplier=float(position.extra.get("contract_multiplier", 1.0)),
                 side=Side.SHORT if position.side is Side.LONG else Side.LONG, size_pct=position.size_pct,
                 leverage=position.leverage, taker_fee_bps=entry_fee_bps(position), risk_model=RiskModel(type="none"))


async def close_on_venue(uow: UnitOfWork, venues: VenueRouter, position: Position, reason: str, *,
                         look_up_first: bool = False) -> Position | None:
    """Close `position` reduce-only on its venue and record it. `look_up_first`: an earlier close may have reached the
    venue with its answer lost; the venue is asked about it by its client id first, and its fill recorded if it
    filled, so the position is never closed twice nor left open in our books while closed on the venue."""
    route = await venues.route(uow.pool, position.deployment_id, position.venue)
    if route.adapter is None or route.signer is None:
        log.error("position %s trades on %s but its agent key is gone; left CLOSING", position.position_id, position.venue)
        return None
    client_id = close_client_id(position.position_id)
    try:
        fill = await route.adapter.status(route.signer, close_order(position), client_id) if look_up_first else None
        if fill is None:
            fill = await route.adapter.close(route.signer, position, client_id)
    except (VenueUnavailable, VenueUnknown) as exc:
        log.warning("close of %s not done (%s); retried by recovery", position.position_id, exc)
        return None
    except VenueRefused as exc:
        log.error("close of %s refused: %s", position.position_id, exc)
        async with uow.begin() as tx:
            await tx.conn.execute("UPDATE positions SET closing_since = NULL WHERE position_id = $1", position.position_id)
        return None
    async with uow.begin() as tx:
        return await _record_close(tx, position, fill.price, fill.fee_usd, reason, utcnow())


async def _record_close(tx: Tx, position: Position, exit_price: float, exit_fee: float, reason: str, at: datetime) -> Position | None:
    fees = position.fees_usd + exit_fee
    pnl = realized_pnl(position.side, position.entry_price, exit_price, position.qty, fees)
    done = position.model_copy(update={
        "event_id": new_id(), "occurred_at": utcnow(), "state": PositionState.CLOSED, "exit_price": exit_price, "fees_usd": fees,
        "realized_pnl_usd": pnl, "closed_at": at, "close_reason": reason,
    })
    updated = await tx.conn.execute(
        """UPDATE positions SET state = 'CLOSED', closed_at = $2, exit_price = $3, realized_pnl_usd = $4, payload = $5,
               close_reason = $6 WHERE position_id = $1 AND state = 'OPEN'""",
        position.position_id, at, exit_price, pnl, done.model_dump(mode="json"), reason,
    )
    if not updated.endswith("1"):
        return None
    await tx.publish(done)
    return done
