"""Policy's reactions to events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from prometheus_client import Counter

from vprime_shared import ids
from vprime_shared.batches import Received
from vprime_shared.contracts import DeploymentState, Intent, IntentStatus, Position, Signal
from vprime_shared.reference import canonical_instruments
from vprime_shared.telemetry import attached
from vprime_shared.unit_of_work import Tx

from vprime_policy.adapters.repository import PolicyRepository, PrunedEntries
from vprime_policy.domain.policy import decide, no_deployment
from vprime_policy.settings import PolicySettings

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)
REJECTIONS = Counter("vprime_policy_rejections_total", "Intents rejected, by the policy rule that fired", ["rule"])
ASSET_CLASSES = canonical_instruments()


async def deployment_changed(tx: Tx, deployment: DeploymentState) -> None:
    await PolicyRepository(tx.conn).save_deployment(deployment)


async def position_changed(tx: Tx, position: Position) -> None:
    """Risk state (open positions, exposure, entries, realised PnL) follows the executor's positions."""
    PolicyRepository.save_position(tx, position)


async def signals_received(tx: Tx, received: list[Received[Signal]], settings: PolicySettings, clock: Clock,
                           pruned: PrunedEntries | None = None) -> None:
    """One intent per deployment of each signal's agent, approved or rejected with the rules that fired; a batch of
    signals decided together, a statement or so for the batch rather than per signal. Signals for one deployment
    are decided in the batch's order, each seeing the entries approved before it. A decision recorded before (a
    re-run of the same drive, a redelivery) is not made again."""
    repo = PolicyRepository(tx.conn)
    by_agent = await repo.deployments_of_agents(r.event.agent_id for r in received)
    for agent_id in {r.event.agent_id for r in received} - by_agent.keys():
        if await repo.wait_for_deployments(agent_id, settings.registry_grace_s):
            by_agent[agent_id] = await repo.deployments_of(agent_id)
    # A stopped deployment is over: it takes no part. A paused one still answers, with the reason.
    live = {agent: [d for d in ds if d.status != "STOPPED"] for agent, ds in by_agent.items()}
    deployments = list({d.deployment_id: d for ds in live.values() for d in ds}.values())
    now, ttl = clock(), timedelta(seconds=settings.pending_entry_ttl_s)
    risk = await repo.risk_states(deployments, now, ttl, settings.default_equity_usd, pruned) if deployments else {}
    if pruned is not None:
        tx.on_commit(lambda: pruned.advance([d.deployment_id for d in deployments], now - ttl))
    # Each signal's answers to give: one per live deployment of its agent, or the agent's rejection if it has none.
    candidates = [(r, d, ids.intent_id(r.event.signal_id, d.deployment_id if d else None, r.event.drive))
                  for r in received for d in live.get(r.event.agent_id) or [None]]
    done = await repo.recorded(intent_id for *_, intent_id in candidates)
    intents: list[tuple[Intent, dict[str, str]]] = []
    for r, deployment, intent_id in candidates:
        if intent_id in done:
            continue
        done.add(intent_id)
        if deployment is None:
            intents.append((no_deployment(r.event), r.trace))
            continue
        intent = decide(r.event, deployment, risk[deployment.deployment_id], now, ASSET_CLASSES.get(r.event.instrument.upper()))
        if intent.status is IntentStatus.APPROVED:
            risk[deployment.deployment_id] = risk[deployment.deployment_id].with_entry(intent.instrument, intent.size_pct, now)
        intents.append((intent, r.trace))
    for intent, trace in intents:
        with attached(trace):
            await tx.publish(intent, about=intent.intent_id)  # written with the decisions, if they are new
    new = await repo.record(tx, [intent for intent, _ in intents])  # deterministic ids: what another instance recorded meanwhile is not new
    for intent, _ in intents:
        if intent.intent_id in new:
            for reason in intent.reasons if intent.status is IntentStatus.REJECTED else ():
                REJECTIONS.labels(reason.rule).inc()
            log.info("signal %s, deployment %s: %s (%s)", intent.signal_id, intent.deployment_id, intent.status.value,
                     "; ".join(f"{r.rule}: {r.detail}" for r in intent.reasons))
