"""Policy's reactions to events."""

from __future__ import annotations

from vprime_shared.contracts import DeploymentState, Signal
from vprime_shared.unit_of_work import Tx

from vprime_policy.adapters.repository import PolicyRepository
from vprime_policy.domain.policy import intents_for


async def deployment_changed(tx: Tx, deployment: DeploymentState) -> None:
    await PolicyRepository(tx.conn).save_deployment(deployment)


async def signal_received(tx: Tx, signal: Signal) -> None:
    """One intent per active deployment of the signal's agent (or one rejection saying why none)."""
    repo = PolicyRepository(tx.conn)
    for intent in intents_for(signal, await repo.deployments_of(signal.agent_id)):
        if await repo.record(intent):  # a deterministic id: a re-run of the same drive adds nothing
            await tx.publish(intent)
