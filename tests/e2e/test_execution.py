"""The executor against the simulated venues: one venue order per order whatever happens, positions
opened on fill and closed by their risk model at the right tick, PnL right for long and short."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from vprime_local.stack import ServiceStack
from vprime_shared import ids
from tests.conftest import eventually
from vprime_executor.domain.closes import close_client_id
from tests.e2e.helpers import (hyperliquid_positions, set_price, settled_timeline, signal, sim_admin, tick,
                               trading_deployment)

pytestmark = pytest.mark.integration


async def venue_orders(http: httpx.AsyncClient, sim: str, client_order_id: str) -> int:
    r = await http.get(f"{sim}/admin/orders", params={"client_order_id": client_order_id}, headers=sim_admin())
    assert r.status_code == 200, r.text
    return r.json()["count"]






async def test_hyperliquid_order_is_signed_sized_and_placed_once(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, producer: AIOKafkaProducer, admin_db: asyncpg.Pool
) -> None:
    sim = stack.url("simulator")
    agent, deployment = await trading_deployment(http, control_url, sim, ["HYPERLIQUID"], equity_usd=20_000, name="hl once")
    await set_price(http, sim, "HYPERLIQUID", "ATOM", 4.0)
    s = await signal(http, control_url, agent["id"], "ATOM")  # 25 % of 20,000 at 1x: 5,000 USD
    t = await settled_timeline(http, query_url, s["id"])
    [order], [position] = t["orders"], t["positions"]
    assert t["signal"]["status"] == "EXECUTED" and order["venue"] == "HYPERLIQUID"
    assert position["qty"] == pytest.approx(1250, rel=0.01)  # sized from the account's equity on the venue, in coins
    assert round(position["qty"], 2) == position["qty"]  # ATOM szDecimals 2
    cid = order["client_order_id"]
    assert cid == ids.client_order_id(uuid.UUID(order["order_id"]))
    assert await venue_orders(http, sim, cid) == 1

    # The same order delivered again (as a redelivery would): still one venue order.
    row = await admin_db.fetchrow("SELECT key, payload FROM router.outbox WHERE topic = 'orders.v1' AND convert_from(payload, 'UTF8')::jsonb ->> 'order_id' = $1",
                                  order["order_id"])
    again = json.loads(bytes(row["payload"]))
    again["event_id"] = str(uuid.uuid4())  # a producer re-sending the same order as a new event
    for payload in (bytes(row["payload"]), json.dumps(again).encode()):
        await producer.send_and_wait("orders.v1", payload, key=row["key"].encode())
    await asyncio.sleep(2)
    assert await venue_orders(http, sim, cid) == 1
    assert await admin_db.fetchval("SELECT count(*) FROM executor.positions WHERE order_id = $1", uuid.UUID(order["order_id"])) == 1
    assert (await hyperliquid_positions(http, sim, deployment["user_wallet"]))["ATOM"] == pytest.approx(position["qty"])


@pytest.mark.parametrize(("crash", "instrument", "at_venue_after_crash"), [
    ("after_send", "DOT", 1),    # the venue has it, the answer was never recorded: found again by client id, not sent again
    ("before_send", "NEAR", 0),  # recorded, never sent: recovery sends it, as the crashed instance would have
])
async def test_an_executor_crash_around_the_send_leaves_exactly_one_venue_order(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, admin_db: asyncpg.Pool,
    crash: str, instrument: str, at_venue_after_crash: int,
) -> None:
    sim = stack.url("simulator")
    agent, _ = await trading_deployment(http, control_url, sim, ["HYPERLIQUID"], name=f"crash {crash}")
    await asyncio.to_thread(stack.stop, "executor")
    await asyncio.to_thread(stack.start, "executor", EXECUTOR_CRASH=crash)
    await asyncio.to_thread(stack.wait_healthy, 120, ("executor",))
    s = await signal(http, control_url, agent["id"], instrument)

    async def executor_died() -> bool:
        from vprime_local.infra import pid_alive

        return pid_alive(stack.pid_file("executor")) is None

    await eventually(executor_died, timeout=60, what=f"the executor to crash ({crash})")
    order = await admin_db.fetchrow("SELECT order_id, client_order_id, status FROM executor.orders WHERE intent_id IN "
                                    "(SELECT intent_id FROM policy.decisions WHERE signal_id = $1)", uuid.UUID(s["id"]))
    assert order["status"] == "SENDING"  # recorded before the send; nothing after it recorded
    assert await venue_orders(http, sim, order["client_order_id"]) == at_venue_after_crash

    await asyncio.to_thread(stack.start, "executor")
    await asyncio.to_thread(stack.wait_healthy, 120, ("executor",))
    t = await settled_timeline(http, query_url, s["id"], timeout=90)
    assert t["signal"]["status"] == "EXECUTED" and len(t["positions"]) == 1
    assert [d["selected_venue"] for d in t["routing_decisions"]] == ["HYPERLIQUID"]  # no failover: the crash changed nothing
    assert await venue_orders(http, sim, order["client_order_id"]) == 1
    assert await admin_db.fetchval("SELECT status FROM executor.orders WHERE order_id = $1", order["order_id"]) == "FILLED"


@pytest.mark.parametrize(("side", "instrument", "path", "closes_at"), [
    ("LONG", "AAVE", [200.0, 210.0, 204.0], 203.0),    # best 210, stop 3 %: 203.7; 204 holds, 203 closes
    ("SHORT", "UNI", [10.0, 9.0, 9.25], 9.3),          # best 9, stop 3 %: 9.27; 9.25 holds, 9.3 closes
])
async def test_trailing_stop_closes_at_the_right_tick_with_the_right_pnl(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, producer: AIOKafkaProducer,
    side: str, instrument: str, path: list[float], closes_at: float,
) -> None:
    sim = stack.url("simulator")
    agent, deployment = await trading_deployment(http, control_url, sim, ["HYPERLIQUID"], name=f"stop {side}")
    await set_price(http, sim, "HYPERLIQUID", instrument, path[0])
    s = await signal(http, control_url, agent["id"], instrument, side=side)
    t = await settled_timeline(http, query_url, s["id"])
    [position] = t["positions"]
    for mid in path[1:]:
        await set_price(http, sim, "HYPERLIQUID", instrument, mid)
        await tick(producer, "HYPERLIQUID", instrument, mid)
    await asyncio.sleep(1.5)
    still = (await http.get(f"{query_url}/api/v3/signals/{s['id']}/timeline")).json()["positions"][0]
    assert still["state"] == "OPEN", "closed too early"
    await set_price(http, sim, "HYPERLIQUID", instrument, closes_at)
    await tick(producer, "HYPERLIQUID", instrument, closes_at)

    async def closed() -> dict | None:
        p = (await http.get(f"{query_url}/api/v3/signals/{s['id']}/timeline")).json()["positions"][0]
        return p if p["state"] == "CLOSED" else None

    done = await eventually(closed, what="the trailing stop to close the position")
    assert done["close_reason"].startswith("trailing_stop")
    direction = 1 if side == "LONG" else -1
    expected = (done["exit_price"] - done["entry_price"]) * done["qty"] * direction - done["fees_usd"]
    assert done["realized_pnl_usd"] == pytest.approx(expected, rel=1e-9)
    assert done["exit_price"] == pytest.approx(closes_at, rel=0.002)  # closed on the venue near the tick's price
    # Both trades close in profit: the long entered at 200 and left near 203, the short entered at 10 and left near 9.3.
    assert done["realized_pnl_usd"] > 0 and (done["exit_price"] - done["entry_price"]) * direction > 0
    assert instrument not in await hyperliquid_positions(http, sim, deployment["user_wallet"])  # closed reduce-only, nothing left
    assert position["position_id"] == done["position_id"]


async def test_a_close_the_venue_refuses_is_retried_under_a_new_client_id(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, producer: AIOKafkaProducer, admin_db: asyncpg.Pool
) -> None:
    """Hyperliquid refuses a cloid it has seen, whatever became of its order: a close refused once (an IoC the book
    could not match) is retried as attempt 2, under a new cloid, and fills."""
    sim = stack.url("simulator")
    agent, _ = await trading_deployment(http, control_url, sim, ["HYPERLIQUID"], name="close retried")
    await set_price(http, sim, "HYPERLIQUID", "TIA", 10.0)
    s = await signal(http, control_url, agent["id"], "TIA")  # a 3 % trailing stop
    [position] = (await settled_timeline(http, query_url, s["id"]))["positions"]
    position_id = uuid.UUID(position["position_id"])

    # The book's best bid 5 % under the mid, past the close's 1 % limit: the reduce-only IoC cannot match.
    r = await http.post(f"{sim}/admin/book", json={"venue": "HYPERLIQUID", "instrument": "TIA", "mid": 9.0, "spread_bps": 1000},
                        headers=sim_admin())
    assert r.status_code == 200, r.text
    await tick(producer, "HYPERLIQUID", "TIA", 9.0)

    async def released() -> bool:
        row = await admin_db.fetchrow("SELECT state, closing_since, close_attempt FROM executor.positions WHERE position_id = $1",
                                      position_id)
        return row["close_attempt"] == 1 and row["closing_since"] is None and row["state"] == "OPEN"

    await eventually(released, what="the refused close to leave the position open")
    first = await http.get(f"{sim}/admin/orders", params={"client_order_id": close_client_id(position_id, 1)}, headers=sim_admin())
    assert [o["status"] for o in first.json()["orders"]] == ["iocCancelRejected"]

    r = await http.post(f"{sim}/admin/book", json={"venue": "HYPERLIQUID", "instrument": "TIA", "mid": 9.0, "spread_bps": 2},
                        headers=sim_admin())
    assert r.status_code == 200, r.text
    await tick(producer, "HYPERLIQUID", "TIA", 8.99)

    async def closed() -> dict | None:
        p = (await http.get(f"{query_url}/api/v3/signals/{s['id']}/timeline")).json()["positions"][0]
        return p if p["state"] == "CLOSED" else None

    done = await eventually(closed, what="the second close attempt to close the position")
    assert done["exit_price"] == pytest.approx(9.0, rel=0.01)
    assert await venue_orders(http, sim, close_client_id(position_id, 2)) == 1
    assert await venue_orders(http, sim, close_client_id(position_id, 1)) == 1  # the refused one, never sent again


async def test_below_the_venue_minimum_is_refused_with_the_reason(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack
) -> None:
    sim = stack.url("simulator")
    agent, _ = await trading_deployment(http, control_url, sim, ["HYPERLIQUID"], equity_usd=30, name="tiny")
    s = await signal(http, control_url, agent["id"], "ETH")  # 25 % of 30 USD: 7.50 USD, under Hyperliquid's 10
    t = await settled_timeline(http, query_url, s["id"])
    [order] = t["orders"]
    assert order["status"] == "REJECTED" and "below the minimum 10 USD" in order["reason"]
    assert t["positions"] == []


async def test_ostium_gmx_and_spot_trade_on_chain_by_transactions(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, admin_db: asyncpg.Pool
) -> None:
    """The on-chain venues fill by transactions the executor signed (each venue's own test proves the fill against
    the chain's events): the order is on the venue, not on paper, and its sends are journaled by client id."""
    sim = stack.url("simulator")
    for venue, instrument in (("OSTIUM", "SILVER"), ("GMX", "ARB"), ("SPOT", "LDO")):
        agent, deployment = await trading_deployment(http, control_url, sim, [venue], name=f"{venue} on chain")
        s = await signal(http, control_url, agent["id"], instrument)
        t = await settled_timeline(http, query_url, s["id"])
        assert t["signal"]["status"] == "EXECUTED", (venue, t["orders"])
        [position] = t["positions"]
        assert position["venue"] == venue and position["qty"] > 0
        sent = await admin_db.fetch(
            "SELECT vt.tx_hash, o.mode FROM executor.orders o JOIN executor.venue_transactions vt"
            " ON vt.client_id = o.client_order_id WHERE o.deployment_id = $1", uuid.UUID(deployment["id"]))
        assert sent and {r["mode"] for r in sent} == {"venue"}, (venue, sent)


async def test_reconciliation_reports_what_the_venue_holds_that_we_did_not_open(
    http: httpx.AsyncClient, control_url: str, stack: ServiceStack, admin_db: asyncpg.Pool
) -> None:
    sim = stack.url("simulator")
    agent, deployment = await trading_deployment(http, control_url, sim, ["HYPERLIQUID"], name="reconcile")
    r = await http.post(f"{sim}/admin/holdings", json={"venue": "HYPERLIQUID", "address": deployment["user_wallet"], "symbol": "OP", "size": 42.0,
                                                       "entry_px": 0.35}, headers=sim_admin())
    assert r.status_code == 200

    async def reported() -> asyncpg.Record | None:
        return await admin_db.fetchrow("SELECT ours, venue_size FROM executor.reconciliation WHERE deployment_id = $1 AND symbol = 'OP'",
                                       uuid.UUID(deployment["id"]))

    found = await eventually(reported, timeout=60, what="reconciliation to report the unknown OP position")
    assert (found["ours"], found["venue_size"]) == (0.0, 42.0)
    metrics = (await http.get(f"{stack.url('executor')}/metrics")).text
    assert "vprime_reconciliation_differences" in metrics
    # Reported, never covered up: no position, order or signal was invented for it.
    assert await admin_db.fetchval("SELECT count(*) FROM executor.positions WHERE deployment_id = $1", uuid.UUID(deployment["id"])) == 0
    assert agent["id"]
