"""Query's read models hold what the events say: every column of every read-model row of a signal's way to its
position equals the event it was projected from (the events read back from the producing services' outboxes).
A batch's rows of one kind go in one statement; rows of one key (a position opened and closed, a signal driven
again) go in order; a column a read model does not have fails the statement."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from tests.e2e.helpers import create_agent, deploy, rolled_back_schema, settled_timeline, signal
from vprime_shared.contracts import Execution, Intent, Order, Position, PositionState, RoutingDecision, Signal
from vprime_shared.contracts.base import utcnow
from vprime_shared.unit_of_work import Tx

from vprime_query import projections

pytestmark = pytest.mark.integration

conn = rolled_back_schema("query", json_codec=True)


async def events(admin_db: asyncpg.Pool, schema: str, model: type, signal_id: str) -> list[Any]:
    rows = await admin_db.fetch(f"SELECT payload FROM {schema}.outbox WHERE topic = $1 AND "
                                "convert_from(payload, 'UTF8')::jsonb ->> 'signal_id' = $2 ORDER BY id", model.TOPIC, signal_id)
    return [model.model_validate_json(r["payload"]) for r in rows]


def jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


async def test_every_read_model_row_equals_its_event(http: httpx.AsyncClient, control_url: str, query_url: str,
                                                      admin_db: asyncpg.Pool) -> None:
    agent = await create_agent(http, control_url, name="projections")
    await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID"])
    made = await signal(http, control_url, agent["id"], "ETH", side="SHORT")
    await settled_timeline(http, query_url, made["id"])

    [s] = await events(admin_db, "control", Signal, made["id"])
    [i] = await events(admin_db, "policy", Intent, made["id"])
    [d] = await events(admin_db, "router", RoutingDecision, made["id"])
    [o] = await events(admin_db, "router", Order, made["id"])
    [e] = await events(admin_db, "executor", Execution, made["id"])
    [p] = await events(admin_db, "executor", Position, made["id"])

    row = dict(await admin_db.fetchrow("SELECT * FROM query.signals WHERE signal_id = $1", s.signal_id))
    assert orjson.loads(row.pop("size_model")) == jsonable(s.size_model.model_dump())
    assert orjson.loads(row.pop("risk_model")) == jsonable(s.risk_model.model_dump())
    assert row == {"signal_id": s.signal_id, "agent_id": s.agent_id, "instrument": s.instrument, "side": "SHORT",
                   "confidence": s.confidence, "requested_venue": s.requested_venue.value, "origin": s.origin.value,
                   "drive": s.drive, "created_at": s.occurred_at, "source_tweets": s.source_tweets,
                   "source_research": s.source_research, "score": None}

    row = dict(await admin_db.fetchrow("SELECT * FROM query.intents WHERE intent_id = $1", i.intent_id))
    assert orjson.loads(row.pop("reasons")) == jsonable([r.model_dump() for r in i.reasons])
    assert row == {"intent_id": i.intent_id, "signal_id": i.signal_id, "agent_id": i.agent_id, "deployment_id": i.deployment_id,
                   "drive": i.drive, "status": i.status.value, "size_pct": i.size_pct, "leverage": i.leverage,
                   "venue_preference": [v.value for v in i.venue_preference], "decided_at": i.occurred_at}

    row = dict(await admin_db.fetchrow("SELECT * FROM query.routing_decisions WHERE decision_id = $1", d.decision_id))
    assert orjson.loads(row.pop("venue_availability")) == jsonable({k: v.model_dump() for k, v in d.venue_availability.items()})
    assert orjson.loads(row.pop("costs")) == jsonable({k: v.model_dump() for k, v in d.costs.items()})
    assert row == {"decision_id": d.decision_id, "intent_id": d.intent_id, "signal_id": d.signal_id, "agent_id": d.agent_id,
                   "deployment_id": d.deployment_id, "instrument": d.instrument, "side": d.side.value,
                   "requested_venue": d.requested_venue.value, "selected_venue": "HYPERLIQUID", "reason": d.reason,
                   "checked_venues": [v.value for v in d.checked_venues], "strategy": d.strategy, "attempt": d.attempt,
                   "duration_ms": d.duration_ms, "decided_at": d.occurred_at, "failed_venues": [v.value for v in d.failed_venues],
                   "duration_us": d.duration_us}

    row = dict(await admin_db.fetchrow("SELECT * FROM query.orders WHERE order_id = $1", o.order_id))
    assert row == {"order_id": o.order_id, "intent_id": o.intent_id, "signal_id": o.signal_id, "deployment_id": o.deployment_id,
                   "venue": "HYPERLIQUID", "venue_symbol": o.venue_symbol, "instrument": o.instrument, "side": "SHORT",
                   "size_pct": o.size_pct, "leverage": o.leverage, "attempt": o.attempt, "status": "FILLED",
                   "fill_price": e.fill_price, "qty": e.qty, "fee_usd": e.fee, "venue_order_id": e.venue_order_id,
                   "client_order_id": e.client_order_id, "reason": e.reason, "created_at": row["created_at"]}
    assert row["created_at"] in (o.occurred_at, e.occurred_at)  # whichever of the two came first

    row = dict(await admin_db.fetchrow("SELECT * FROM query.positions WHERE position_id = $1", p.position_id))
    assert row == {"position_id": p.position_id, "order_id": p.order_id, "signal_id": p.signal_id, "agent_id": p.agent_id,
                   "deployment_id": p.deployment_id, "venue": "HYPERLIQUID", "venue_symbol": p.venue_symbol,
                   "instrument": p.instrument, "side": "SHORT", "state": "OPEN", "entry_price": p.entry_price, "exit_price": None,
                   "qty": p.qty, "notional_usd": p.notional_usd, "leverage": p.leverage, "fees_usd": p.fees_usd,
                   "realized_pnl_usd": None, "close_reason": None, "opened_at": p.opened_at, "closed_at": None,
                   "updated_at": p.occurred_at, "equity_usd": p.equity_usd}


def a_position(**changes: Any) -> Position:
    opened = utcnow()
    return Position(position_id=uuid.uuid4(), order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(),
                    agent_id=uuid.uuid4(), deployment_id=uuid.uuid4(), venue="HYPERLIQUID", venue_symbol="ETH", instrument="ETH",
                    side="LONG", state=PositionState.OPEN, entry_price=3000.0, qty=0.5, notional_usd=1500.0, size_pct=10,
                    equity_usd=15_000, leverage=1, opened_at=opened, occurred_at=opened).model_copy(update=changes)


async def test_rows_of_one_key_are_written_in_order_and_the_rest_together(conn: asyncpg.Connection) -> None:
    opened, other = a_position(), a_position()
    closed = opened.model_copy(update={"state": PositionState.CLOSED, "exit_price": 3100.0, "realized_pnl_usd": 50.0,
                                       "closed_at": opened.opened_at + timedelta(minutes=5),
                                       "occurred_at": opened.opened_at + timedelta(minutes=5)})
    async with Tx.on(conn) as tx:
        for p in (opened, other, closed):
            projections.position(tx, p)
        assert [len(rows) for _, rows in next(iter(tx._deferred.values()))] == [2, 1]  # noqa: SLF001 - two statements
    rows = {r["position_id"]: r for r in await conn.fetch("SELECT position_id, state, exit_price, realized_pnl_usd FROM positions "
                                                           "WHERE position_id = ANY($1::uuid[])", [opened.position_id, other.position_id])}
    assert tuple(rows[opened.position_id].values())[1:] == ("CLOSED", 3100.0, 50.0)
    assert rows[other.position_id]["state"] == "OPEN"


async def test_a_column_the_read_model_does_not_have_fails_the_statement(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.UndefinedColumnError):
        async with conn.transaction(), Tx.on(conn) as tx:
            tx.insert("positions", {"position_id": uuid.uuid4(), "stat": "OPEN"})
