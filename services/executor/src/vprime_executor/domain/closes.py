"""Closing a position: each close is an attempt of its own, with its own client id.

A venue refuses a client id it has seen (Hyperliquid refuses a duplicate cloid), so a refused close is retried as the
next attempt. The id is derived from the position and the attempt, so a crash and a recovery derive the id of the
attempt in flight again and look it up before anything is sent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from vprime_shared import ids
from vprime_shared.contracts import Order, Position, RiskModel, Side
from vprime_venues.execution import entry_fee_bps


@dataclass(frozen=True, slots=True)
class Closing:
    """A position being closed: why, and which attempt (from 1) is in flight."""

    position: Position
    reason: str
    attempt: int


def close_order_id(position_id: uuid.UUID, attempt: int) -> uuid.UUID:
    """Attempt 1 keeps the id closes had before they counted attempts, so a close in flight across that change is
    still found."""
    if attempt < 1:
        raise ValueError(f"close attempts count from 1, not {attempt}")
    return ids.derived_id("close", position_id) if attempt == 1 else ids.derived_id("close", position_id, attempt)


def close_client_id(position_id: uuid.UUID, attempt: int) -> str:
    return ids.client_order_id(close_order_id(position_id, attempt))


def close_order(closing: Closing) -> Order:
    """The reduce-only order of `closing`'s attempt, as the venue knows it (by `close_client_id`): for looking it up."""
    position = closing.position
    return Order(order_id=close_order_id(position.position_id, closing.attempt), intent_id=position.intent_id,
                 signal_id=position.signal_id, agent_id=position.agent_id, deployment_id=position.deployment_id,
                 venue=position.venue, venue_symbol=position.venue_symbol, instrument=position.instrument,
                 contract_multiplier=float(position.extra.get("contract_multiplier", 1.0)),
                 side=Side.SHORT if position.side is Side.LONG else Side.LONG, size_pct=position.size_pct,
                 leverage=position.leverage, taker_fee_bps=entry_fee_bps(position), risk_model=RiskModel(type="none"))
