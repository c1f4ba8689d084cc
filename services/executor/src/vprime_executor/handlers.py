"""The executor: orders placed once, positions run to their close.

An order is recorded (SENDING) before it is sent, and resolved after, so a crash anywhere between leaves at most one
venue order: the venue's client order id is derived from our order id, and `recovery.recover` finds what a crash left
SENDING by that id. Outcomes are FILLED, REJECTED (definitive, with the venue's reason) or FAILED (retryable: it never
reached the venue); an order whose answer was lost stays SENDING, unknown, until the venue says (`mark_unknown`).
Positions open on fill; every tick applies their risk model, and a close goes out reduce-only the same two-phase way:
marked CLOSING with the number of its attempt, then closed by its route, each attempt under a client id of its own.

Every route has an adapter of one protocol, the venue's or PAPER's; `Route.mode` says which, for the records.
Persistence is the `Repository`'s (`adapters.repository`); recovery and reconciliation are modules of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from vprime_shared import ids
from vprime_shared.batches import Received, first_of_each
from vprime_shared.contracts import Execution, ExecutionStatus, MarketTick, Order, Position, PositionState, RiskModel
from vprime_shared.contracts.base import utcnow
from vprime_shared.ids import new_id
from vprime_shared.kafka import retry_transient
from vprime_shared.telemetry import current_trace_headers
from vprime_venues.execution import VenueFill, VenueRefused, VenueUnavailable, VenueUnknown
from vprime_venues.paper.execution import Prices

from vprime_executor.adapters.prices import PriceSnapshot
from vprime_executor.adapters.repository import Repository, Resolution, Store
from vprime_executor.domain.closes import Closing, close_client_id, close_order
from vprime_executor.domain.stops import closes_on_ticks, evaluate, realized_pnl
from vprime_executor.venues import Route, VenueRouter

log = logging.getLogger(__name__)
ORDERS = Counter("vprime_orders_total", "Orders resolved, by venue and outcome", ["venue", "outcome"])
Outcome = VenueFill | VenueRefused | VenueUnavailable
LOOKUP_WINDOW_S = 60.0  # how long an order whose answer was lost is looked up before it counts as never placed, when
                        # its venue does not say (`lookup_window_s` on the adapter)


# ---- orders ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Claimed:
    """An order claimed for sending: the route it takes (a paper one priced at the batch's prices), the trace it
    continues."""

    order: Order
    route: Route
    trace: dict[str, str]


async def claim_orders(repo: Repository, received: list[Received[Order]], venues: VenueRouter,
                       instance_id: uuid.UUID | None = None) -> list[Claimed]:
    """Phase one, for a batch of orders: each recorded SENDING and claimed by this instance, with the batch's inbox rows.
    Returns the orders claimed now, each with the route it will take (the venue with the deployment's signer, or
    paper), and its trace; the prices paper fills use are read once for the batch, before it is claimed. An order
    claimed before (a redelivery, or its event already in the inbox), or twice in the batch, is left out."""
    fresh = first_of_each(received, lambda r: r.event.order_id)
    orders = [r.event for r in fresh]
    routes = await venues.routes((o.deployment_id, o.venue) for o in orders)
    route_of = [routes[(o.deployment_id, o.venue)] for o in orders]
    prices = await repo.prices((o.venue.value, o.instrument) for o, route in zip(orders, route_of, strict=True) if route.paper)
    claimed = await repo.claim(orders, [route.mode for route in route_of], instance_id)
    return [Claimed(r.event, route.priced(prices), r.trace) for r, route in zip(fresh, route_of, strict=True)
            if r.event.order_id in claimed]


async def notional_for(order: Order, route: Route) -> float:
    """Margin from the size model (a share of the account's equity on the route's venue, or fixed USDC), times leverage."""
    margin = order.size_pct if order.size_type == "fixed-usdc" else await route.adapter.equity(route.signer) * order.size_pct / 100
    return margin * order.leverage


async def place_order(order: Order, route: Route) -> Outcome | VenueUnknown:
    try:
        return await route.adapter.place(route.signer, order, await notional_for(order, route), ids.client_order_id(order.order_id))
    except (VenueRefused, VenueUnavailable, VenueUnknown) as exc:
        return exc


async def send_order(store: Store, order: Order, route: Route, resolutions: Resolutions, *,
                     venue_calls: AbstractAsyncContextManager[Any] | None = None, crash: str = "") -> Execution | None:
    """Phase two: send, then resolve (together with whatever else came back meanwhile). The venue call runs
    outside any transaction, inside `venue_calls` (a limit on calls under way at once). The resolution does not
    hold it: a shared transaction resolves whatever came back, and holding a slot until it commits would cap
    that transaction at the limit.

    `crash` is fault injection for the reliability tests: die before the send or between send and record."""
    _crash_if(crash == "before_send", order)
    async with venue_calls or contextlib.nullcontext():
        outcome = await place_order(order, route)
    _crash_if(crash == "after_send", order)
    if isinstance(outcome, VenueUnknown):
        await mark_unknown(store, order, outcome)
        return None
    return await resolutions.resolve(order, outcome, route)


async def mark_unknown(store: Store, order: Order, outcome: VenueUnknown) -> None:
    """The order's answer was lost: it may be on the venue, so it is neither failed nor sent again. It stays
    unresolved (no execution is published, so the router does not fail over) and `recover` looks it up."""
    ORDERS.labels(order.venue.value, "UNKNOWN").inc()
    log.warning("order %s on %s: %s", order.order_id, order.venue.value, outcome)
    await retry_transient(lambda: store.outside.mark_unknown(order.order_id, str(outcome)), "recording an order whose answer was lost")


def _crash_if(crash: bool, order: Order) -> None:
    if crash:
        log.warning("EXECUTOR_CRASH: exiting with order %s recorded and unresolved", order.order_id)
        os._exit(70)


class Resolutions:
    """Outcomes of orders sent side by side, resolved in shared transactions: whatever came back while the
    last transaction ran goes into the next one (one outcome under light load, hundreds under heavy), each
    in its own order's trace. If a shared transaction fails, its outcomes are resolved one by one."""

    def __init__(self, store: Store, venues: VenueRouter, max_batch: int = 500) -> None:
        self.store = store
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
        async with self.store.statement() as repo:  # resolve_all is one statement: its own transaction
            return await resolve_all(repo, [(order, outcome, route, trace) for order, outcome, route, trace, _ in batch], self.venues)

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


async def resolve(repo: Repository, order: Order, outcome: Outcome, route: Route, venues: VenueRouter) -> Execution | None:
    """Record the order's outcome, and open its position on a fill; None if it was resolved already (recovery
    got there first)."""
    [execution] = await resolve_all(repo, [(order, outcome, route, current_trace_headers())], venues)
    return execution


Resolving = tuple[Order, Outcome, Route, dict[str, str]]  # an outcome, with the trace of the order it answers


async def resolve_all(repo: Repository, items: list[Resolving], venues: VenueRouter) -> list[Execution | None]:
    """Record every order's outcome, open a position for every fill, and publish the events of the orders resolved
    now, each in its order's trace (`Repository.resolve`: one statement); for each item its execution, or None if the
    order was resolved already (by recovery, or earlier in the same list)."""
    first: dict[uuid.UUID, int] = {}  # order id -> its first item: a repeat resolves nothing
    for n, (order, *_) in enumerate(items):
        first.setdefault(order.order_id, n)
    answers = {n: _answer(items[n][0], items[n][1], items[n][2], venues) for n in first.values()}
    resolutions = []
    for n in first.values():
        order, _, route, trace = items[n]
        resolutions.append(Resolution(order, *answers[n], mode=route.mode, watched=closes_on_ticks(order.risk_model), trace=trace))
    resolved = await repo.resolve(resolutions)
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
                          venue_order_id=outcome.venue_order_id, reason=f"filled on {'paper' if route.paper else 'the venue'}")
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


# ---- positions ---------------------------------------------------------------------------------
async def tick_received(repo: Repository, tick: MarketTick) -> list[Closing]:
    """Record the price and apply each watched open position's risk model: those it closes are marked CLOSING, each as
    a new close attempt, and returned, to be closed by their routes (`close_positions`) once this commits."""
    await repo.record_price(tick)
    closing = []
    for watched in await repo.watched_positions(tick.venue, tick.instrument):
        position = watched.position
        verdict = evaluate(position.side, position.entry_price, watched.best_price, order_risk(position), tick.mid)
        if verdict.close_reason is None:
            if verdict.best_price != watched.best_price:
                await repo.move_best_price(position.position_id, verdict.best_price)
            continue
        attempt = await repo.start_close(position.position_id, verdict.best_price, verdict.close_reason)
        closing.append(Closing(position, verdict.close_reason, attempt))
    return closing


def tick_prices(tick: MarketTick) -> Prices:
    """The tick's price, for paper closes: a position closes at the tick that closed it."""
    return PriceSnapshot({(tick.venue.upper(), tick.instrument.upper()): tick.mid})


def order_risk(position: Position) -> RiskModel:
    return RiskModel.model_validate(position.extra.get("risk_model") or {"type": "none"})


async def close_positions(store: Store, venues: VenueRouter, closing: list[Closing], *, at: Prices | None = None,
                          look_up_first: bool = False) -> list[Position]:
    """Close each position reduce-only by the route it was opened on (paper ones at `at`, if given), its attempt under
    its own client id, and record the closes that filled, together; returns them. A refused close leaves the position
    open and no longer closing, for the next tick to close as a new attempt; one the venue did not answer stays
    CLOSING, for recovery. `look_up_first`: an earlier send of the attempt may have reached the venue with its answer
    lost; the venue is asked about it by its client id first, and its fill recorded if it filled, so the position is
    never closed twice nor left open in our books while closed on the venue."""
    routes = await venues.recorded_routes((c.position.deployment_id, c.position.venue, position_mode(c.position)) for c in closing)
    outcomes = await asyncio.gather(*(
        _close(routes[(c.position.deployment_id, c.position.venue, position_mode(c.position))], c, at, look_up_first)
        for c in closing))
    for c, outcome in zip(closing, outcomes, strict=True):
        if isinstance(outcome, VenueRefused):
            await store.outside.release_close(c.position.position_id)
    filled = [(c, outcome) for c, outcome in zip(closing, outcomes, strict=True) if isinstance(outcome, VenueFill)]
    if not filled:
        return []
    closed = []
    async with store.begin() as repo:
        for c, fill in filled:
            done = closed_position(c, fill)
            if await repo.close_position(done):
                await repo.publish(done)
                closed.append(done)
    return closed


def position_mode(position: Position) -> str:
    return str(position.extra.get("mode", "venue"))


async def _close(route: Route | None, closing: Closing, at: Prices | None, look_up_first: bool) -> VenueFill | VenueRefused | None:
    """One close attempt by `route`: its fill, the venue's refusal, or None (not done: recovery tries again)."""
    position = closing.position
    if route is None:
        log.error("position %s trades on %s but its agent key is gone; left CLOSING", position.position_id, position.venue.value)
        return None
    if at is not None:
        route = route.priced(at)
    client_id = close_client_id(position.position_id, closing.attempt)
    try:
        fill = await route.adapter.status(route.signer, close_order(closing), client_id) if look_up_first else None
        return fill or await route.adapter.close(route.signer, position, client_id)
    except (VenueUnavailable, VenueUnknown) as exc:
        log.warning("close %d of %s not done (%s); retried by recovery", closing.attempt, position.position_id, exc)
        return None
    except VenueRefused as exc:
        log.error("close %d of %s refused: %s", closing.attempt, position.position_id, exc)
        return exc


def closed_position(closing: Closing, fill: VenueFill) -> Position:
    """The position as `fill` closed it."""
    position = closing.position
    fees = position.fees_usd + fill.fee_usd
    return position.model_copy(update={
        "event_id": new_id(), "occurred_at": utcnow(), "state": PositionState.CLOSED, "exit_price": fill.price, "fees_usd": fees,
        "realized_pnl_usd": realized_pnl(position.side, position.entry_price, fill.price, position.qty, fees),
        "closed_at": utcnow(), "close_reason": closing.reason,
    })
