"""Agent How end to end: deployment policies on real Kafka and Postgres."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from vprime_local.stack import ServiceStack
from vprime_shared.contracts import MarketTick
from vprime_shared.contracts.base import utcnow
from tests.conftest import eventually
from tests.e2e.helpers import E2E_WALLET, create_agent, deploy, settled_timeline, signal

pytestmark = pytest.mark.integration


async def tick(producer: AIOKafkaProducer, instrument: str, mid: float, venue: str = "HYPERLIQUID") -> None:
    t = MarketTick(venue=venue, instrument=instrument, bid=mid * 0.9999, ask=mid * 1.0001, mid=mid, ts=utcnow())
    await producer.send_and_wait(MarketTick.TOPIC, t.model_dump_json().encode(), key=instrument.encode())


async def policy_sees(db: asyncpg.Pool, deployment_id: str, state: str, n: int) -> bool:
    return await db.fetchval(
        "SELECT count(*) FROM policy.positions WHERE deployment_id = $1 AND state = $2", uuid.UUID(deployment_id), state
    ) == n


async def test_max_open_positions_then_freed_by_a_close(
    http: httpx.AsyncClient, control_url: str, query_url: str, admin_db: asyncpg.Pool, producer: AIOKafkaProducer, stack: ServiceStack
) -> None:
    agent = await create_agent(http, control_url, name="one at a time")
    deployment = await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID"], policy={"max_open_positions": 1})
    assert deployment["policy"] == {"max_open_positions": 1}
    await tick(producer, "LTC", 100.0)
    await eventually(lambda: _price_is(admin_db, "LTC", 100.0), what="the executor to price LTC")

    first = await signal(http, control_url, agent["id"], "LTC")
    first_t = await settled_timeline(http, query_url, first["id"])
    assert first_t["signal"]["status"] == "EXECUTED"
    await eventually(lambda: policy_sees(admin_db, deployment["id"], "OPEN", 1), what="policy to see the open position")

    second = await signal(http, control_url, agent["id"], "BTC")
    second_t = await settled_timeline(http, query_url, second["id"])
    assert second_t["signal"]["status"] == "REJECTED"
    [intent] = second_t["intents"]
    assert intent["reasons"][0]["rule"] == "max_open_positions"
    assert intent["reasons"][0]["detail"] == "1 open + 0 pending >= max_open_positions 1"

    # The policy service restarts mid-stream: its risk state is in its schema, so nothing changes.
    await asyncio.to_thread(stack.stop, "policy")
    while_down = await signal(http, control_url, agent["id"], "SOL")
    await asyncio.to_thread(stack.start, "policy")
    await asyncio.to_thread(stack.wait_healthy, 120, ("policy",))
    while_down_t = await settled_timeline(http, query_url, while_down["id"])
    assert while_down_t["signal"]["status"] == "REJECTED" and while_down_t["intents"][0]["reasons"][0]["rule"] == "max_open_positions"

    # LTC falls 5 % through the 3 % trailing stop: the position closes, the slot frees up.
    await tick(producer, "LTC", 95.0)

    async def closed() -> dict | None:
        t = (await http.get(f"{query_url}/api/v3/signals/{first['id']}/timeline")).json()
        return t if t["positions"][0]["state"] == "CLOSED" else None

    closed_t = await eventually(closed, what="the trailing stop to close the position")
    position = closed_t["positions"][0]
    assert position["realized_pnl_usd"] < 0 and position["close_reason"].startswith("trailing_stop")
    await eventually(lambda: policy_sees(admin_db, deployment["id"], "CLOSED", 1), what="policy to see the close")

    third = await signal(http, control_url, agent["id"], "XRP")
    assert (await settled_timeline(http, query_url, third["id"]))["signal"]["status"] == "EXECUTED"

    overview = (await http.get(f"{query_url}/api/v3/stats/overview")).json()["stats"]
    assert overview["rejections_by_rule"]["max_open_positions"] >= 2


async def policy_has(db: asyncpg.Pool, deployment_id: str, status: str, **policy: object) -> bool:
    row = await db.fetchrow("SELECT status, policy FROM policy.deployments WHERE deployment_id = $1", uuid.UUID(deployment_id))
    return row is not None and row["status"] == status and all(json.loads(row["policy"]).get(k) == v for k, v in policy.items())


async def test_pause_resume_and_policy_changes(http: httpx.AsyncClient, control_url: str, query_url: str, admin_db: asyncpg.Pool) -> None:
    agent = await create_agent(http, control_url, name="paused")
    deployment = await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID", "OSTIUM"])
    r = await http.post(f"{control_url}/api/v3/deployments/{deployment['id']}/pause")
    assert r.status_code == 200 and r.json()["deployment"]["status"] == "PAUSED"
    # A change reaches policy as a registry event: signals it decides after that see it.
    await eventually(lambda: policy_has(admin_db, deployment["id"], "PAUSED"), what="policy to see the pause")
    paused = await signal(http, control_url, agent["id"], "ETH")
    paused_t = await settled_timeline(http, query_url, paused["id"])
    assert paused_t["signal"]["status"] == "REJECTED" and paused_t["intents"][0]["reasons"][0]["rule"] == "deployment_paused"
    assert paused_t["routing_decisions"] == []

    assert (await http.post(f"{control_url}/api/v3/deployments/{deployment['id']}/resume")).json()["deployment"]["resumed_at"]
    policy = {"allowed_sides": ["LONG"], "max_position_pct": 10, "venue_bias": {"excluded": ["HYPERLIQUID"]}}
    r = await http.put(f"{control_url}/api/v3/deployments/{deployment['id']}/policy", json=policy)
    assert r.status_code == 200 and r.json()["deployment"]["policy"]["max_position_pct"] == 10
    await eventually(lambda: policy_has(admin_db, deployment["id"], "ACTIVE", max_position_pct=10), what="policy to see the new policy")

    async def applied(s: dict) -> dict:
        return await settled_timeline(http, query_url, s["id"])

    short = await applied(await signal(http, control_url, agent["id"], "BTC", side="SHORT"))
    assert short["intents"][0]["reasons"][0]["rule"] == "allowed_sides"
    long_ = await applied(await signal(http, control_url, agent["id"], "ETH"))  # 25 % asked, 10 % allowed; HL excluded
    [intent] = long_["intents"]
    assert intent["status"] == "APPROVED" and intent["size_pct"] == 10
    assert {r["rule"] for r in intent["reasons"]} == {"max_position_pct", "venue_bias"}
    [decision] = long_["routing_decisions"]
    assert decision["selected_venue"] == "OSTIUM" and decision["checked_venues"] == ["OSTIUM"]

    assert (await http.post(f"{control_url}/api/v3/deployments/{deployment['id']}/stop")).json()["deployment"]["status"] == "STOPPED"
    r = await http.post(f"{control_url}/api/v3/deployments/{deployment['id']}/resume")
    assert r.status_code == 409 and "stopped for good" in r.json()["error"]


async def test_bad_policies_are_refused_with_the_reason(http: httpx.AsyncClient, control_url: str) -> None:
    agent = await create_agent(http, control_url)
    r = await http.post(f"{control_url}/api/v3/agents/deploy", json={
        "agent_id": agent["id"], "user_wallet": E2E_WALLET, "policy": {"max_open_positions": -1}})
    assert r.status_code == 422 and "max_open_positions" in r.json()["error"]
    deployment = await deploy(http, control_url, agent["id"])
    r = await http.put(f"{control_url}/api/v3/deployments/{deployment['id']}/policy", json={"trading_hours": [{"start": "9am", "end": "5pm"}]})
    assert r.status_code == 422 and "HH:MM" in r.json()["error"]
    r = await http.post(f"{control_url}/api/v3/deployments/{uuid.uuid4()}/pause")
    assert r.status_code == 404


async def _price_is(db: asyncpg.Pool, instrument: str, mid: float) -> bool:
    return await db.fetchval("SELECT mid FROM executor.prices WHERE venue = 'HYPERLIQUID' AND instrument = $1", instrument) == mid
