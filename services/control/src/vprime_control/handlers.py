"""What the control plane does, in the domain's words. Each command is one transaction that
changes control's state and records the events to publish (outbox)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from vprime_shared.contracts import (
    GLOBAL_VENUE_PRIORITY,
    AgentState,
    AgentStatus,
    DeploymentPolicy,
    DeploymentState,
    DeploymentStatus,
    RoutingConfig,
    RoutingConfigBody,
    Signal,
    SignalOrigin,
    Venue,
)
from vprime_shared.contracts.base import utcnow
from vprime_shared.ids import new_id
from vprime_shared.kafka import PoisonEvent
from vprime_shared.unit_of_work import Tx, UnitOfWork

from vprime_control import auth
from vprime_control.adapters.auth_store import AuthStore
from vprime_control.adapters.executor_client import AgentKeys
from vprime_control.adapters.repository import ControlRepository
from vprime_control.schemas import CreateAgent, DeployAgent, GenerateSignal

log = logging.getLogger(__name__)


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    pass


async def create_agent(uow: UnitOfWork, actor: auth.Principal, cmd: CreateAgent) -> AgentState:
    actor.may_create(cmd.creator_wallet)
    agent = AgentState(
        agent_id=new_id(),
        creator_wallet=cmd.creator_wallet,
        name=cmd.name,
        venue=cmd.venue,
        status=AgentStatus.DRAFT,
        x_account_ids=cmd.x_account_ids,
        research_institute_ids=cmd.research_institute_ids,
        weights=cmd.weights,
        profit_receiver_address=cmd.profit_receiver_address,
        signal_threshold=cmd.signal_threshold,
        created_at=utcnow(),
    )
    async with uow.begin() as tx:
        await ControlRepository(tx.conn).save_agent(agent)
        await tx.publish(agent)
    return agent


def choose_enabled_venues(agent: AgentState, cmd: DeployAgent) -> list[Venue]:
    """The deployment's ordered venues: as asked; else those given credentials; else the global priority.

    A fixed-venue agent trades only on its venue, whatever else the deployment names.
    """
    fixed = agent.venue.fixed_venue
    if fixed is not None:
        if cmd.enabled_venues and fixed not in cmd.enabled_venues:
            raise Conflict(f"agent {agent.agent_id} trades only on {fixed.value}; enabled_venues {[v.value for v in cmd.enabled_venues]} leave it out")
        return [fixed]
    if cmd.enabled_venues:
        return list(cmd.enabled_venues)
    return list(cmd.credentialed_venues()) or list(GLOBAL_VENUE_PRIORITY)


async def deploy_agent(uow: UnitOfWork, actor: auth.Principal, cmd: DeployAgent, keys: AgentKeys) -> DeploymentState:
    """Deploy an agent for the caller's own wallet (copy-trading). The creator's first deployment publishes a draft.

    Venue keys go to the executor, the only service that keeps them; control stores and publishes none. They are
    handed over inside this transaction: if the executor refuses one, no deployment is created, and if anything
    fails once a key was handed over, the executor is told to forget the deployment's keys (so the user can try
    again with the same keys rather than find them held by a deployment that does not exist)."""
    deployment_id, handed_over = new_id(), False
    try:
        async with uow.begin() as tx:
            repo = ControlRepository(tx.conn)
            agent = await find_agent(repo, cmd.agent_id, for_update=True)
            actor.may_deploy(agent, cmd.user_wallet)
            if agent.status is AgentStatus.PAUSED:
                raise Conflict(f"agent {agent.agent_id} is paused by its creator; it takes no new deployments until resumed")
            accounts = {v: a for v, a in cmd.credentialed_venues().items() if a}
            for venue, sealed in cmd.venue_keys().items():
                handed_over = True  # before the call: a lost answer may still have stored it
                accounts[venue] = await keys.import_key(deployment_id, venue, sealed, wallet=cmd.user_wallet.lower(),
                                                        nonce=str(cmd.key_import_nonce), account=cmd.trading_account(venue))
            deployment = DeploymentState(
                deployment_id=deployment_id,
                agent_id=agent.agent_id,
                user_wallet=cmd.user_wallet,
                status=DeploymentStatus.ACTIVE,
                enabled_venues=choose_enabled_venues(agent, cmd),
                venue_accounts=accounts,
                policy=cmd.policy,
                created_at=utcnow(),
            )
            await repo.save_deployment(deployment)
            await tx.publish(deployment)
            if agent.status is AgentStatus.DRAFT:
                await _set_agent_status(repo, tx, agent, AgentStatus.ACTIVE)
    except BaseException:
        if handed_over:
            await _abandon_keys(keys, deployment_id)
        raise
    return deployment


async def _abandon_keys(keys: AgentKeys, deployment_id: uuid.UUID) -> None:
    try:
        await keys.abandon(deployment_id)
    except Exception as exc:  # the deploy's own error is the one to report; this one is logged
        log.warning("deployment %s was not created, and the executor could not be told to forget its keys: %s",
                    deployment_id, exc)


async def set_agent_status(uow: UnitOfWork, actor: auth.Principal, agent_id: uuid.UUID, status: AgentStatus) -> AgentState:
    """Its creator pauses an agent (no signal of it reaches any deployment: Agent What stops scoring for it and
    manual signals are refused) or resumes it. A follower's deployments stay the follower's: they are not changed."""
    async with uow.begin() as tx:
        repo = ControlRepository(tx.conn)
        agent = await find_agent(repo, agent_id, for_update=True)
        actor.may_change_agent(agent)
        if status is AgentStatus.ACTIVE and agent.status is AgentStatus.DRAFT:
            raise Conflict(f"agent {agent_id} is a draft; deploy it to publish it")
        if agent.status is not status:
            agent = await _set_agent_status(repo, tx, agent, status)
    return agent


async def _set_agent_status(repo: ControlRepository, tx: Tx, agent: AgentState, status: AgentStatus) -> AgentState:
    changed = agent.model_copy(update={"status": status, "event_id": new_id(), "occurred_at": utcnow()})
    await repo.save_agent(changed)
    await tx.publish(changed)
    return changed


async def create_agent_wallet(uow: UnitOfWork, actor: auth.Principal, deployment_id: uuid.UUID, venue: Venue,
                              keys: AgentKeys, *, replace: bool = False) -> DeploymentState:
    """Have the executor generate an agent wallet for the venue; the deployment names its address. A key the
    deployment already has for the venue is replaced only when asked (the executor refuses otherwise)."""
    async with uow.begin() as tx:
        repo = ControlRepository(tx.conn)
        current = await _deployment(repo, actor, deployment_id)
        address = await keys.generate(deployment_id, venue, replace=replace, account=current.user_wallet)
        changed = current.model_copy(update={"venue_accounts": {**current.venue_accounts, venue: address},
                                             "event_id": new_id(), "occurred_at": utcnow()})
        await repo.save_deployment(changed)
        await tx.publish(changed)
    return changed


async def change_deployment(uow: UnitOfWork, actor: auth.Principal, deployment_id: uuid.UUID, *,
                            policy: DeploymentPolicy | None = None, status: DeploymentStatus | None = None) -> DeploymentState:
    """Set a deployment's policy or status. Resuming also clears a loss-limit halt (losses before it stop counting)."""
    async with uow.begin() as tx:
        repo = ControlRepository(tx.conn)
        current = await _deployment(repo, actor, deployment_id)
        if current.status is DeploymentStatus.STOPPED and status is not None and status is not DeploymentStatus.STOPPED:
            raise Conflict(f"deployment {deployment_id} is stopped for good; deploy the agent again instead")
        update: dict[str, object] = {"event_id": new_id(), "occurred_at": utcnow()}
        if policy is not None:
            update["policy"] = policy
        if status is not None:
            update["status"] = status
            if status is DeploymentStatus.ACTIVE:
                update["resumed_at"] = update["occurred_at"]
        changed = current.model_copy(update=update)
        await repo.save_deployment(changed)
        await tx.publish(changed)
    return changed


DEFAULT_ROUTING = RoutingConfigBody(venue_priority=list(GLOBAL_VENUE_PRIORITY))


async def routing_config(uow: UnitOfWork, agent_id: uuid.UUID | None,
                         may_read: Callable[[AgentState], None] = lambda _: None) -> tuple[RoutingConfigBody, str]:
    """The configuration in force for the agent (or globally), and where it comes from."""
    async with uow.begin() as tx:
        repo = ControlRepository(tx.conn)
        if agent_id is not None:
            may_read(await find_agent(repo, agent_id))
            if (own := await repo.routing_config(agent_id)) is not None:
                return own, "agent"
        found = await repo.routing_config(None)
        return (found, "global") if found else (DEFAULT_ROUTING, "default")


async def set_routing_config(uow: UnitOfWork, actor: auth.Principal, agent_id: uuid.UUID | None,
                             body: RoutingConfigBody) -> RoutingConfig:
    async with uow.begin() as tx:
        repo = ControlRepository(tx.conn)
        if agent_id is None:
            actor.may_change_global_routing()
        else:
            actor.may_change_agent(await find_agent(repo, agent_id))
        config = RoutingConfig(agent_id=agent_id, **body.model_dump())
        await repo.save_routing_config(config)
        await tx.publish(config)
    return config


async def generate_signal(uow: UnitOfWork, actor: auth.Principal, cmd: GenerateSignal) -> Signal:
    async with uow.begin() as tx:
        repo = ControlRepository(tx.conn)
        agent = await find_agent(repo, cmd.agent_id)
        actor.may_change_agent(agent)
        _takes_signals(agent)
        signal = Signal(
            signal_id=new_id(),
            agent_id=agent.agent_id,
            instrument=cmd.token_symbol,
            side=cmd.side,
            size_model=cmd.size_model,
            risk_model=cmd.risk_model,
            confidence=cmd.confidence,
            requested_venue=agent.venue,
            origin=SignalOrigin.MANUAL,
            source_tweets=cmd.source_tweets,
            source_research=cmd.source_research,
        )
        await repo.save_signal(signal)
        await tx.publish(signal)
    return signal


async def redrive_signal(uow: UnitOfWork, actor: auth.Principal, signal_id: uuid.UUID) -> Signal:
    """Run a signal through policy, routing and execution again (a new drive: new intents, new ids)."""
    async with uow.begin() as tx:
        repo = ControlRepository(tx.conn)
        previous = await repo.signal(signal_id, for_update=True)
        if previous is None:
            raise NotFound(f"signal {signal_id} does not exist")
        agent = await find_agent(repo, previous.agent_id)
        actor.may_change_agent(agent)
        _takes_signals(agent)
        signal = previous.model_copy(update={"drive": previous.drive + 1, "event_id": new_id(), "occurred_at": utcnow()})
        await repo.save_signal(signal)
        await tx.publish(signal)
    return signal


async def record_signals(tx: Tx, signals: list[Signal]) -> None:
    """Keep every signal (scored ones too) so it can be re-driven later. Control owns the agent registry,
    so a signal naming an agent it never created is refused with that reason: the batch is then handled one
    signal at a time, and that one is dead-lettered."""
    latest: dict[uuid.UUID, Signal] = {}  # a signal twice in a batch (driven again): once, at its highest drive
    for signal in signals:
        if signal.signal_id not in latest or signal.drive > latest[signal.signal_id].drive:
            latest[signal.signal_id] = signal
    saved = await ControlRepository(tx.conn).save_signals(list(latest.values()))
    for signal in latest.values():
        if signal.signal_id not in saved:
            raise PoisonEvent(f"signal {signal.signal_id} names agent {signal.agent_id}, which does not exist")


async def find_agent(repo: ControlRepository, agent_id: uuid.UUID, *, for_update: bool = False) -> AgentState:
    agent = await repo.agent(agent_id, for_update=for_update)
    if agent is None:
        raise NotFound(f"agent {agent_id} does not exist")
    return agent


def _takes_signals(agent: AgentState) -> None:
    if agent.status is AgentStatus.PAUSED:
        raise Conflict(f"agent {agent.agent_id} is paused; resume it (POST /api/v3/agents/{agent.agent_id}/resume) to signal")


async def _deployment(repo: ControlRepository, actor: auth.Principal, deployment_id: uuid.UUID) -> DeploymentState:
    """The deployment, locked for change, once the actor is shown to own it."""
    deployment = await repo.deployment(deployment_id, for_update=True)
    if deployment is None:
        raise NotFound(f"deployment {deployment_id} does not exist")
    actor.may_change_deployment(deployment)
    return deployment


@dataclass(frozen=True)
class SignInConfig:
    """What every sign-in message names besides its wallet and nonce: configuration, never the request."""

    domain: str
    uri: str
    chain_id: int
    ttl: timedelta

    def message(self, wallet: str, nonce: str, issued_at: datetime) -> str:
        return auth.sign_in_message(domain=self.domain, uri=self.uri, address=wallet, nonce=nonce, issued_at=issued_at,
                                    ttl=self.ttl, chain_id=self.chain_id)


async def issue_sign_in(uow: UnitOfWork, wallet: str, config: SignInConfig) -> dict[str, Any]:
    """A fresh nonce and the exact EIP-4361 message the wallet is to sign."""
    nonce, issued_at = auth.new_nonce(), utcnow().replace(microsecond=0)
    async with uow.begin() as tx:
        await AuthStore(tx.conn).save_nonce(nonce, wallet, issued_at, issued_at + config.ttl)
    return {"wallet": wallet, "nonce": nonce, "message": config.message(wallet, nonce, issued_at),
            "expires_at": (issued_at + config.ttl).isoformat()}


async def sign_in(uow: UnitOfWork, message: str, signature: str, ttl: timedelta, config: SignInConfig) -> dict[str, Any]:
    """Check a signed sign-in message and open a session for its wallet.

    The nonce is spent by the first attempt, right or wrong (its own transaction), so a message can
    never be replayed and a failed attempt needs a new nonce. The message must be the one this
    control writes for the nonce's wallet and time under its own domain, URI and chain id.
    """
    async with uow.begin() as tx:
        issued = await AuthStore(tx.conn).use_nonce(auth.nonce_of(message))
    if issued is None:
        raise auth.Unauthenticated("unknown or already used nonce; ask /api/v3/auth/nonce for a new message")
    if config.message(issued["wallet"], issued["nonce"], issued["issued_at"]) != message:
        raise auth.Unauthenticated("the signed message differs from the one issued with this nonce")
    if issued["expires_at"] <= utcnow():
        raise auth.Unauthenticated(f"the sign-in message expired at {issued['expires_at'].isoformat()}")
    signer = auth.signer_of(message, signature)
    if signer != issued["wallet"]:
        raise auth.Unauthenticated(f"the message was signed by {signer}, not by {issued['wallet']}")
    token, row = await issue_token(uow, signer, "session", "sign-in", utcnow() + ttl)
    # token_id: what signing out revokes (DELETE /api/v3/auth/tokens/{token_id}), this session alone.
    return {"token": token, "wallet": signer, "expires_at": row["expires_at"].isoformat(), "token_id": str(row["token_id"])}


async def issue_token(uow: UnitOfWork, wallet: str, kind: str, label: str, expires_at: datetime | None) -> tuple[str, dict[str, Any]]:
    """A new bearer token for the wallet (`session` or `api`), and its stored row; only its digest is kept."""
    token = auth.new_token(auth.SESSION_PREFIX if kind == "session" else auth.API_TOKEN_PREFIX)
    async with uow.begin() as tx:
        row = await AuthStore(tx.conn).save_token(auth.token_digest(token), wallet, kind, label, expires_at)
    return token, row
