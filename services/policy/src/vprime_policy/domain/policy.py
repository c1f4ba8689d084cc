"""Agent How: a signal becomes one intent per deployment. Pure functions, no I/O.

Today every active deployment approves as the signal asks (the seed's pass-through); per-deployment
policy rules plug in here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from vprime_shared import ids
from vprime_shared.contracts import Intent, IntentStatus, RuleOutcome, Signal, Venue


@dataclass(frozen=True)
class DeploymentView:
    deployment_id: uuid.UUID
    agent_id: uuid.UUID
    status: str
    enabled_venues: list[Venue]


def decide(signal: Signal, deployment: DeploymentView) -> Intent:
    return Intent(
        intent_id=ids.intent_id(signal.signal_id, deployment.deployment_id, signal.drive),
        signal_id=signal.signal_id,
        agent_id=signal.agent_id,
        deployment_id=deployment.deployment_id,
        drive=signal.drive,
        status=IntentStatus.APPROVED,
        reasons=[RuleOutcome(rule="pass_through", detail="no policy rules configured for this deployment")],
        instrument=signal.instrument,
        side=signal.side,
        size_pct=signal.size_model.value,
        leverage=signal.risk_model.leverage,
        risk_model=signal.risk_model,
        requested_venue=signal.requested_venue,
        venue_preference=deployment.enabled_venues,
    )


def no_deployment(signal: Signal, inactive: list[DeploymentView]) -> Intent:
    """The signal's fate when its agent has nothing active to trade on."""
    detail = (
        f"agent {signal.agent_id} has no active deployment"
        + (f" ({len(inactive)} paused or stopped)" if inactive else "")
    )
    return Intent(
        intent_id=ids.intent_id(signal.signal_id, None, signal.drive),
        signal_id=signal.signal_id,
        agent_id=signal.agent_id,
        deployment_id=None,
        drive=signal.drive,
        status=IntentStatus.REJECTED,
        reasons=[RuleOutcome(rule="no_active_deployment", detail=detail)],
        instrument=signal.instrument,
        side=signal.side,
        size_pct=0,
        leverage=1,
        risk_model=signal.risk_model,
        requested_venue=signal.requested_venue,
    )


def intents_for(signal: Signal, deployments: list[DeploymentView]) -> list[Intent]:
    active = [d for d in deployments if d.status == "ACTIVE"]
    if not active:
        return [no_deployment(signal, deployments)]
    return [decide(signal, d) for d in active]
