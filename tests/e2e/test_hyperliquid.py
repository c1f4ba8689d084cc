"""Trading on Hyperliquid as the venue is, through the simulator's double of it: the account (not the API wallet)
is what every query names and what holds the position; the venue's leverage is set to the intent's; fills are the
venue's; nonces never collide; and an order whose answer is lost is looked up, never failed over."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from vprime_local.infra import pid_alive
from vprime_local.stack import ServiceStack
from tests.conftest import eventually
from tests.e2e.helpers import hyperliquid_info, hyperliquid_positions, settled_timeline, sim_admin, trading_deployment
from tests.e2e.helpers import long_signal, set_price, tick

pytestmark = pytest.mark.integration




async def venue_orders(http: httpx.AsyncClient, sim: str, client_order_id: str) -> list[dict]:
    r = await http.get(f"{sim}/admin/orders", params={"venue": "HYPERLIQUID", "client_order_id": client_order_id},
                       headers=sim_admin())
    assert r.status_code == 200, r.text
    return r.json()["orders"]


async def fault(http: httpx.AsyncClient, sim: str, mode: str) -> None:
    r = await http.post(f"{sim}/admin/faults", json={"venue": "HYPERLIQUID", "mode": mode, "scope": "orders"}, headers=sim_admin())
    assert r.status_code == 200, r.text


async def test_a_signal_opens_the_venues_fill_at_the_intents_leverage_on_the_account(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack,
) -> None:
    sim = stack.url("simulator")
    agent, deployment = await trading_deployment(http, control_url, sim, ["HYPERLIQUID"], equity_usd=20_000, name="hl 3x")
    account, api_wallet = deployment["user_wallet"], deployment["venue_accounts"]["HYPERLIQUID"]
    assert account.lower() != api_wallet.lower()
    s = await long_signal(http, control_url, agent["id"], "ETH", size_pct=10, leverage=3)
    t = await settled_timeline(http, query_url, s["id"])
    assert t["signal"]["status"] == "EXECUTED", t
    [order], [position] = t["orders"], t["positions"]
    [placed] = await venue_orders(http, sim, order["client_order_id"])
    # The position is what the venue filled, for the account: entry and quantity are the venue's.
    assert placed["account"] == account.lower() and placed["status"] == "filled"
    assert position["entry_price"] == pytest.approx(placed["avg_px"], rel=1e-9)
    assert position["qty"] == pytest.approx(placed["size"], rel=1e-9)
    # 10 % of the account's 20,000 USD at 3x: about 6,000 USD of ETH, sized down to the venue's lot.
    assert position["qty"] * position["entry_price"] == pytest.approx(6_000, rel=0.02)
    assert (await hyperliquid_positions(http, sim, account))["ETH"] == pytest.approx(position["qty"])
    leverage = (await hyperliquid_info(http, sim, {"type": "activeAssetData", "user": account, "coin": "ETH"}))["leverage"]
    assert leverage["value"] == 3
    named = (await http.get(f"{sim}/admin/hyperliquid/info-users", headers=sim_admin())).json()["users"]
    assert named.get(account.lower(), 0) >= 2  # equity, leverage, the fill's fee: all asked of the account
    assert api_wallet.lower() not in named  # no info request named the API wallet


async def test_four_signals_at_once_all_fill(http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack) -> None:
    """One agent wallet signs four orders at the same moment: no two share a nonce, so the venue refuses none."""
    sim = stack.url("simulator")
    agent, _ = await trading_deployment(http, control_url, sim, ["HYPERLIQUID"], equity_usd=50_000, name="hl four")
    signals = await asyncio.gather(*(long_signal(http, control_url, agent["id"], i, size_pct=5, leverage=2)
                                     for i in ("BTC", "SOL", "AVAX", "LINK")))
    timelines = await asyncio.gather(*(settled_timeline(http, query_url, s["id"]) for s in signals))
    assert [t["signal"]["status"] for t in timelines] == ["EXECUTED"] * 4, [t["orders"] for t in timelines]
    assert all(o["status"] == "FILLED" for t in timelines for o in t["orders"])


async def test_a_lost_answer_is_looked_up_and_never_failed_over(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, admin_db: asyncpg.Pool,
) -> None:
    """The venue takes the order and the answer is lost: the order is unknown, not failed, so the router waits; the
    executor finds the fill by its client id and opens the position on Hyperliquid. Ostium was there to fail over to."""
    sim = stack.url("simulator")
    agent, deployment = await trading_deployment(http, control_url, sim, ["HYPERLIQUID", "OSTIUM"], name="hl lost answer")
    await fault(http, sim, "lose_answer")
    try:
        s = await long_signal(http, control_url, agent["id"], "ARB", size_pct=10, leverage=2)

        async def unknown() -> asyncpg.Record | None:
            return await admin_db.fetchrow(
                "SELECT order_id, client_order_id, status FROM executor.orders WHERE unknown_since IS NOT NULL AND intent_id IN "
                "(SELECT intent_id FROM policy.decisions WHERE signal_id = $1)", uuid.UUID(s["id"]))

        order = await eventually(unknown, timeout=60, what="the order's answer to be lost")
        assert order["status"] == "SENDING"  # unknown: not failed, not retried
    finally:
        await fault(http, sim, "ok")
    t = await settled_timeline(http, query_url, s["id"], timeout=90)
    assert t["signal"]["status"] == "EXECUTED" and len(t["positions"]) == 1
    assert [d["selected_venue"] for d in t["routing_decisions"]] == ["HYPERLIQUID"]  # nothing failed over
    assert [o["venue"] for o in t["orders"]] == ["HYPERLIQUID"]
    [placed] = await venue_orders(http, sim, order["client_order_id"])  # exactly one order reached the venue
    assert t["positions"][0]["qty"] == pytest.approx(placed["size"])
    assert (await hyperliquid_positions(http, sim, deployment["user_wallet"]))["ARB"] == pytest.approx(placed["size"])


async def test_a_lost_answer_and_a_killed_executor_still_make_one_position(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, admin_db: asyncpg.Pool,
) -> None:
    """As above, with the executor killed (-9) right after the send: the restarted one looks the order up too."""
    sim = stack.url("simulator")
    agent, _ = await trading_deployment(http, control_url, sim, ["HYPERLIQUID", "OSTIUM"], name="hl lost and killed")
    await asyncio.to_thread(stack.stop, "executor")
    await asyncio.to_thread(stack.start, "executor", EXECUTOR_CRASH="after_send")
    await asyncio.to_thread(stack.wait_healthy, 120, ("executor",))
    await fault(http, sim, "lose_answer")
    try:
        s = await long_signal(http, control_url, agent["id"], "OP", size_pct=10, leverage=2)

        async def executor_died() -> bool:
            return pid_alive(stack.pid_file("executor")) is None

        await eventually(executor_died, timeout=60, what="the executor to die after its send")
    finally:
        await fault(http, sim, "ok")
        await asyncio.to_thread(stack.start, "executor")
        await asyncio.to_thread(stack.wait_healthy, 120, ("executor",))
    t = await settled_timeline(http, query_url, s["id"], timeout=90)
    assert t["signal"]["status"] == "EXECUTED" and [o["venue"] for o in t["orders"]] == ["HYPERLIQUID"]
    assert len(await venue_orders(http, sim, t["orders"][0]["client_order_id"])) == 1


async def test_a_close_whose_answer_is_lost_is_looked_up_not_sent_again(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, producer: AIOKafkaProducer,
) -> None:
    """A stop closes the position on the venue and the answer is lost: recovery finds the close's fill by its client id
    and records it; the position is closed once, on the venue and in the books."""
    sim = stack.url("simulator")
    agent, deployment = await trading_deployment(http, control_url, sim, ["HYPERLIQUID"], name="hl lost close")
    await set_price(http, sim, "HYPERLIQUID", "INJ", 20.0)
    s = await long_signal(http, control_url, agent["id"], "INJ", size_pct=10, leverage=2, stop=0.05)
    t = await settled_timeline(http, query_url, s["id"])
    assert t["signal"]["status"] == "EXECUTED"
    await fault(http, sim, "lose_answer")
    try:
        await set_price(http, sim, "HYPERLIQUID", "INJ", 18.0)  # 10 % down: past the 5 % stop
        await tick(producer, "HYPERLIQUID", "INJ", 18.0)

        async def flat_on_the_venue() -> bool:
            return "INJ" not in await hyperliquid_positions(http, sim, deployment["user_wallet"])

        await eventually(flat_on_the_venue, timeout=30, what="the close to reach the venue")
    finally:
        await fault(http, sim, "ok")

    async def closed() -> dict | None:
        p = (await http.get(f"{query_url}/api/v3/signals/{s['id']}/timeline")).json()["positions"][0]
        return p if p["state"] == "CLOSED" else None

    done = await eventually(closed, timeout=90, what="recovery to record the close it found on the venue")
    assert done["exit_price"] == pytest.approx(18.0, rel=0.01)
    closes = [o for o in (await http.get(f"{sim}/admin/orders", params={"venue": "HYPERLIQUID"}, headers=sim_admin())).json()["orders"]
              if o["account"] == deployment["user_wallet"].lower() and o["reduce_only"]]
    assert len(closes) == 1 and closes[0]["status"] == "filled"  # closed once
