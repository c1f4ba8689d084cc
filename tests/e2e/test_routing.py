"""Agent Where end to end, with the venue simulator: catalogs synced from the venues' API shapes,
BEST_EXECUTION on live books, failover across three venues, breakers, stale catalogs, market hours."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from eth_account import Account
from vprime_local.stack import ServiceStack
from vprime_local.venue_accounts import connect_venue
from vprime_shared.contracts import MarketCatalog, MarketTick

from tests.conftest import Endpoints, eventually
from tests.e2e.helpers import (
    create_agent,
    deploy,
    keeper_mode,
    reset_global_routing,
    settled_timeline,
    signal,
    sim_admin,
    trading_deployment,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
async def default_global_config(http: httpx.AsyncClient, control_url: str, stack: ServiceStack) -> None:
    """Other tests (the API fuzzer among them) may have changed the global routing config: set the one these assume."""
    await reset_global_routing(http, control_url, stack.url("router"))


@pytest.fixture
async def sim(http: httpx.AsyncClient, stack: ServiceStack):  # type: ignore[no-untyped-def]
    """The simulator's admin API; every venue back to `ok` afterwards."""
    url = stack.url("simulator")
    yield url
    for venue in ("HYPERLIQUID", "OSTIUM", "GMX", "SPOT"):
        await http.post(f"{url}/admin/faults", json={"venue": venue, "mode": "ok"}, headers=sim_admin())


async def venues(http: httpx.AsyncClient, stack: ServiceStack) -> dict:
    return (await http.get(f"{stack.url('router')}/router/venues")).json()["venues"]


async def trading_agent(http: httpx.AsyncClient, control: str, order: list[str], **agent: object) -> tuple[dict, dict]:
    return await trading_deployment(http, control, SIM_URL, order, **agent)


SIM_URL = "http://127.0.0.1:18010"


async def test_catalogs_are_synced_from_every_venue_and_published(http: httpx.AsyncClient, stack: ServiceStack, infra: Endpoints) -> None:
    state = await eventually(lambda: _all_routable(http, stack), what="fresh catalogs from all four venues")
    assert state["HYPERLIQUID"]["catalog"]["markets"] >= 200 and state["OSTIUM"]["catalog"]["markets"] == 44
    consumer = AIOKafkaConsumer(MarketCatalog.TOPIC, bootstrap_servers=infra.bootstrap, auto_offset_reset="earliest",
                                group_id=f"test-catalog-{uuid.uuid4().hex}")
    await consumer.start()
    seen: dict[str, MarketCatalog] = {}
    try:
        while len(seen) < 4:
            for records in (await consumer.getmany(timeout_ms=2000)).values():
                for r in records:
                    event = MarketCatalog.model_validate_json(r.value)
                    if event.status.value == "OK":
                        seen[event.venue.value] = event
    finally:
        await consumer.stop()
    hl = {m.venue_symbol: m for m in seen["HYPERLIQUID"].markets}
    assert hl["SPX"].instrument == "SPX6900" and hl["kPEPE"].instrument == "PEPE" and hl["kPEPE"].contract_multiplier == 1000
    assert hl["ETH"].funding_rate_hourly > 0 and hl["ETH"].mark_price and hl["ETH"].min_notional_usd == 10
    ostium = {m.venue_symbol: m for m in seen["OSTIUM"].markets}
    assert ostium["SPX-USD"].instrument == "SPX500" and ostium["XAU-USD"].instrument == "GOLD"
    assert ostium["EUR-USD"].asset_class == "fx" and ostium["EUR-USD"].max_leverage == 100 and ostium["EUR-USD"].taker_fee_bps == 10
    assert all(not m.supports_short for m in seen["SPOT"].markets)


async def test_best_execution_follows_the_books(http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, sim: str) -> None:
    agent, _ = await trading_agent(http, control_url, ["HYPERLIQUID", "OSTIUM"], name="best execution")
    r = await http.put(f"{control_url}/api/v3/routing/config", params={"agent_id": agent["id"]},
                       json={"venue_priority": ["HYPERLIQUID", "OSTIUM"], "routing_strategy": "BEST_EXECUTION"})
    assert r.status_code == 200 and r.json()["source"] == "agent"
    got = (await http.get(f"{control_url}/api/v3/routing/config", params={"agent_id": agent["id"]})).json()
    assert got["config"]["routing_strategy"] == "BEST_EXECUTION"
    # Hyperliquid's BTC book is wide and thin: Ostium is cheaper all in, though second in priority.
    await http.post(f"{sim}/admin/book", json={"venue": "HYPERLIQUID", "instrument": "BTC", "spread_bps": 40, "depth_usd": 2_000},
                    headers=sim_admin())
    await asyncio.sleep(2.5)  # two sync rounds: the router reads the new book
    s = await signal(http, control_url, agent["id"], "BTC")
    timeline = await settled_timeline(http, query_url, s["id"])
    [decision] = timeline["routing_decisions"]
    assert decision["strategy"] == "BEST_EXECUTION" and decision["selected_venue"] == "OSTIUM"
    costs = decision["costs"]
    assert costs["OSTIUM"]["total_bps"] < costs["HYPERLIQUID"]["total_bps"]
    assert costs["HYPERLIQUID"]["half_spread_bps"] == pytest.approx(20, abs=0.5)
    assert "lowest expected cost" in decision["reason"]
    assert timeline["positions"][0]["venue"] == "OSTIUM"
    await http.post(f"{sim}/admin/book", json={"venue": "HYPERLIQUID", "instrument": "BTC", "spread_bps": 2, "depth_usd": 250_000},
                    headers=sim_admin())


async def test_failover_across_three_venues_then_breaker_recovery(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, sim: str
) -> None:
    agent, deployment = await trading_agent(http, control_url, ["HYPERLIQUID", "GMX", "OSTIUM"], name="failover")
    # Hyperliquid's order endpoint is down (its market data still answers); GMX's price gaps past the order's
    # acceptable price, so its contract cancels the order: both refusals let another venue take it.
    await http.post(f"{sim}/admin/faults", json={"venue": "HYPERLIQUID", "mode": "down", "scope": "orders"}, headers=sim_admin())
    async with keeper_mode(http, sim, "GMX", "gap"):
        s = await signal(http, control_url, agent["id"], "ETH")
        timeline = await settled_timeline(http, query_url, s["id"], timeout=90)
    decisions = sorted(timeline["routing_decisions"], key=lambda d: d["attempt"])
    assert [(d["attempt"], d["selected_venue"]) for d in decisions] == [(1, "HYPERLIQUID"), (2, "GMX"), (3, "OSTIUM")]
    assert [d["failed_venues"] for d in decisions] == [[], ["HYPERLIQUID"], ["HYPERLIQUID", "GMX"]]
    assert decisions[2]["reason"].startswith("attempt 3 after HYPERLIQUID, GMX failed: OSTIUM:")
    orders = {o["venue"]: o for o in timeline["orders"]}
    assert orders["HYPERLIQUID"]["status"] == "FAILED" and "down" in orders["HYPERLIQUID"]["reason"]
    assert orders["GMX"]["status"] == "REJECTED" and "OrderNotFulfillableAtAcceptablePrice" in orders["GMX"]["reason"]
    assert orders["OSTIUM"]["status"] == "FILLED"
    assert timeline["signal"]["status"] == "EXECUTED" and [p["venue"] for p in timeline["positions"]] == ["OSTIUM"]

    # Now Hyperliquid is down altogether: failed syncs and orders open its breaker.
    await http.post(f"{sim}/admin/faults", json={"venue": "HYPERLIQUID", "mode": "down"}, headers=sim_admin())
    state = await eventually(lambda: _breaker_is(http, stack, "HYPERLIQUID", "OPEN"), what="Hyperliquid's breaker to open")
    assert state["HYPERLIQUID"]["catalog"]["status"] == "DEGRADED"
    while_open = await signal(http, control_url, agent["id"], "SOL")
    t = await settled_timeline(http, query_url, while_open["id"])
    first = min(t["routing_decisions"], key=lambda d: d["attempt"])
    assert first["venue_availability"]["HYPERLIQUID"]["available"] is False

    await http.post(f"{sim}/admin/faults", json={"venue": "HYPERLIQUID", "mode": "ok"}, headers=sim_admin())
    await eventually(lambda: _routable(http, stack, "HYPERLIQUID"), what="Hyperliquid's catalog to be fresh again")
    await asyncio.sleep(3.5)  # the breaker's open period ends: half-open

    async def probe_closes_it() -> dict | None:
        s2 = await signal(http, control_url, agent["id"], "AVAX")
        t2 = await settled_timeline(http, query_url, s2["id"])
        return t2 if t2["positions"] and t2["positions"][0]["venue"] == "HYPERLIQUID" else None

    recovered = await eventually(probe_closes_it, timeout=60, interval=1, what="a probe order to Hyperliquid to succeed")
    assert recovered["signal"]["status"] == "EXECUTED"
    await eventually(lambda: _breaker_is(http, stack, "HYPERLIQUID", "CLOSED"), what="the breaker to close")
    assert deployment["enabled_venues"] == ["HYPERLIQUID", "GMX", "OSTIUM"]


async def test_a_definitive_rejection_is_not_retried_elsewhere(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, sim: str
) -> None:
    # The account never approved its GMX agent wallet as a subaccount: GMX refuses the order for this account, which
    # no other venue would change, so the signal fails there.
    agent = await create_agent(http, control_url, name="rejected")
    user = Account.create()
    deployment = await deploy(http, control_url, agent["id"], enabled_venues=["GMX", "OSTIUM"], user_wallet=user.address)
    async with httpx.AsyncClient(base_url=sim, headers=sim_admin(), timeout=30) as simulator:
        for venue in ("GMX", "OSTIUM"):
            w = await http.post(f"{control_url}/api/v3/deployments/{deployment['id']}/agent-wallets/{venue}")
            assert w.status_code == 201, w.text
            if venue == "OSTIUM":
                await connect_venue(simulator, venue, user=user, agent=w.json()["address"], equity_usd=10_000)
            else:  # funded, with gas for its agent, but no subaccount approval
                for address, body in ((user.address, {"usdc": "10000"}), (w.json()["address"], {"eth": "1"})):
                    r = await simulator.post("/admin/chain/faucet", json={"address": address, **body})
                    assert r.status_code == 200, r.text
    s = await signal(http, control_url, agent["id"], "LINK")
    t = await settled_timeline(http, query_url, s["id"])
    assert t["signal"]["status"] == "FAILED"
    assert [(d["attempt"], d["selected_venue"]) for d in t["routing_decisions"]] == [(1, "GMX"), (2, None)]
    assert "definitive" in t["routing_decisions"][1]["reason"] and t["orders"][0]["status"] == "REJECTED"
    assert "SubaccountNotAuthorized" in t["orders"][0]["reason"]


async def test_failover_can_be_switched_off(http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, sim: str) -> None:
    agent, _ = await trading_agent(http, control_url, ["GMX", "OSTIUM"], name="no failover")
    r = await http.put(f"{control_url}/api/v3/routing/config", params={"agent_id": agent["id"]},
                       json={"venue_priority": ["GMX"], "failover_enabled": False})
    assert r.status_code == 200
    await asyncio.sleep(1)  # the config reaches the router as a registry event
    async with keeper_mode(http, sim, "GMX", "gap"):  # a refusal another venue could take, were failover on
        s = await signal(http, control_url, agent["id"], "DOGE")
        t = await settled_timeline(http, query_url, s["id"], timeout=90)
    assert [(d["attempt"], d["selected_venue"]) for d in t["routing_decisions"]] == [(1, "GMX"), (2, None)]
    assert "failover is off" in t["routing_decisions"][1]["reason"]
    assert t["signal"]["status"] == "FAILED" and t["orders"][0]["status"] == "REJECTED"


async def test_closed_market_and_venue_specific_refusal(http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, sim: str) -> None:
    agent, _ = await trading_agent(http, control_url, ["OSTIUM", "HYPERLIQUID"], name="market hours")
    await http.post(f"{sim}/admin/market", json={"venue": "OSTIUM", "instrument": "EURUSD", "open": False}, headers=sim_admin())
    try:
        await asyncio.sleep(2.5)  # a sync round sees isMarketOpen false
        s = await signal(http, control_url, agent["id"], "EURUSD")
        t = await settled_timeline(http, query_url, s["id"])
        [decision] = t["routing_decisions"]
        assert t["signal"]["status"] == "SKIPPED"
        assert decision["venue_availability"]["OSTIUM"]["reason"] == "EUR-USD market is closed now"
        assert decision["venue_availability"]["HYPERLIQUID"]["reason"] == "EURUSD not listed"
    finally:
        await http.post(f"{sim}/admin/market", json={"venue": "OSTIUM", "instrument": "EURUSD", "open": True}, headers=sim_admin())


async def test_the_simulator_feeds_live_ticks(infra: Endpoints, stack: ServiceStack) -> None:
    consumer = AIOKafkaConsumer(MarketTick.TOPIC, bootstrap_servers=infra.bootstrap, auto_offset_reset="latest",
                                group_id=f"test-ticks-{uuid.uuid4().hex}")
    await consumer.start()
    mids = []
    try:
        while len(mids) < 6:
            for records in (await consumer.getmany(timeout_ms=2000)).values():
                for r in records:
                    tick = MarketTick.model_validate_json(r.value)
                    if tick.instrument == "ZEC" and tick.venue == "HYPERLIQUID":
                        mids.append(tick.mid)
    finally:
        await consumer.stop()
    assert len(set(mids)) > 1  # a random walk, not a constant


async def _all_routable(http: httpx.AsyncClient, stack: ServiceStack) -> dict | None:
    state = await venues(http, stack)
    return state if all(v["catalog"] and v["catalog"]["routable"] for v in state.values()) else None


async def _routable(http: httpx.AsyncClient, stack: ServiceStack, venue: str) -> bool:
    v = (await venues(http, stack))[venue]
    return bool(v["catalog"] and v["catalog"]["routable"])


async def _breaker_is(http: httpx.AsyncClient, stack: ServiceStack, venue: str, state: str) -> dict | None:
    found = await venues(http, stack)
    return found if found[venue]["breaker"]["state"] == state else None
