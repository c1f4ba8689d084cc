"""The router's own read-only HTTP view: catalog freshness and venue health, for operators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from vprime_shared.contracts import Venue
from vprime_shared.contracts.base import utcnow

from vprime_router.state import RouterState


def router_status(state: RouterState) -> APIRouter:
    api = APIRouter(prefix="/router", tags=["router"])

    @api.get("/venues", summary="Per venue: catalog status, age, markets, breaker")
    async def venues() -> dict[str, Any]:
        now = utcnow()
        ctx = state.context(now)
        out = {}
        for venue in Venue:
            catalog = state.catalogs.get(venue)
            breaker = state.breaker(venue)
            out[venue.value] = {
                "catalog": None if catalog is None else {
                    "status": catalog.status.value, "markets": len(catalog.markets), "error": catalog.error,
                    "synced_at": catalog.synced_at.isoformat() if catalog.synced_at else None,
                    "routable": catalog.staleness(now, ctx.stale_after) is None,
                    "why_not": catalog.staleness(now, ctx.stale_after),
                },
                # this process's syncs (what readiness reports); none on the shipped catalog
                "sync": state.syncs[venue].describe(now, ctx.stale_after, state.settings.sync_retries) if venue in state.syncs else None,
                "breaker": {"state": breaker.state(now).value, "failures": breaker.failures, "detail": breaker.describe(now)},
                "books": sum(1 for v, _ in state.books if v is venue),
            }
        return {"venues": out, "global_config": state.global_config.model_dump(mode="json")}

    return api
