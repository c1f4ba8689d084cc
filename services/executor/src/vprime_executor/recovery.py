"""Orders and closes a crash or a lost answer left unresolved, found again by their client ids.

Each executor instance heartbeats; `recover` takes only orders this instance claimed or ones claimed by an
instance that stopped beating, never one another live instance is sending.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from vprime_shared import ids
from vprime_shared.contracts import Order, Position
from vprime_shared.contracts.base import utcnow
from vprime_shared.unit_of_work import UnitOfWork
from vprime_venues.execution import VenueRefused, VenueUnavailable, VenueUnknown

from vprime_executor.adapters.prices import PriceBook
from vprime_executor.handlers import (
    LOOKUP_WINDOW_S,
    OPEN_POSITIONS,
    Outcome,
    place_order,
    close_on_venue,
    mark_unknown,
    resolve,
)
from vprime_executor.venues import VenueRouter

log = logging.getLogger(__name__)


async def heartbeat(pool: asyncpg.Pool, instance_id: Any) -> None:
    await pool.execute(
        "INSERT INTO instances (instance_id, beat_at) VALUES ($1, now()) ON CONFLICT (instance_id) DO UPDATE SET beat_at = now()",
        instance_id,
    )


async def recover(uow: UnitOfWork, venues: VenueRouter, in_flight: set, grace: timedelta, instance_id: Any = None,
                  dead_after: timedelta = timedelta(seconds=30), resend_within: timedelta = timedelta(minutes=2)) -> int:
    """Resolve orders left SENDING (a crash, or an answer lost), by asking the venue about their client order id; and
    closes left CLOSING. Only orders claimed by this instance or by one that stopped beating: never one another live
    instance is sending.

    Whatever the venue says is recorded: filled (never sent again), refused. While it says the order is in flight,
    or does not answer, it is asked again next round. An order whose answer was lost and that the venue does not know
    fails (retryable: the router may fail over) only once the venue's lookup window has passed since. One a crash
    kept from the venue is sent now, as the crashed sender would have (same client order id), so a crash changes no
    outcome; unless it is older than `resend_within`, when the market it was priced for is gone and it fails
    instead."""
    rows = await uow.pool.fetch(
        """SELECT o.payload, o.claimed_by, o.unknown_since FROM orders o LEFT JOIN instances i ON i.instance_id = o.claimed_by
           WHERE o.status = 'SENDING' AND o.payload IS NOT NULL AND o.created_at < $1
             AND (o.claimed_by IS NULL OR o.claimed_by = $2 OR i.beat_at IS NULL OR i.beat_at < $3)""",
        utcnow() - grace, instance_id, utcnow() - dead_after,
    )
    resolved = 0
    for row in rows:
        order = Order.model_validate(row["payload"])
        if order.order_id in in_flight:
            continue
        if row["claimed_by"] != instance_id and not await uow.pool.fetchval(
            # Take the order over first, so that of several instances recovering at once only one acts on it.
            "UPDATE orders SET claimed_by = $2 WHERE order_id = $1 AND status = 'SENDING' "
            "AND claimed_by IS NOT DISTINCT FROM $3 RETURNING true", order.order_id, instance_id, row["claimed_by"],
        ):
            continue
        route = await venues.route(uow.pool, order.deployment_id, order.venue)
        outcome: Outcome | VenueUnknown
        if route.adapter is None:
            outcome = await place_order(order, route, venues, PriceBook(uow.pool))  # paper has no venue side: fill it now
        else:
            assert route.signer is not None
            try:
                found = await route.adapter.status(route.signer, order, ids.client_order_id(order.order_id))
            except (VenueUnavailable, VenueUnknown):
                continue  # ask again next round
            except VenueRefused as exc:
                found = exc  # type: ignore[assignment]
            window = timedelta(seconds=getattr(route.adapter, "lookup_window_s", LOOKUP_WINDOW_S))
            if found is not None:
                outcome = found
            elif row["unknown_since"] is not None:
                if utcnow() - row["unknown_since"] < window:
                    continue  # it may still show up on the venue
                outcome = VenueUnavailable(f"{order.venue.value}: the order's answer was lost and the venue has not known it "
                                           f"for {window.total_seconds():g} s: it never reached the venue")
            elif utcnow() - order.occurred_at <= resend_within:
                outcome = await place_order(order, route, venues, PriceBook(uow.pool))
            else:
                outcome = VenueUnavailable(f"{order.venue.value}: the order never reached the venue and is too old to send now")
        if isinstance(outcome, VenueUnknown):  # sent again, and again no answer
            await mark_unknown(uow, order, outcome)
            continue
        async with uow.begin() as tx:
            if await resolve(tx, order, outcome, route, venues):
                resolved += 1
                log.warning("recovered order %s after a restart: %s", order.order_id, type(outcome).__name__)
    resolved += await _finish_closes(uow, venues, utcnow() - grace)
    return resolved


async def _finish_closes(uow: UnitOfWork, venues: VenueRouter, before: datetime) -> int:
    rows = await uow.pool.fetch(
        "SELECT payload, close_reason FROM positions WHERE state = 'OPEN' AND closing_since IS NOT NULL AND closing_since < $1", before
    )
    done = 0
    for row in rows:
        if await close_on_venue(uow, venues, Position.model_validate(row["payload"]), row["close_reason"] or "recovered close",
                                look_up_first=True):
            done += 1
    return done


async def count_open_positions(pool: asyncpg.Pool) -> None:
    """The open-positions gauge. It reads every open position (about 100 ms with 47,000 open), so it runs with
    reconciliation rather than with each recovery round."""
    for row in await pool.fetch("SELECT venue, count(*) AS n FROM positions WHERE state = 'OPEN' GROUP BY venue"):
        OPEN_POSITIONS.labels(row["venue"]).set(row["n"])
