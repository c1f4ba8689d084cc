"""The router's reactions to events."""

from __future__ import annotations

import time

from vprime_shared import ids
from vprime_shared.contracts import Intent, IntentStatus, Order, RoutingDecision
from vprime_shared.unit_of_work import Tx

from vprime_router.domain.catalog import Catalog
from vprime_router.domain.routing import FIRST_AVAILABLE, first_available


async def intent_received(tx: Tx, intent: Intent, catalog: Catalog) -> RoutingDecision | None:
    """Route an approved intent: record and publish the decision, and the order if a venue was found."""
    if intent.status is not IntentStatus.APPROVED or intent.deployment_id is None:
        return None  # a rejection is final at policy; nothing to route
    attempt = 1
    started = time.perf_counter()
    choice = first_available(intent, catalog)
    duration_ms = (time.perf_counter() - started) * 1000
    decision = RoutingDecision(
        decision_id=ids.decision_id(intent.intent_id, attempt),
        intent_id=intent.intent_id,
        signal_id=intent.signal_id,
        agent_id=intent.agent_id,
        deployment_id=intent.deployment_id,
        instrument=intent.instrument,
        side=intent.side,
        requested_venue=intent.requested_venue,
        selected_venue=choice.selected.venue if choice.selected else None,
        reason=choice.reason,
        checked_venues=choice.checked,
        venue_availability=choice.availability,
        strategy=FIRST_AVAILABLE,
        attempt=attempt,
        duration_ms=duration_ms,
    )
    inserted = await tx.conn.execute(
        """INSERT INTO routing_history (decision_id, intent_id, signal_id, deployment_id, instrument, requested_venue,
               selected_venue, reason, checked_venues, venue_availability, strategy, attempt, duration_ms)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) ON CONFLICT (decision_id) DO NOTHING""",
        decision.decision_id, decision.intent_id, decision.signal_id, decision.deployment_id, decision.instrument,
        decision.requested_venue.value, decision.selected_venue.value if decision.selected_venue else None,
        decision.reason, [v.value for v in decision.checked_venues],
        {k: v.model_dump() for k, v in decision.venue_availability.items()}, decision.strategy, attempt, duration_ms,
    )
    if not inserted.endswith("1"):
        return None  # this intent's attempt was routed before
    await tx.publish(decision)
    if choice.selected is not None:
        market = choice.selected
        await tx.publish(
            Order(
                order_id=ids.order_id(intent.intent_id, attempt),
                intent_id=intent.intent_id,
                signal_id=intent.signal_id,
                agent_id=intent.agent_id,
                deployment_id=intent.deployment_id,
                venue=market.venue,
                venue_symbol=market.venue_symbol,
                instrument=intent.instrument,
                side=intent.side,
                size_pct=intent.size_pct,
                leverage=min(intent.leverage, market.max_leverage),
                taker_fee_bps=market.taker_fee_bps,
                risk_model=intent.risk_model,
                attempt=attempt,
            )
        )
    return decision
