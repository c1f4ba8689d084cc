"""Reconciliation: the venues' positions against ours, per deployment and venue with a key. Differences are
recorded and reported (log and metric), never covered up by inventing trades."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from vprime_shared.contracts import Position, Side, Venue
from vprime_venues.execution import VenueUnavailable

from vprime_executor.venues import VenueRouter

log = logging.getLogger(__name__)


async def reconcile(pool: asyncpg.Pool, venues: VenueRouter) -> list[dict[str, Any]]:
    """Venue positions against ours, per deployment and venue with a key. Differences are recorded and
    reported (log and metric), never covered up by inventing trades."""
    differences = []
    creds = await pool.fetch("SELECT deployment_id, venue FROM credentials")
    for c in creds:
        venue = Venue(c["venue"])
        route = await venues.route(pool, c["deployment_id"], venue)
        if route.adapter is None or route.signer is None:
            continue
        try:
            theirs = await route.adapter.positions(route.signer)
        except VenueUnavailable:
            continue
        rows = await pool.fetch(
            "SELECT payload FROM positions WHERE deployment_id = $1 AND venue = $2 AND state = 'OPEN' AND mode = 'venue'",
            c["deployment_id"], venue.value,
        )
        ours: dict[str, float] = {}
        for r in rows:
            p = Position.model_validate(r["payload"])
            units = p.qty / float(p.extra.get("contract_multiplier", 1.0))
            ours[p.venue_symbol] = ours.get(p.venue_symbol, 0.0) + (units if p.side is Side.LONG else -units)
        for symbol in ours.keys() | theirs.keys():
            a, b = ours.get(symbol, 0.0), theirs.get(symbol, 0.0)
            if abs(a - b) > max(1e-9, 1e-6 * max(abs(a), abs(b))):
                differences.append({"deployment_id": c["deployment_id"], "venue": venue.value, "symbol": symbol, "ours": a, "venue_size": b})
    for d in differences:
        await pool.execute("INSERT INTO reconciliation (deployment_id, venue, symbol, ours, venue_size) VALUES ($1,$2,$3,$4,$5)",
                           d["deployment_id"], d["venue"], d["symbol"], d["ours"], d["venue_size"])
        log.error("reconciliation: %s %s %s: ours %s, venue %s", d["deployment_id"], d["venue"], d["symbol"], d["ours"], d["venue_size"])
    return differences
