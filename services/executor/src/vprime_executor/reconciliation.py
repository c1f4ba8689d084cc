"""Reconciliation: the venues' positions against ours, per deployment and venue with a key. Differences are
recorded and reported (log and metric), never covered up by inventing trades."""

from __future__ import annotations

import logging
from typing import Any

from vprime_shared.contracts import Side
from vprime_venues.execution import VenueUnavailable

from vprime_executor.adapters.repository import Repository
from vprime_executor.venues import VenueRouter

log = logging.getLogger(__name__)


async def reconcile(repo: Repository, venues: VenueRouter) -> list[dict[str, Any]]:
    """Venue positions against ours, per deployment and venue with a key that trades there (a key for a venue the
    executor does not reach trades on paper, which has no account of its own to compare)."""
    differences = []
    for deployment_id, venue in await repo.keyed_accounts():
        route = await venues.route(deployment_id, venue)
        if route.paper:
            continue
        try:
            theirs = await route.adapter.positions(route.signer)
        except VenueUnavailable:
            continue
        ours: dict[str, float] = {}
        for p in await repo.open_venue_positions(deployment_id, venue):
            units = p.qty / float(p.extra.get("contract_multiplier", 1.0))
            ours[p.venue_symbol] = ours.get(p.venue_symbol, 0.0) + (units if p.side is Side.LONG else -units)
        for symbol in ours.keys() | theirs.keys():
            a, b = ours.get(symbol, 0.0), theirs.get(symbol, 0.0)
            if abs(a - b) > max(1e-9, 1e-6 * max(abs(a), abs(b))):
                differences.append({"deployment_id": deployment_id, "venue": venue.value, "symbol": symbol, "ours": a, "venue_size": b})
    for d in differences:
        await repo.record_difference(d)
        log.error("reconciliation: %s %s %s: ours %s, venue %s", d["deployment_id"], d["venue"], d["symbol"], d["ours"], d["venue_size"])
    return differences
