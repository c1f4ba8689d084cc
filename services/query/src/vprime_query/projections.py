"""How each fact event updates the read models. Every write is an idempotent upsert keyed by the fact's id,
deferred to the end of its transaction, where a batch's writes of one kind go in one statement (`Tx.insert`).
Values are passed as they are (enums, models dumped): PostgreSQL types each as its column."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from vprime_shared.contracts import (
    AgentState,
    CatalogStatus,
    DeploymentState,
    Event,
    Execution,
    Intent,
    MarketCatalog,
    MarketTick,
    Order,
    Position,
    RoutingDecision,
    Signal,
)
from vprime_shared.unit_of_work import Tx


def agent(tx: Tx, e: AgentState) -> None:
    tx.insert("agents", dict(agent_id=e.agent_id, creator_wallet=e.creator_wallet, name=e.name, venue=e.venue, status=e.status,
                             updated_at=e.occurred_at),
              on_conflict="""ON CONFLICT (agent_id) DO UPDATE SET name = EXCLUDED.name, status = EXCLUDED.status,
                               updated_at = EXCLUDED.updated_at WHERE agents.updated_at <= EXCLUDED.updated_at""",
              key=e.agent_id)


def deployment(tx: Tx, e: DeploymentState) -> None:
    tx.insert("deployments", dict(deployment_id=e.deployment_id, agent_id=e.agent_id, user_wallet=e.user_wallet, status=e.status,
                                  enabled_venues=e.enabled_venues, updated_at=e.occurred_at),
              on_conflict="""ON CONFLICT (deployment_id) DO UPDATE SET status = EXCLUDED.status,
                               enabled_venues = EXCLUDED.enabled_venues, updated_at = EXCLUDED.updated_at
                             WHERE deployments.updated_at <= EXCLUDED.updated_at""",
              key=e.deployment_id)


def signal(tx: Tx, e: Signal) -> None:
    tx.insert("signals", dict(signal_id=e.signal_id, agent_id=e.agent_id, instrument=e.instrument, side=e.side, confidence=e.confidence,
                              requested_venue=e.requested_venue, origin=e.origin, size_model=e.size_model.model_dump(),
                              risk_model=e.risk_model.model_dump(), drive=e.drive, created_at=e.occurred_at,
                              source_tweets=e.source_tweets, source_research=e.source_research,
                              score=e.score.model_dump() if e.score else None),
              on_conflict="ON CONFLICT (signal_id) DO UPDATE SET drive = GREATEST(signals.drive, EXCLUDED.drive)", key=e.signal_id)


def intent(tx: Tx, e: Intent) -> None:
    tx.insert("intents", dict(intent_id=e.intent_id, signal_id=e.signal_id, agent_id=e.agent_id, deployment_id=e.deployment_id,
                              drive=e.drive, status=e.status, reasons=[r.model_dump() for r in e.reasons], size_pct=e.size_pct,
                              leverage=e.leverage, venue_preference=e.venue_preference, decided_at=e.occurred_at),
              on_conflict="ON CONFLICT (intent_id) DO NOTHING")


def decision(tx: Tx, e: RoutingDecision) -> None:
    tx.insert("routing_decisions", dict(
        decision_id=e.decision_id, intent_id=e.intent_id, signal_id=e.signal_id, agent_id=e.agent_id, deployment_id=e.deployment_id,
        instrument=e.instrument, side=e.side, requested_venue=e.requested_venue, selected_venue=e.selected_venue, reason=e.reason,
        checked_venues=e.checked_venues, venue_availability={k: v.model_dump() for k, v in e.venue_availability.items()},
        strategy=e.strategy, attempt=e.attempt, duration_ms=e.duration_ms, decided_at=e.occurred_at,
        costs={k: v.model_dump() for k, v in e.costs.items()}, failed_venues=e.failed_venues, duration_us=e.duration_us,
    ), on_conflict="ON CONFLICT (decision_id) DO NOTHING")


def order(tx: Tx, e: Order) -> None:
    tx.insert("orders", dict(order_id=e.order_id, intent_id=e.intent_id, signal_id=e.signal_id, deployment_id=e.deployment_id,
                             venue=e.venue, venue_symbol=e.venue_symbol, instrument=e.instrument, side=e.side, size_pct=e.size_pct,
                             leverage=e.leverage, attempt=e.attempt, created_at=e.occurred_at),
              on_conflict="""ON CONFLICT (order_id) DO UPDATE SET venue_symbol = EXCLUDED.venue_symbol, instrument = EXCLUDED.instrument,
                               side = EXCLUDED.side, size_pct = EXCLUDED.size_pct, leverage = EXCLUDED.leverage,
                               attempt = EXCLUDED.attempt""",
              key=e.order_id)


def execution(tx: Tx, e: Execution) -> None:
    tx.insert("orders", dict(order_id=e.order_id, intent_id=e.intent_id, signal_id=e.signal_id, deployment_id=e.deployment_id,
                             venue=e.venue, status=e.status, fill_price=e.fill_price, qty=e.qty, fee_usd=e.fee,
                             venue_order_id=e.venue_order_id, client_order_id=e.client_order_id, reason=e.reason,
                             created_at=e.occurred_at),
              on_conflict="""ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, fill_price = EXCLUDED.fill_price,
                               qty = EXCLUDED.qty, fee_usd = EXCLUDED.fee_usd, venue_order_id = EXCLUDED.venue_order_id,
                               client_order_id = EXCLUDED.client_order_id, reason = EXCLUDED.reason""",
              key=e.order_id)


def position(tx: Tx, e: Position) -> None:
    tx.insert("positions", dict(
        position_id=e.position_id, order_id=e.order_id, signal_id=e.signal_id, agent_id=e.agent_id, deployment_id=e.deployment_id,
        venue=e.venue, venue_symbol=e.venue_symbol, instrument=e.instrument, side=e.side, state=e.state, entry_price=e.entry_price,
        exit_price=e.exit_price, qty=e.qty, notional_usd=e.notional_usd, leverage=e.leverage, fees_usd=e.fees_usd,
        realized_pnl_usd=e.realized_pnl_usd, close_reason=e.close_reason, opened_at=e.opened_at, closed_at=e.closed_at,
        updated_at=e.occurred_at, equity_usd=e.equity_usd,
    ), on_conflict="""ON CONFLICT (position_id) DO UPDATE SET state = EXCLUDED.state, exit_price = EXCLUDED.exit_price,
                        realized_pnl_usd = EXCLUDED.realized_pnl_usd, close_reason = EXCLUDED.close_reason,
                        closed_at = EXCLUDED.closed_at, fees_usd = EXCLUDED.fees_usd, updated_at = EXCLUDED.updated_at
                      WHERE positions.updated_at <= EXCLUDED.updated_at""",
       key=e.position_id)


def catalog(tx: Tx, e: MarketCatalog) -> None:
    """A venue's pair counts from its listed markets (delisted ones left out). A DEGRADED catalog lists none: its
    status and error replace the last ones, its counts (NULL) leave the last good sync's."""
    listed = [m for m in e.markets if not m.is_delisted]
    fees = sorted(m.taker_fee_bps for m in listed)
    classes: dict[str, int] = {}
    for m in listed:
        classes[m.asset_class] = classes.get(m.asset_class, 0) + 1
    counted = e.status == CatalogStatus.OK
    tx.insert("venue_catalogs", dict(
        venue=e.venue, status=e.status, synced_at=e.synced_at, error=e.error, updated_at=e.occurred_at,
        pairs=len(listed) if counted else None, open_pairs=sum(m.is_open for m in listed) if counted else None,
        short_pairs=sum(m.supports_short for m in listed) if counted else None, asset_classes=classes if counted else None,
        median_taker_fee_bps=fees[len(fees) // 2] if fees else None,
        max_leverage=max((m.max_leverage for m in listed), default=None),
    ), on_conflict="""ON CONFLICT (venue) DO UPDATE SET status = EXCLUDED.status, synced_at = EXCLUDED.synced_at,
                        error = EXCLUDED.error, updated_at = EXCLUDED.updated_at,
                        pairs = coalesce(EXCLUDED.pairs, venue_catalogs.pairs),
                        open_pairs = coalesce(EXCLUDED.open_pairs, venue_catalogs.open_pairs),
                        short_pairs = coalesce(EXCLUDED.short_pairs, venue_catalogs.short_pairs),
                        asset_classes = coalesce(EXCLUDED.asset_classes, venue_catalogs.asset_classes),
                        median_taker_fee_bps = coalesce(EXCLUDED.median_taker_fee_bps, venue_catalogs.median_taker_fee_bps),
                        max_leverage = coalesce(EXCLUDED.max_leverage, venue_catalogs.max_leverage)
                      WHERE venue_catalogs.updated_at <= EXCLUDED.updated_at""",
       key=e.venue)


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
    MarketCatalog: catalog,
}  # type: ignore[dict-item]
