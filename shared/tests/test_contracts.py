from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from vprime_shared import ids
from vprime_shared.contracts import EVENT_TYPES, MarketTick, RequestedVenue, Signal, Venue, dead_letter_topic
from vprime_shared.contracts.base import utcnow


def test_every_topic_is_versioned_and_has_one_model() -> None:
    assert all(topic.endswith(".v1") for topic in EVENT_TYPES)
    assert len(set(EVENT_TYPES.values())) == len(EVENT_TYPES)
    assert dead_letter_topic("signals.v1") == "signals.v1.dlq"


def test_event_ids_are_uuid7() -> None:
    tick = MarketTick(venue="HYPERLIQUID", instrument="ETH", bid=1, ask=2, mid=1.5, ts=utcnow())
    assert tick.event_id.version == 7


def test_contracts_refuse_unknown_fields_and_bad_values() -> None:
    base = dict(signal_id=uuid.uuid4(), agent_id=uuid.uuid4(), instrument="ETH", side="LONG", size_model={"value": 10},
                risk_model={}, confidence=0.5, requested_venue="MULTI", origin="MANUAL")
    assert Signal(**base).requested_venue is RequestedVenue.MULTI
    with pytest.raises(ValidationError, match="extra"):
        Signal(**base, surprise=1)
    with pytest.raises(ValidationError, match="confidence"):
        Signal(**{**base, "confidence": 1.5})
    with pytest.raises(ValidationError, match="size_model"):
        Signal(**{**base, "size_model": {"value": 150}})


def test_requested_venue_knows_fixed_venues() -> None:
    assert RequestedVenue.MULTI.fixed_venue is None
    assert RequestedVenue.GMX.fixed_venue is Venue.GMX


def test_derived_ids_are_deterministic_and_distinct() -> None:
    s, d = uuid.uuid4(), uuid.uuid4()
    assert ids.intent_id(s, d, 0) == ids.intent_id(s, d, 0)
    assert ids.intent_id(s, d, 0) != ids.intent_id(s, d, 1)
    i = ids.intent_id(s, d, 0)
    assert ids.order_id(i, 1) != ids.order_id(i, 2)
    cloid = ids.client_order_id(ids.order_id(i, 1))
    assert cloid.startswith("0x") and len(cloid) == 34  # Hyperliquid cloid: 16 bytes hex
