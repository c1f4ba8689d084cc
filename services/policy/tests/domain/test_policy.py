from __future__ import annotations

import uuid

from vprime_shared.contracts import IntentStatus, RequestedVenue, RiskModel, Side, Signal, SignalOrigin, SizeModel, Venue
from vprime_policy.domain.policy import DeploymentView, intents_for


def signal(drive: int = 0) -> Signal:
    return Signal(
        signal_id=uuid.UUID(int=1), agent_id=uuid.UUID(int=2), instrument="ETH", side=Side.LONG,
        size_model=SizeModel(value=25), risk_model=RiskModel(leverage=3), confidence=0.9,
        requested_venue=RequestedVenue.MULTI, origin=SignalOrigin.MANUAL, drive=drive,
    )


def deployment(n: int, status: str = "ACTIVE") -> DeploymentView:
    return DeploymentView(uuid.UUID(int=100 + n), uuid.UUID(int=2), status, [Venue.HYPERLIQUID, Venue.OSTIUM])


def test_one_approved_intent_per_active_deployment() -> None:
    intents = intents_for(signal(), [deployment(1), deployment(2), deployment(3, "PAUSED")])
    assert [i.deployment_id for i in intents] == [uuid.UUID(int=101), uuid.UUID(int=102)]
    assert all(i.status is IntentStatus.APPROVED for i in intents)
    assert intents[0].size_pct == 25 and intents[0].leverage == 3
    assert intents[0].venue_preference == [Venue.HYPERLIQUID, Venue.OSTIUM]


def test_intent_ids_are_derived_so_reruns_match_and_redrives_differ() -> None:
    first = intents_for(signal(), [deployment(1)])[0]
    again = intents_for(signal(), [deployment(1)])[0]
    redrive = intents_for(signal(drive=1), [deployment(1)])[0]
    assert first.intent_id == again.intent_id
    assert redrive.intent_id != first.intent_id
    assert first.event_id != again.event_id


def test_no_active_deployment_is_an_explained_rejection() -> None:
    [intent] = intents_for(signal(), [deployment(1, "STOPPED")])
    assert intent.status is IntentStatus.REJECTED and intent.deployment_id is None
    assert intent.reasons[0].rule == "no_active_deployment"
    assert "1 paused or stopped" in intent.reasons[0].detail
