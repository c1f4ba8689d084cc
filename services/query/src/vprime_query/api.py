"""The read API for dashboards: the seed's stats paths and shapes, plus filters, pagination and timelines."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from vprime_query.adapters import stats

from vprime_query.access import Access
from vprime_query.adapters.read_models import BadCursor, NotYours, ReadModels
from vprime_query.stream import EventStreamResponse, StreamLimit, Visible

router = APIRouter(prefix="/api/v3")

VenueFilter = Literal["HYPERLIQUID", "OSTIUM", "GMX", "SPOT", "NONE"]
INSTRUMENT = r"^[A-Za-z0-9][A-Za-z0-9/._-]*$"  # a canonical instrument id, e.g. ETH, SPX500, EURUSD


def _read(request: Request) -> ReadModels:
    return ReadModels(request.app.state.runtime.pool)


@router.get("/stats/overview", summary="Agents, signals by status, positions, routing per venue, rejections by rule")
async def overview(request: Request) -> dict[str, Any]:
    return {"success": True, "version": "V3", "stats": await _read(request).overview()}


@router.get("/stats/routing-history", summary="Routing decisions, newest first, with a per-venue summary")
async def routing_history(
    request: Request,
    access: Access,
    token_symbol: Annotated[str | None, Query(min_length=1, max_length=32, pattern=INSTRUMENT, description="instrument")] = None,
    selected_venue: Annotated[VenueFilter | None, Query(description="a venue, or NONE for intents no venue could take")] = None,
    agent_id: uuid.UUID | None = None,
    deployment_id: uuid.UUID | None = None,
    strategy: Literal["FIRST_AVAILABLE", "BEST_EXECUTION"] | None = None,
    outcome: Literal["routed", "no_venue"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    if since and until and since >= until:
        raise HTTPException(422, "since must be before until")
    try:
        result = await _read(request).routing_history(
            token_symbol=token_symbol.upper() if token_symbol else None, selected_venue=selected_venue, agent_id=agent_id,
            deployment_id=deployment_id, limit=limit, offset=offset, strategy=strategy, outcome=outcome, since=since,
            until=until, cursor=cursor, wallet=access.wallet_filter,
        )
    except BadCursor as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"success": True, **result}


@router.get("/stats/venues", summary="Trades, performance and failovers by venue")
async def venue_stats(request: Request, agent_id: uuid.UUID | None = None) -> dict[str, Any]:
    return {"success": True, **await stats.venues(request.app.state.runtime.pool, agent_id)}


@router.get("/venues", summary="Each venue's catalog as last synced: status, pair counts, asset classes, fees")
async def venues(request: Request) -> dict[str, Any]:
    found = await stats.venue_catalogs(request.app.state.runtime.pool)
    return {"success": True, "venues": found, "count": len(found)}


@router.get("/stats/routes", summary="Per instrument: where it went and how often it fell back")
async def route_stats(request: Request, agent_id: uuid.UUID | None = None,
                      token_symbol: Annotated[str | None, Query(min_length=1, max_length=32, pattern=INSTRUMENT)] = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    found = await stats.routes(request.app.state.runtime.pool, agent_id, token_symbol.upper() if token_symbol else None, limit)
    return {"success": True, "routes": found, "count": len(found)}


@router.get("/stats/agents", summary="Agents with their enabled venues (multi-venue badge), positions and PnL")
async def agent_list(request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    found = await stats.agents(request.app.state.runtime.pool, limit)
    return {"success": True, "agents": found, "count": len(found)}


@router.get("/stats/charts", summary="Series for charts: cumulative realised PnL, venue share, signals, decision latency")
async def chart_series(request: Request, agent_id: uuid.UUID | None = None,
                       hours: Annotated[int, Query(ge=1, le=24 * 90, description="how far back")] = 24) -> dict[str, Any]:
    return {"success": True, **await stats.charts(request.app.state.runtime.pool, agent_id, hours)}


@router.get("/agents/{agent_id}/deployments", summary="An agent's deployments: status, venues in priority order, open positions")
async def agent_deployments(agent_id: uuid.UUID, request: Request, access: Access) -> dict[str, Any]:
    found = await stats.deployments(request.app.state.runtime.pool, agent_id, access.wallet_filter)
    return {"success": True, "deployments": found, "count": len(found)}


@router.get("/positions", summary="Positions, newest first")
async def position_list(request: Request, access: Access, agent_id: uuid.UUID | None = None,
                        deployment_id: uuid.UUID | None = None, state: Literal["OPEN", "CLOSED"] | None = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    found = await stats.positions(request.app.state.runtime.pool, agent_id=agent_id, deployment_id=deployment_id, state=state,
                                  limit=limit, wallet=access.wallet_filter)
    return {"success": True, "positions": found, "count": len(found)}


@router.get("/agents/{agent_id}/performance", summary="PnL, APR 30d/90d/since inception, Sharpe 30d, trades by venue")
async def performance(agent_id: uuid.UUID, request: Request) -> dict[str, Any]:
    found = await stats.agent_performance(request.app.state.runtime.pool, agent_id)
    if found is None:
        raise HTTPException(404, f"agent {agent_id} is not known (yet)")
    return {"success": True, **found}


@router.get("/stream/decisions", summary="Live routing decisions (server-sent events)",
            responses={429: {"description": "the client's or the service's cap on open streams is reached"}})
async def decision_stream(request: Request, access: Access) -> StreamingResponse:
    settings = request.app.state.runtime.settings
    only = None
    if (wallet := access.wallet_filter) is not None:
        agents, deployments = await _read(request).visible_to(wallet)
        only = Visible(frozenset(agents), frozenset(deployments))
    try:
        stream = request.app.state.feed.open(request.client.host if request.client else "unknown",
                                             max_per_client=settings.stream_max_per_client,
                                             max_clients=settings.stream_max_clients, only=only)
    except StreamLimit as exc:
        raise HTTPException(429, str(exc)) from exc
    return EventStreamResponse(stream)


@router.get("/signals", summary="Signals, newest first, with their evidence (sources and score breakdown)")
async def signals(
    request: Request,
    access: Access,
    agent_id: uuid.UUID | None = None,
    token_symbol: Annotated[str | None, Query(min_length=1, max_length=32, pattern=INSTRUMENT)] = None,
    side: Literal["LONG", "SHORT"] | None = None,
    since: Annotated[datetime | None, Query(description="created at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="created before (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    if since and until and since >= until:
        raise HTTPException(422, "since must be before until")
    try:
        page = await _read(request).signals(
            agent_id=agent_id, token_symbol=token_symbol.upper() if token_symbol else None, side=side,
            since=since, until=until, limit=limit, cursor=cursor, wallet=access.wallet_filter,
        )
    except BadCursor as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"success": True, **page}


@router.get("/signals/{signal_id}/timeline", summary="A signal's whole path: intents, routing, orders, positions")
async def timeline(signal_id: uuid.UUID, request: Request, access: Access) -> dict[str, Any]:
    try:
        found = await _read(request).timeline(signal_id, wallet=access.wallet_filter)
    except NotYours as exc:
        raise HTTPException(403, str(exc)) from exc
    if found is None:
        raise HTTPException(404, f"signal {signal_id} is not known (yet): it may still be on its way")
    return {"success": True, **found}
