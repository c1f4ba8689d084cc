"""The seeds' Phase-4 scenario, end to end through every service on real Kafka and Postgres."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import eventually
from tests.e2e.helpers import E2E_WALLET, create_agent, deploy, settled_timeline, signal

pytestmark = pytest.mark.integration


def instrument_on_neither(catalog_path: str = "shared/src/vprime_shared/reference/venue-markets.json") -> str:
    venues = json.load(open(catalog_path))["venues"]
    listed = lambda v: {m["instrument"] for m in venues[v]["markets"]}  # noqa: E731
    candidates = sorted(listed("SPOT") - listed("HYPERLIQUID") - listed("OSTIUM"))
    assert candidates, "the catalog fixture has no instrument outside Hyperliquid and Ostium"
    return candidates[0]


async def test_multi_venue_agent_routes_by_availability(http: httpx.AsyncClient, control_url: str, query_url: str) -> None:
    agent = await create_agent(http, control_url, name="Phase 4 agent")
    assert agent["venue"] == "MULTI" and agent["status"] == "DRAFT"
    deployment = await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID", "OSTIUM"])
    assert deployment["enabled_venues"] == ["HYPERLIQUID", "OSTIUM"]

    eth = await signal(http, control_url, agent["id"], "ETH")
    gold = await signal(http, control_url, agent["id"], "GOLD")
    nowhere_symbol = instrument_on_neither()
    nowhere = await signal(http, control_url, agent["id"], nowhere_symbol)
    assert eth["requested_venue"] == "MULTI" and eth["status"] == "PENDING"

    eth_t = await settled_timeline(http, query_url, eth["id"])
    assert eth_t["signal"]["status"] == "EXECUTED"
    assert eth_t["signal"]["final_venue"] == "HYPERLIQUID"
    [decision] = eth_t["routing_decisions"]
    assert decision["selected_venue"] == "HYPERLIQUID" and decision["checked_venues"] == ["HYPERLIQUID"]
    assert decision["deployment_id"] == deployment["id"]
    [position] = eth_t["positions"]
    assert position["venue"] == "HYPERLIQUID" and position["state"] == "OPEN" and position["qty"] > 0
    [order] = eth_t["orders"]
    assert order["status"] == "FILLED" and order["client_order_id"].startswith("0x")

    gold_t = await settled_timeline(http, query_url, gold["id"])
    [decision] = gold_t["routing_decisions"]
    assert decision["selected_venue"] == "OSTIUM"
    assert decision["checked_venues"] == ["HYPERLIQUID", "OSTIUM"]
    assert decision["venue_availability"]["HYPERLIQUID"]["available"] is False
    assert "XAU-USD" in decision["reason"]
    assert gold_t["positions"][0]["venue_symbol"] == "XAU-USD"

    nowhere_t = await settled_timeline(http, query_url, nowhere["id"])
    assert nowhere_t["signal"]["status"] == "SKIPPED"
    [decision] = nowhere_t["routing_decisions"]
    assert decision["selected_venue"] is None
    assert "not listed" in decision["reason"] and nowhere_symbol in decision["reason"]
    assert nowhere_t["orders"] == [] and nowhere_t["positions"] == []

    history = (await http.get(f"{query_url}/api/v3/stats/routing-history", params={"agent_id": agent["id"]})).json()
    assert history["success"] is True
    by_symbol = {row["token_symbol"]: row for row in history["history"]}
    assert by_symbol["ETH"]["selected_venue"] == "HYPERLIQUID"
    assert by_symbol["GOLD"]["selected_venue"] == "OSTIUM"
    assert by_symbol[nowhere_symbol]["selected_venue"] is None
    assert all(row["deployment_id"] == deployment["id"] for row in history["history"])
    summary = history["summary"]
    assert (summary["total"], summary["hyperliquid"], summary["ostium"], summary["no_venue"]) == (3, 1, 1, 1)
    assert summary["hyperliquid_pct"] == "33.3"

    filtered = (await http.get(f"{query_url}/api/v3/stats/routing-history", params={"token_symbol": "gold", "agent_id": agent["id"]})).json()
    assert [row["token_symbol"] for row in filtered["history"]] == ["GOLD"]

    overview = (await http.get(f"{query_url}/api/v3/stats/overview")).json()["stats"]
    assert overview["signals"]["executed"] >= 2 and overview["signals"]["skipped"] >= 1
    assert overview["routing"]["hyperliquid"] >= 1 and overview["routing"]["ostium"] >= 1 and overview["routing"]["no_venue"] >= 1
    assert overview["positions"]["open"] >= 2


async def test_fixed_venue_agent_routes_only_to_its_venue(http: httpx.AsyncClient, control_url: str, query_url: str) -> None:
    agent = await create_agent(http, control_url, name="Ostium-only agent", venue="OSTIUM")
    deployment = await deploy(http, control_url, agent["id"])
    assert deployment["enabled_venues"] == ["OSTIUM"]
    eth = await signal(http, control_url, agent["id"], "ETH")  # Hyperliquid lists ETH too; it must not be used
    assert eth["requested_venue"] == "OSTIUM"
    timeline = await settled_timeline(http, query_url, eth["id"])
    [decision] = timeline["routing_decisions"]
    assert decision["selected_venue"] == "OSTIUM" and decision["checked_venues"] == ["OSTIUM"]


async def test_deploy_defaults_to_venues_with_credentials(http: httpx.AsyncClient, control_url: str) -> None:
    agent = await create_agent(http, control_url)
    deployment = await deploy(http, control_url, agent["id"], ostium_agent_address="0x" + "05" * 20)
    assert deployment["enabled_venues"] == ["OSTIUM"]
    other = await deploy(http, control_url, agent["id"])
    assert other["enabled_venues"] == ["HYPERLIQUID", "OSTIUM", "GMX", "SPOT"]
    listed = (await http.get(f"{control_url}/api/v3/agents/list", params={"creator_wallet": E2E_WALLET.upper().replace("0X", "0x"), "status": "ACTIVE"})).json()
    assert listed["success"] is True and listed["version"] == "V3"
    mine = next(a for a in listed["agents"] if a["id"] == agent["id"])
    assert mine["status"] == "ACTIVE" and set(mine["enabled_venues"]) == {"HYPERLIQUID", "OSTIUM", "GMX", "SPOT"}


async def test_agent_without_deployment_gets_an_explained_rejection(http: httpx.AsyncClient, control_url: str, query_url: str) -> None:
    agent = await create_agent(http, control_url, name="never deployed")
    s = await signal(http, control_url, agent["id"], "BTC")
    timeline = await settled_timeline(http, query_url, s["id"], timeout=90)
    assert timeline["signal"]["status"] == "REJECTED"
    [intent] = timeline["intents"]
    assert intent["reasons"][0]["rule"] == "no_active_deployment"


async def test_redrive_runs_a_signal_again(http: httpx.AsyncClient, control_url: str, query_url: str) -> None:
    agent = await create_agent(http, control_url)
    await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID"])
    s = await signal(http, control_url, agent["id"], "SOL")
    await settled_timeline(http, query_url, s["id"])
    r = await http.post(f"{control_url}/api/v3/execute/trade", json={"signal_id": s["id"]})
    assert r.status_code == 202, r.text
    assert r.json()["signal"]["drive"] == 1

    async def two_positions() -> dict | None:
        t = (await http.get(f"{query_url}/api/v3/signals/{s['id']}/timeline")).json()
        return t if len(t["positions"]) == 2 else None

    timeline = await eventually(two_positions, what="the re-driven signal's second position")
    assert len({p["order_id"] for p in timeline["positions"]}) == 2


async def test_paper_fill_uses_the_latest_tick(http: httpx.AsyncClient, control_url: str, query_url: str, producer, admin_db) -> None:  # type: ignore[no-untyped-def]
    from vprime_shared.contracts import MarketTick
    from vprime_shared.contracts.base import utcnow

    for mid in (111.0, 123.45):  # the later tick wins
        tick = MarketTick(venue="HYPERLIQUID", instrument="AVAX", bid=mid - 0.01, ask=mid + 0.01, mid=mid, ts=utcnow())
        await producer.send_and_wait(MarketTick.TOPIC, tick.model_dump_json().encode(), key=b"AVAX")

    async def executor_has_price() -> bool:
        return await admin_db.fetchval("SELECT mid FROM executor.prices WHERE venue = 'HYPERLIQUID' AND instrument = 'AVAX'") == 123.45

    await eventually(executor_has_price, what="the executor to take the tick")
    agent = await create_agent(http, control_url)
    await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID"])
    s = await signal(http, control_url, agent["id"], "AVAX", side="SHORT")
    [position] = (await settled_timeline(http, query_url, s["id"]))["positions"]
    assert position["side"] == "SHORT"
    assert position["entry_price"] == pytest.approx(123.45 * (1 - 2 / 10_000))  # mid less the paper slippage
    assert position["notional_usd"] == pytest.approx(10_000 * 0.25)  # 25 % of paper equity at 1x
