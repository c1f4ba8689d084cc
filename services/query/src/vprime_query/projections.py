"""How each fact event updates the read models. Every write is an idempotent upsert keyed by the fact's id,
deferred to the end of its transaction, where a batch's writes of one kind go together (`Tx.defer`)."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from vprime_shared.contracts import (
    AgentState,
    DeploymentState,
    Event,
    Execution,
    Intent,
    MarketTick,
    Order,
    Position,
    RoutingDecision,
    Signal,
)
from vprime_shared.unit_of_work import Tx


def agent(tx: Tx, e: AgentState) -> None:
    tx.defer(
        """INSERT INTO agents (agent_id, creator_wallet, name, venue, status, updated_at) VALUES ($1,$2,$3,$4,$5,$6)
           ON CONFLICT (agent_id) DO UPDATE SET name = EXCLUDED.name, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
           WHERE agents.updated_at <= EXCLUDED.updated_at""",
        e.agent_id, e.creator_wallet, e.name, e.venue.value, e.status.value, e.occurred_at,
    )


def deployment(tx: Tx, e: DeploymentState) -> None:
    tx.defer(
        """INSERT INTO deployments (deployment_id, agent_id, user_wallet, status, enabled_venues, updated_at) VALUES ($1,$2,$3,$4,$5,$6)
           ON CONFLICT (deployment_id) DO UPDATE SET status = EXCLUDED.status, enabled_venues = EXCLUDED.enabled_venues,
             updated_at = EXCLUDED.updated_at WHERE deployments.updated_at <= EXCLUDED.updated_at""",
        e.deployment_id, e.agent_id, e.user_wallet, e.status.value, [v.value for v in e.enabled_venues], e.occurred_at,
    )


def signal(tx: Tx, e: Signal) -> None:
    tx.defer(
        """INSERT INTO signals (signal_id, agent_id, instrument, side, confidence, requested_venue, origin, size_model,
               risk_model, drive, created_at, source_tweets, source_research, score)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
           ON CONFLICT (signal_id) DO UPDATE SET drive = GREATEST(signals.drive, EXCLUDED.drive)""",
        e.signal_id, e.agent_id, e.instrument, e.side.value, e.confidence, e.requested_venue.value, e.origin.value,
        e.size_model.model_dump(), e.risk_model.model_dump(), e.drive, e.occurred_at, e.source_tweets,
        e.source_research, e.score.model_dump() if e.score else None,
    )


def intent(tx: Tx, e: Intent) -> None:
    tx.defer(
        """INSERT INTO intents (intent_id, signal_id, agent_id, deployment_id, drive, status, reasons, size_pct, leverage,
               venue_preference, decided_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (intent_id) DO NOTHING""",
        e.intent_id, e.signal_id, e.agent_id, e.deployment_id, e.drive, e.status.value,
        [r.model_dump() for r in e.reasons], e.size_pct, e.leverage, [v.value for v in e.venue_preference], e.occurred_at,
    )


def decision(tx: Tx, e: RoutingDecision) -> None:
    tx.defer(
        """INSERT INTO routing_decisions (decision_id, intent_id, signal_id, agent_id, deployment_id, instrument, side,
               requested_venue, selected_venue, reason, checked_venues, venue_availability, strategy, attempt, duration_ms,
               decided_at, costs, failed_venues, duration_us)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)
           ON CONFLICT (decision_id) DO NOTHING""",
        e.decision_id, e.intent_id, e.signal_id, e.agent_id, e.deployment_id, e.instrument, e.side.value,
        e.requested_venue.value, e.selected_venue.value if e.selected_venue else None, e.reason,
        [v.value for v in e.checked_venues], {k: v.model_dump() for k, v in e.venue_availability.items()},
        e.strategy, e.attempt, e.duration_ms, e.occurred_at, {k: v.model_dump() for k, v in e.costs.items()},
        [v.value for v in e.failed_venues], e.duration_us,
    )


def order(tx: Tx, e: Order) -> None:
    tx.defer(
        """INSERT INTO orders (order_id, intent_id, signal_id, deployment_id, venue, venue_symbol, instrument, side, size_pct,
               leverage, attempt, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
           ON CONFLICT (order_id) DO UPDATE SET venue_symbol = EXCLUDED.venue_symbol, instrument = EXCLUDED.instrument,
             side = EXCLUDED.side, size_pct = EXCLUDED.size_pct, leverage = EXCLUDED.leverage, attempt = EXCLUDED.attempt""",
        e.order_id, e.intent_id, e.signal_id, e.deployment_id, e.venue.value, e.venue_symbol, e.instrument, e.side.value,
        e.size_pct, e.leverage, e.attempt, e.occurred_at,
    )


def execution(tx: Tx, e: Execution) -> None:
    tx.defer(
        """INSERT INTO orders (order_id, intent_id, signal_id, deployment_id, venue, status, fill_price, qty, fee_usd,
               venue_order_id, client_order_id, reason, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
           ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, fill_price = EXCLUDED.fill_price, qty = EXCLUDED.qty,
             fee_usd = EXCLUDED.fee_usd, venue_order_id = EXCLUDED.venue_order_id, client_order_id = EXCLUDED.client_order_id,
             reason = EXCLUDED.reason""",
        e.order_id, e.intent_id, e.signal_id, e.deployment_id, e.venue.value, e.status.value, e.fill_price, e.qty, e.fee,
        e.venue_order_id, e.client_order_id, e.reason, e.occurred_at,
    )


def position(tx: Tx, e: Position) -> None:
    tx.defer(
        """INSERT INTO positions (position_id, order_id, signal_id, agent_id, deployment_id, venue, venue_symbol, instrument,
               side, state, entry_price, exit_price, qty, notional_usd, leverage, fees_usd, realized_pnl_usd, close_reason,
               opened_at, closed_at, updated_at, equity_usd)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)
           ON CONFLICT (position_id) DO UPDATE SET state = EXCLUDED.state, exit_price = EXCLUDED.exit_price,
             realized_pnl_usd = EXCLUDED.realized_pnl_usd, close_reason = EXCLUDED.close_reason, closed_at = EXCLUDED.closed_at,
             fees_usd = EXCLUDED.fees_usd, updated_at = EXCLUDED.updated_at
           WHERE positions.updated_at <= EXCLUDED.updated_at""",
        e.position_id, e.order_id, e.signal_id, e.agent_id, e.deployment_id, e.venue.value, e.venue_symbol, e.instrument,
        e.side.value, e.state.value, e.entry_price, e.exit_price, e.qty, e.notional_usd, e.leverage, e.fees_usd,
        e.realized_pnl_usd, e.close_reason, e.opened_at, e.closed_at, e.occurred_at, e.equity_usd,
    )


async def tick(conn: asyncpg.Connection | asyncpg.Pool, e: MarketTick) -> None:
    await conn.execute(
        """INSERT INTO prices (venue, instrument, mid, ts) VALUES ($1, $2, $3, $4)
           ON CONFLICT (venue, instrument) DO UPDATE SET mid = EXCLUDED.mid, ts = EXCLUDED.ts WHERE prices.ts <= EXCLUDED.ts""",
        e.venue.upper(), e.instrument.upper(), e.mid, e.ts,
    )


Projection = Callable[[Tx, Event], None]

PROJECTIONS: dict[type[Event], Projection] = {
    AgentState: agent,
    DeploymentState: deployment,
    Signal: signal,
    Intent: intent,
    RoutingDecision: decision,
    Order: order,
    Execution: execution,
    Position: position,
}  # type: ignore[dict-item]
