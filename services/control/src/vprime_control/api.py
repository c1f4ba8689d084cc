"""The control API: the seed's paths and bodies (`/api/v3/...`), plus pagination and clear errors."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from vprime_shared.contracts import (
    AgentState,
    AgentStatus,
    DeploymentPolicy,
    DeploymentState,
    DeploymentStatus,
    RoutingConfigBody,
    Signal,
    Venue,
)
from vprime_shared.outbox import EventTooLarge
from vprime_shared.unit_of_work import UnitOfWork

from vprime_control import auth, handlers
from vprime_control.auth_api import RateLimited, Reader, Writer
from vprime_control.adapters.executor_client import KeyHandoffFailed
from vprime_control.adapters.repository import ControlRepository
from vprime_control.schemas import CreateAgent, DeployAgent, ExecuteTrade, GenerateSignal, KeyImportRequest

router = APIRouter(prefix="/api/v3")


def _uow(request: Request) -> UnitOfWork:
    return request.app.state.runtime.uow


def agent_view(agent: AgentState, enabled_venues: list[str] | None = None, *, details: bool = True) -> dict[str, Any]:
    """An agent card; `details` adds what its strategy is made of (its sources, weights and threshold)."""
    card = {
        "id": str(agent.agent_id),
        "creator_wallet": agent.creator_wallet,
        "name": agent.name,
        "venue": agent.venue.value,
        "status": agent.status.value,
        "enabled_venues": enabled_venues or [],
        "apr_30d": None,
        "apr_90d": None,
        "sharpe_30d": None,
        "created_at": agent.created_at.isoformat(),
    }
    if details:
        card |= {
            "x_account_ids": agent.x_account_ids,
            "research_institute_ids": agent.research_institute_ids,
            "weights": agent.weights,
            "profit_receiver_address": agent.profit_receiver_address,
            "signal_threshold": agent.signal_threshold,
        }
    return card


def deployment_view(d: DeploymentState) -> dict[str, Any]:
    return {
        "id": str(d.deployment_id),
        "agent_id": str(d.agent_id),
        "user_wallet": d.user_wallet,
        "status": d.status.value,
        "enabled_venues": [v.value for v in d.enabled_venues],
        "venue_accounts": {k.value: v for k, v in d.venue_accounts.items()},
        "policy": d.policy.model_dump(mode="json", exclude_defaults=True),
        "resumed_at": d.resumed_at.isoformat() if d.resumed_at else None,
        "created_at": d.created_at.isoformat(),
    }


def signal_view(s: Signal, status: str = "PENDING") -> dict[str, Any]:
    return {
        "id": str(s.signal_id),
        "agent_id": str(s.agent_id),
        "token_symbol": s.instrument,
        "side": s.side.value,
        "size_model": s.size_model.model_dump(),
        "risk_model": s.risk_model.model_dump(),
        "confidence": s.confidence,
        "requested_venue": s.requested_venue.value,
        "final_venue": None,
        "source_tweets": s.source_tweets,
        "source_research": s.source_research,
        "drive": s.drive,
        "status": status,
        "created_at": s.occurred_at.isoformat(),
    }


@router.post("/agents/create", status_code=201, summary="Create an agent (MULTI by default); creator_wallet is the signed-in wallet")
async def create_agent(body: CreateAgent, request: Request, actor: Writer) -> dict[str, Any]:
    agent = await handlers.create_agent(_uow(request), actor, body)
    return {"success": True, "agent": agent_view(agent)}


@router.get("/agents/list", summary="List agents, newest first")
async def list_agents(
    request: Request,
    access: Reader,
    creator_wallet: str | None = None,
    status: AgentStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    async with _uow(request).begin() as tx:
        repo = ControlRepository(tx.conn)
        agents, total = await repo.agents(
            creator_wallet=creator_wallet, status=status.value if status else None, limit=limit, offset=offset
        )
        venues = await repo.enabled_venues_by_agent([a.agent_id for a in agents])
    return {
        "success": True,
        "agents": [agent_view(a, venues.get(a.agent_id), details=access.sees_details_of(a)) for a in agents],
        "count": len(agents),
        "total": total,
        "limit": limit,
        "offset": offset,
        "version": "V3",
    }


@router.post("/agents/{agent_id}/pause", summary="Pause your agent: no signal of it reaches any deployment until resumed")
async def pause_agent(agent_id: uuid.UUID, request: Request, actor: Writer) -> dict[str, Any]:
    agent = await handlers.set_agent_status(_uow(request), actor, agent_id, AgentStatus.PAUSED)
    return {"success": True, "agent": agent_view(agent)}


@router.post("/agents/{agent_id}/resume", summary="Resume your paused agent")
async def resume_agent(agent_id: uuid.UUID, request: Request, actor: Writer) -> dict[str, Any]:
    agent = await handlers.set_agent_status(_uow(request), actor, agent_id, AgentStatus.ACTIVE)
    return {"success": True, "agent": agent_view(agent)}


@router.post("/agents/deploy", status_code=201,
             summary="Deploy an agent for your own wallet (a published agent, or your own) on an ordered list of venues")
async def deploy_agent(body: DeployAgent, request: Request, actor: Writer) -> dict[str, Any]:
    deployment = await handlers.deploy_agent(_uow(request), actor, body, request.app.state.agent_keys)
    return {"success": True, "deployment": deployment_view(deployment)}


@router.post("/key-imports", status_code=201,
             summary="A single-use nonce and the executor's import key, to seal venue agent keys for a deployment")
async def key_import(body: KeyImportRequest, request: Request, actor: Writer) -> dict[str, Any]:
    wallet = body.wallet or actor.wallet
    if wallet is None:
        raise HTTPException(422, "operators name the deployment's wallet: {\"wallet\": \"0x…\"}")
    actor.require_owner(wallet, "a key import")
    issued = await request.app.state.agent_keys.key_import(wallet.lower())
    return {"success": True, **issued, "how": "seal each agent key to public_key with this nonce (docs/key-import.md, "
                                              "or `vprime seal-key`), then deploy with key_import_nonce"}


@router.post("/deployments/{deployment_id}/agent-wallets/{venue}", status_code=201,
             summary="Generate a venue agent wallet in the executor; approve the returned address on the venue")
async def agent_wallet(deployment_id: uuid.UUID, venue: Venue, request: Request, actor: Writer,
                       replace: Annotated[bool, Query(description="replace a key the deployment already has for the venue")] = False,
                       ) -> dict[str, Any]:
    deployment = await handlers.create_agent_wallet(_uow(request), actor, deployment_id, venue, request.app.state.agent_keys,
                                                    replace=replace)
    address = deployment.venue_accounts[venue]
    return {"success": True, "venue": venue.value, "address": address, "deployment": deployment_view(deployment),
            "message": f"approve agent {address} for your {venue.value} account; the key stays in the executor"}


@router.get("/deployments/{deployment_id}", summary="A deployment with its policy")
async def get_deployment(deployment_id: uuid.UUID, request: Request, access: Reader) -> dict[str, Any]:
    async with _uow(request).begin() as tx:
        repo = ControlRepository(tx.conn)
        deployment = await repo.deployment(deployment_id)
        if deployment is None:
            raise HTTPException(404, f"deployment {deployment_id} does not exist")
        access.may_read_deployment(await handlers.find_agent(repo, deployment.agent_id), deployment)
    return {"success": True, "deployment": deployment_view(deployment)}


@router.put("/deployments/{deployment_id}/policy", summary="Replace a deployment's risk policy")
async def put_policy(deployment_id: uuid.UUID, policy: DeploymentPolicy, request: Request, actor: Writer) -> dict[str, Any]:
    return await _change(request, actor, deployment_id, policy=policy)


@router.post("/deployments/{deployment_id}/pause", summary="Pause: signals are rejected with the reason until resumed")
async def pause(deployment_id: uuid.UUID, request: Request, actor: Writer) -> dict[str, Any]:
    return await _change(request, actor, deployment_id, status=DeploymentStatus.PAUSED)


@router.post("/deployments/{deployment_id}/resume", summary="Resume; also clears a daily-loss or drawdown halt")
async def resume(deployment_id: uuid.UUID, request: Request, actor: Writer) -> dict[str, Any]:
    return await _change(request, actor, deployment_id, status=DeploymentStatus.ACTIVE)


@router.post("/deployments/{deployment_id}/stop", summary="Stop for good")
async def stop(deployment_id: uuid.UUID, request: Request, actor: Writer) -> dict[str, Any]:
    return await _change(request, actor, deployment_id, status=DeploymentStatus.STOPPED)


async def _change(request: Request, actor: auth.Principal, deployment_id: uuid.UUID, **change: Any) -> dict[str, Any]:
    deployment = await handlers.change_deployment(_uow(request), actor, deployment_id, **change)
    return {"success": True, "deployment": deployment_view(deployment)}


@router.get("/routing/config", summary="The routing configuration in force (global, or an agent's)")
async def get_routing_config(request: Request, access: Reader, agent_id: uuid.UUID | None = None) -> dict[str, Any]:
    config, source = await handlers.routing_config(_uow(request), agent_id, access.may_read_agent)
    return {"success": True, "scope": str(agent_id) if agent_id else "global", "source": source, "config": config.model_dump(mode="json")}


@router.put("/routing/config", summary="Set the global routing configuration (operators), or an agent's (?agent_id=, its creator)")
async def put_routing_config(body: RoutingConfigBody, request: Request, actor: Writer,
                             agent_id: uuid.UUID | None = None) -> dict[str, Any]:
    config = await handlers.set_routing_config(_uow(request), actor, agent_id, body)
    return {"success": True, "scope": str(agent_id) if agent_id else "global", "source": "agent" if agent_id else "global",
            "config": config.body().model_dump(mode="json")}


@router.post("/signals/generate", status_code=201, summary="Create a manual signal for one of your agents")
async def generate_signal(body: GenerateSignal, request: Request, actor: Writer) -> dict[str, Any]:
    signal = await handlers.generate_signal(_uow(request), actor, body)
    fixed = signal.requested_venue.fixed_venue
    routing = f"will trade on {fixed.value}" if fixed else "will be automatically routed"
    return {
        "success": True,
        "signal": signal_view(signal),
        "message": f"Signal created with {signal.requested_venue.value} venue - {routing}",
    }


@router.post("/execute/trade", status_code=202, summary="Re-drive a signal through policy, routing and execution")
async def execute_trade(body: ExecuteTrade, request: Request, actor: Writer) -> dict[str, Any]:
    signal = await handlers.redrive_signal(_uow(request), actor, body.signal_id)
    return {
        "success": True,
        "message": "Signal re-driven: routing and execution run asynchronously; follow the timeline",
        "signal": signal_view(signal),
        "timeline": f"/api/v3/signals/{signal.signal_id}/timeline",
    }


def install_domain_errors(app: FastAPI) -> None:
    """Domain exceptions as HTTP answers in the seed's envelope, so routes hold no try/except."""

    def answer(status: int, headers: dict[str, str] | None = None):  # noqa: ANN202 - a handler factory
        async def handle(_: Request, exc: Exception) -> JSONResponse:
            return JSONResponse({"success": False, "error": str(exc)}, status_code=status, headers=headers)
        return handle

    app.add_exception_handler(handlers.NotFound, answer(404))
    app.add_exception_handler(handlers.Conflict, answer(409))
    app.add_exception_handler(auth.Unauthenticated, answer(401, {"WWW-Authenticate": "Bearer"}))
    app.add_exception_handler(auth.Forbidden, answer(403))
    app.add_exception_handler(EventTooLarge, answer(413))  # bounded bodies make it rare; never an outbox row Kafka refuses

    async def handoff_failed(_: Request, exc: Exception) -> JSONResponse:
        status = exc.status if isinstance(exc, KeyHandoffFailed) else 503
        return JSONResponse({"success": False, "error": str(exc)}, status_code=status)

    async def rate_limited(_: Request, exc: Exception) -> JSONResponse:
        retry = exc.retry_after_s if isinstance(exc, RateLimited) else 60
        return JSONResponse({"success": False, "error": str(exc)}, status_code=429, headers={"Retry-After": str(retry)})

    app.add_exception_handler(KeyHandoffFailed, handoff_failed)
    app.add_exception_handler(RateLimited, rate_limited)
