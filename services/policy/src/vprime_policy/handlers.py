"""Policy's reactions to events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from prometheus_client import Counter

from vprime_shared.contracts import DeploymentState, Position, Signal
from vprime_shared.reference import canonical_instruments
from vprime_shared.unit_of_work import Tx

from vprime_policy.adapters.repository import PolicyRepository
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


async def signal_received(tx: Tx, signal: Signal, settings: PolicySettings, clock: Clock) -> None:
    """One intent per deployment of the signal's agent, approved or rejected with the rules that fired."""
    repo = PolicyRepository(tx.conn)
    deployments = await repo.deployments_of(signal.agent_id)
    if not deployments and await repo.wait_for_deployments(signal.agent_id, settings.registry_grace_s):
        deployments = await repo.deployments_of(signal.agent_id)
    # A stopped deployment is over: it takes no part. A paused one still answers, with the reason.
    deployments = [d for d in deployments if d.status != "STOPPED"]
    if not deployments:
        intents = [no_deployment(signal)]
    else:
        now = clock()
        asset_class = ASSET_CLASSES.get(signal.instrument.upper())
        risk = await repo.risk_states(deployments, now, timedelta(seconds=settings.pending_entry_ttl_s), settings.default_equity_usd)
        intents = [decide(signal, d, risk[d.deployment_id], now, asset_class) for d in deployments]
    new = await repo.record(intents)  # deterministic ids: a re-run of the same drive adds nothing
    for intent in intents:
        if intent.intent_id in new:
            await tx.publish(intent)
            for reason in intent.reasons if intent.status.value == "REJECTED" else ():
                REJECTIONS.labels(reason.rule).inc()
            log.info("signal %s, deployment %s: %s (%s)", signal.signal_id, intent.deployment_id, intent.status.value,
                     "; ".join(f"{r.rule}: {r.detail}" for r in intent.reasons))
