"""Orders and closes a crash or a lost answer left unresolved, found again by their client ids.

Each executor instance heartbeats; `recover` takes only orders this instance claimed or ones claimed by an
instance that stopped beating, never one another live instance is sending. An order or a close goes by the route it
was recorded on (`VenueRouter.recorded_routes`): a venue order whose key is gone is left as it is, never filled on paper.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from prometheus_client import Gauge

from vprime_shared import ids
from vprime_shared.contracts.base import utcnow
from vprime_venues.execution import VenueRefused, VenueUnavailable, VenueUnknown

from vprime_executor.adapters.repository import Store, Unresolved
from vprime_executor.handlers import LOOKUP_WINDOW_S, Outcome, close_positions, mark_unknown, place_order, resolve
from vprime_executor.venues import Route, VenueRouter

log = logging.getLogger(__name__)
OPEN_POSITIONS = Gauge("vprime_open_positions", "Open positions, by venue", ["venue"])


async def heartbeat(store: Store, instance_id: uuid.UUID) -> None:
    await store.outside.heartbeat(instance_id)


async def recover(store: Store, venues: VenueRouter, in_flight: set[uuid.UUID], grace: timedelta,
                  instance_id: uuid.UUID | None = None, dead_after: timedelta = timedelta(seconds=30),
                  resend_within: timedelta = timedelta(minutes=2)) -> int:
    """Resolve orders left SENDING (a crash, or an answer lost), by asking their route about their client order id; and
    closes left CLOSING. Only orders claimed by this instance or by one that stopped beating: never one another live
    instance is sending.

    Whatever the venue says is recorded: filled (never sent again), refused. While it says the order is in flight,
    or does not answer, it is asked again next round. An order whose answer was lost and that the venue does not know
    fails (retryable: the router may fail over) only once the venue's lookup window has passed since. One a crash
    kept from the venue is sent now, as the crashed sender would have (same client order id), so a crash changes no
    outcome; unless it is older than `resend_within`, when the market it was priced for is gone and it fails
    instead. (Paper is a route like the others: nothing is on it to find, so a paper order a crash interrupted fills now,
    or fails if it is too old.)"""
    repo = store.outside
    now = utcnow()
    waiting = [u for u in await repo.unresolved_orders(now - grace, instance_id, now - dead_after) if u.order.order_id not in in_flight]
    routes = await venues.recorded_routes((u.order.deployment_id, u.order.venue, u.mode) for u in waiting)
    resolved = 0
    for u in waiting:
        order = u.order
        # Take the order over first, so that of several instances recovering at once only one acts on it.
        if u.claimed_by != instance_id and not await repo.take_over(order.order_id, instance_id, u.claimed_by):
            continue
        route = routes[(order.deployment_id, order.venue, u.mode)]
        if route is None:
            log.error("order %s was sent to %s, whose agent key is gone; left unresolved", order.order_id, order.venue.value)
            continue
        outcome = await _look_up(u, route, resend_within)
        if outcome is None:
            continue  # ask again next round
        if isinstance(outcome, VenueUnknown):  # sent again, and again no answer
            await mark_unknown(store, order, outcome)
            continue
        async with store.begin() as tx_repo:
            if await resolve(tx_repo, order, outcome, route, venues):
                resolved += 1
                log.warning("recovered order %s after a restart: %s", order.order_id, type(outcome).__name__)
    resolved += await _finish_closes(store, venues, utcnow() - grace)
    return resolved


async def _look_up(u: Unresolved, route: Route, resend_within: timedelta) -> Outcome | VenueUnknown | None:
    """What became of an unresolved order, by its route: its outcome, or None while that is not known yet."""
    order = u.order
    try:
        found = await route.adapter.status(route.signer, order, ids.client_order_id(order.order_id))
    except (VenueUnavailable, VenueUnknown):
        return None
    except VenueRefused as exc:
        return exc
    if found is not None:
        return found
    if u.unknown_since is not None:
        window = timedelta(seconds=getattr(route.adapter, "lookup_window_s", LOOKUP_WINDOW_S))
        if utcnow() - u.unknown_since < window:
            return None  # it may still show up on the venue
        return VenueUnavailable(f"{order.venue.value}: the order's answer was lost and the venue has not known it "
                                f"for {window.total_seconds():g} s: it never reached the venue")
    if utcnow() - order.occurred_at <= resend_within:
        return await place_order(order, route)
    return VenueUnavailable(f"{order.venue.value}: the order never reached the venue and is too old to send now")


async def _finish_closes(store: Store, venues: VenueRouter, before: datetime) -> int:
    """Closes left CLOSING: the attempt in flight is looked up by its client id, then sent if the venue has not got it."""
    closing = await store.outside.closing_positions(before)
    return len(await close_positions(store, venues, closing, look_up_first=True)) if closing else 0


async def count_open_positions(store: Store) -> None:
    """The open-positions gauge. It reads every open position (about 100 ms with 47,000 open), so it runs with
    reconciliation rather than with each recovery round."""
    for venue, n in (await store.outside.open_positions_by_venue()).items():
        OPEN_POSITIONS.labels(venue).set(n)
