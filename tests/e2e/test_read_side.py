"""The read side: stats that agree with the events, after replays too; zeros on an empty system;
pagination and filters at their edges; no 5xx under schema-driven fuzzing."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from vprime_local.audit import fuzz
from vprime_local.stack import ServiceStack, operator_headers
from vprime_shared.contracts import MarketTick
from vprime_shared.contracts.base import utcnow
from tests.conftest import Endpoints, eventually
from tests.e2e.helpers import scratch_database, settled_timeline, signal, sim_admin, trading_deployment

pytestmark = pytest.mark.integration


async def overview(http: httpx.AsyncClient, query_url: str) -> dict:
    return (await http.get(f"{query_url}/api/v3/stats/overview")).json()["stats"]


async def test_venue_route_and_agent_performance_agree_with_the_events(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, producer: AIOKafkaProducer
) -> None:
    sim = stack.url("simulator")
    agent, deployment = await trading_deployment(http, control_url, sim, ["HYPERLIQUID", "OSTIUM"], name="performance")
    await http.post(f"{sim}/admin/book", json={"venue": "HYPERLIQUID", "instrument": "APT", "mid": 5.0}, headers=sim_admin())
    long_apt = await signal(http, control_url, agent["id"], "APT")
    gold = await signal(http, control_url, agent["id"], "GOLD")
    for s in (long_apt, gold):
        assert (await settled_timeline(http, query_url, s["id"]))["signal"]["status"] == "EXECUTED"
    # APT rallies then falls through its 3 % trailing stop: a realised gain.
    for mid in (5.5, 5.3):
        await http.post(f"{sim}/admin/book", json={"venue": "HYPERLIQUID", "instrument": "APT", "mid": mid}, headers=sim_admin())
        t = MarketTick(venue="HYPERLIQUID", instrument="APT", bid=mid, ask=mid, mid=mid, ts=utcnow())
        await producer.send_and_wait(MarketTick.TOPIC, t.model_dump_json().encode(), key=b"APT")

    async def closed() -> dict | None:
        p = (await http.get(f"{query_url}/api/v3/signals/{long_apt['id']}/timeline")).json()["positions"][0]
        return p if p["state"] == "CLOSED" else None

    apt = await eventually(closed, what="the APT position to close")
    perf = (await http.get(f"{query_url}/api/v3/agents/{agent['id']}/performance")).json()
    assert perf["agent"]["multi_venue"] is True and perf["agent"]["enabled_venues"] == ["HYPERLIQUID", "OSTIUM"]
    assert perf["pnl"]["realized_usd"] == pytest.approx(apt["realized_pnl_usd"])
    assert perf["trades_by_venue"] == {"HYPERLIQUID": 1, "OSTIUM": 1}
    assert perf["positions"] == {"total": 2, "open": 1, "closed": 1}
    expected_apr = apt["realized_pnl_usd"] / perf["capital_usd"] / 30 * 365 * 100
    assert perf["apr_30d_pct"] == pytest.approx(expected_apr, abs=1e-4)  # the API rounds to 4 decimals
    assert perf["sharpe_30d"] is None  # one trading day is no basis for a Sharpe ratio

    venues = (await http.get(f"{query_url}/api/v3/stats/venues", params={"agent_id": agent["id"]})).json()
    assert venues["total_trades"] == 2
    hl = venues["venues"]["HYPERLIQUID"]
    assert (hl["trades"], hl["share_pct"], hl["performance"]["closed"], hl["performance"]["win_rate_pct"]) == (1, 50.0, 1, 100.0)
    routes = (await http.get(f"{query_url}/api/v3/stats/routes", params={"agent_id": agent["id"]})).json()["routes"]
    by = {r["instrument"]: r for r in routes}
    assert by["GOLD"]["most_common_route"] == "GOLD → OSTIUM, fallback 100.0 %"  # Hyperliquid, first in order, lists no GOLD
    assert by["APT"]["fallback_pct"] == 0.0
    board = (await http.get(f"{query_url}/api/v3/stats/agents")).json()["agents"]
    assert next(a for a in board if a["id"] == agent["id"])["multi_venue"] is True
    assert deployment["id"]


async def test_replayed_events_do_not_double_count(
    http: httpx.AsyncClient, control_url: str, query_url: str, admin_db: asyncpg.Pool, producer: AIOKafkaProducer
) -> None:
    before = await overview(http, query_url)
    rows = await admin_db.fetch("""
        SELECT topic, key, payload FROM router.outbox WHERE topic = 'routing.decisions.v1'
        UNION ALL SELECT topic, key, payload FROM executor.outbox WHERE topic IN ('positions.v1', 'executions.v1')
        UNION ALL SELECT topic, key, payload FROM policy.outbox WHERE topic = 'intents.v1'
        ORDER BY topic LIMIT 400""")
    assert rows
    for r in rows:  # a replay: the same events again, byte for byte
        await producer.send(r["topic"], bytes(r["payload"]), key=r["key"].encode())
    await producer.flush()
    marker_agent, _ = await _deployed(http, control_url)
    marker = await signal(http, control_url, marker_agent, "ETH")
    await settled_timeline(http, query_url, marker["id"])
    after = await overview(http, query_url)
    assert after["routing"]["total"] == before["routing"]["total"] + 1
    assert after["positions"]["total"] == before["positions"]["total"] + 1
    assert after["signals"]["total"] == before["signals"]["total"] + 1


async def _deployed(http: httpx.AsyncClient, control_url: str) -> tuple[str, str]:
    from tests.e2e.helpers import create_agent, deploy

    a = await create_agent(http, control_url, name="marker")
    d = await deploy(http, control_url, a["id"], enabled_venues=["HYPERLIQUID"])
    return a["id"], d["id"]


async def test_an_empty_system_answers_zeros(infra: Endpoints) -> None:
    from vprime_query.adapters import stats
    from vprime_query.adapters.read_models import ReadModels

    async with scratch_database(infra, "query") as pool:
        o = await ReadModels(pool).overview()
        assert o["signals"]["total"] == 0 and o["positions"]["unrealized_pnl_usd"] == 0 and o["routing"]["avg_duration_ms"] == 0
        h = await ReadModels(pool).routing_history(token_symbol=None, selected_venue=None, agent_id=None, deployment_id=None,
                                                   limit=10, offset=0)
        assert h["history"] == [] and h["summary"]["hyperliquid_pct"] == "0.0" and h["next_cursor"] is None
        v = await stats.venues(pool, None)
        assert v["total_trades"] == 0 and v["venues"]["OSTIUM"]["performance"]["win_rate_pct"] == 0.0
        assert await stats.routes(pool, None, None, 10) == []
        assert await stats.agent_performance(pool, uuid.uuid4()) is None


async def test_routing_history_pages_and_filters_at_the_edges(http: httpx.AsyncClient, control_url: str, query_url: str) -> None:
    agent_id, _ = await _deployed(http, control_url)
    made = [await signal(http, control_url, agent_id, sym) for sym in ("ETH", "BTC", "SOL", "MAGIC", "ETH")]
    for s in made:
        await settled_timeline(http, query_url, s["id"])
    url = f"{query_url}/api/v3/stats/routing-history"
    seen, cursor = [], None
    while True:
        body = (await http.get(url, params={"agent_id": agent_id, "limit": 2, **({"cursor": cursor} if cursor else {})})).json()
        seen += [row["signal_id"] for row in body["history"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(s["id"] for s in made) and len(seen) == 5
    one = (await http.get(url, params={"agent_id": agent_id, "limit": 5})).json()
    assert one["next_cursor"] is None and len(one["history"]) == 5  # exactly a page: no next cursor
    beyond = (await http.get(url, params={"agent_id": agent_id, "offset": 99})).json()
    assert beyond["history"] == [] and beyond["summary"]["total"] == 5
    none = (await http.get(url, params={"agent_id": agent_id, "outcome": "no_venue"})).json()
    assert [r["token_symbol"] for r in none["history"]] == ["MAGIC"]
    routed = (await http.get(url, params={"agent_id": agent_id, "outcome": "routed", "strategy": "FIRST_AVAILABLE"})).json()
    assert len(routed["history"]) == 4
    future = (await http.get(url, params={"agent_id": agent_id, "since": "2099-01-01T00:00:00Z"})).json()
    assert future["history"] == []
    for params in ({"limit": 501}, {"offset": -1}, {"cursor": "x"}, {"outcome": "maybe"},
                   {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}):
        assert (await http.get(url, params=params)).status_code == 422, params


@pytest.mark.parametrize("service", ["control", "query"])
async def test_schema_driven_fuzzing_finds_no_server_errors(stack: ServiceStack, service: str, http: httpx.AsyncClient) -> None:
    from tests.e2e.helpers import reset_global_routing

    # As the operator on control, so the fuzzer gets past authentication to every write handler.
    headers = operator_headers(stack.home) if service == "control" else {}
    passed, output = await asyncio.to_thread(fuzz, stack.url(service), headers)
    await reset_global_routing(http, stack.url("control"), stack.url("router"))  # the fuzzer sets the global config too
    print(f"\n[schemathesis] {service}: " + "\n".join(output.splitlines()[-6:]))
    assert passed, output
