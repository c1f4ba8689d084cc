"""The executor's reactions to events."""

from __future__ import annotations

from typing import Protocol

from vprime_shared import ids
from vprime_shared.contracts import DeploymentState, Execution, ExecutionStatus, MarketTick, Order, Position, PositionState
from vprime_shared.contracts.base import utcnow
from vprime_shared.ids import new_id
from vprime_shared.unit_of_work import Tx

from vprime_executor.adapters.prices import PriceBook
from vprime_executor.adapters.venues import VenueRefused, VenueUnavailable
from vprime_executor.adapters.venues.paper import PaperVenue
from vprime_executor.adapters.venues.paper.venue import NoPrice
from vprime_executor.domain.fills import Fill
from vprime_executor.domain.stops import realized_pnl, trail


async def tick_received(tx: Tx, tick: MarketTick, venue: PaperVenue) -> list[Position]:
    """Record the price, then move the trailing stops of the venue's open positions in it; close what hit."""
    await PriceBook(tx.conn).update(tick)
    rows = await tx.conn.fetch(
        """SELECT position_id, best_price, stop_fraction, payload FROM positions
           WHERE instrument = $1 AND venue = $2 AND state = 'OPEN' AND stop_fraction IS NOT NULL FOR UPDATE""",
        tick.instrument.upper(), tick.venue.upper(),
    )
    closed = []
    for row in rows:
        position = Position.model_validate(row["payload"])
        moved = trail(position.side, row["best_price"], row["stop_fraction"], tick.mid)
        if not moved.triggered:
            if moved.best_price != row["best_price"]:
                await tx.conn.execute("UPDATE positions SET best_price = $2 WHERE position_id = $1", row["position_id"], moved.best_price)
            continue
        exit_price, exit_fee = venue.exit_fill(position, tick.mid)
        fees = position.fees_usd + exit_fee
        pnl = realized_pnl(position.side, position.entry_price, exit_price, position.qty, fees)
        done = position.model_copy(update={
            "event_id": new_id(), "occurred_at": utcnow(), "state": PositionState.CLOSED, "exit_price": exit_price,
            "fees_usd": fees, "realized_pnl_usd": pnl, "closed_at": tick.ts,
            "close_reason": f"trailing_stop: {tick.mid:g} crossed {moved.stop_price:g} ({row['stop_fraction']:.2%} from best {moved.best_price:g})",
        })
        await tx.conn.execute(
            """UPDATE positions SET state = 'CLOSED', best_price = $2, closed_at = $3, exit_price = $4, realized_pnl_usd = $5,
                   payload = $6 WHERE position_id = $1""",
            row["position_id"], moved.best_price, tick.ts, exit_price, pnl, done.model_dump(mode="json"),
        )
        await tx.publish(done)
        closed.append(done)
    return closed


class Venues(Protocol):
    """Chooses the adapter an order is placed through."""

    async def for_order(self, tx: Tx, order: Order) -> VenueAdapter: ...


class VenueAdapter(Protocol):
    equity_usd: float

    async def place_order(self, order: Order) -> tuple[Fill, str]: ...


async def deployment_changed(tx: Tx, deployment: DeploymentState) -> None:
    await tx.conn.execute(
        """INSERT INTO accounts (deployment_id, venue_accounts, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (deployment_id) DO UPDATE SET venue_accounts = EXCLUDED.venue_accounts, updated_at = EXCLUDED.updated_at
           WHERE accounts.updated_at <= EXCLUDED.updated_at""",
        deployment.deployment_id, {k.value: v for k, v in deployment.venue_accounts.items()}, deployment.occurred_at,
    )


async def order_received(tx: Tx, order: Order, venues: Venues) -> Execution | None:
    """Place the order once (its client order id is derived from the order id), then open the position."""
    client_order_id = ids.client_order_id(order.order_id)
    claimed = await tx.conn.execute(
        """INSERT INTO orders (order_id, client_order_id, intent_id, deployment_id, venue, venue_symbol, side, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING') ON CONFLICT (order_id) DO NOTHING""",
        order.order_id, client_order_id, order.intent_id, order.deployment_id, order.venue.value, order.venue_symbol,
        order.side.value,
    )
    if not claimed.endswith("1"):
        return None  # this order was placed before
    base = dict(order_id=order.order_id, intent_id=order.intent_id, signal_id=order.signal_id,
                deployment_id=order.deployment_id, venue=order.venue, client_order_id=client_order_id)
    venue = await venues.for_order(tx, order)
    try:
        fill, venue_order_id = await venue.place_order(order)
    except (NoPrice, VenueRefused, VenueUnavailable) as exc:
        unavailable = isinstance(exc, VenueUnavailable)
        execution = Execution(
            **base, status=ExecutionStatus.FAILED if unavailable else ExecutionStatus.REJECTED, retryable=unavailable,
            venue_specific=unavailable or getattr(exc, "venue_specific", False), reason=str(exc),
        )
        await tx.conn.execute("UPDATE orders SET status = $3, reason = $2 WHERE order_id = $1", order.order_id, str(exc),
                              execution.status.value)
        await tx.publish(execution)
        return execution
    execution = Execution(**base, status=ExecutionStatus.FILLED, fill_price=fill.price, qty=fill.qty, fee=fill.fee_usd,
                          venue_order_id=venue_order_id, reason="filled on paper")
    await tx.conn.execute(
        "UPDATE orders SET status = 'FILLED', fill_price = $2, qty = $3 WHERE order_id = $1", order.order_id, fill.price, fill.qty
    )
    position = Position(
        position_id=ids.position_id(order.order_id), order_id=order.order_id, intent_id=order.intent_id,
        signal_id=order.signal_id, agent_id=order.agent_id, deployment_id=order.deployment_id, venue=order.venue,
        venue_symbol=order.venue_symbol, instrument=order.instrument, side=order.side, state=PositionState.OPEN,
        entry_price=fill.price, qty=fill.qty, notional_usd=fill.notional_usd, size_pct=order.size_pct,
        equity_usd=venue.equity_usd, leverage=order.leverage, fees_usd=fill.fee_usd, opened_at=utcnow(),
    )
    stop = order.risk_model.stop if order.risk_model.type != "none" else None
    await tx.conn.execute(
        """INSERT INTO positions (position_id, order_id, deployment_id, venue, instrument, side, state, entry_price, qty,
               notional_usd, opened_at, stop_fraction, best_price, payload)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)""",
        position.position_id, order.order_id, order.deployment_id, order.venue.value, order.instrument.upper(), order.side.value,
        position.state.value, fill.price, fill.qty, fill.notional_usd, position.opened_at, stop, fill.price,
        position.model_dump(mode="json"),
    )
    await tx.publish(execution)
    await tx.publish(position)
    return execution
