"""Bad HTTP input gets a 4xx that says what is wrong, in the seed's `success: false` envelope."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.helpers import E2E_WALLET, create_agent

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("path", "body", "status", "mentions"),
    [
        ("/api/v3/agents/create", {}, 422, "creator_wallet"),
        ("/api/v3/agents/create", {"creator_wallet": E2E_WALLET, "name": "x", "profit_receiver_address": E2E_WALLET, "venue": "BINANCE"}, 422, "venue"),
        ("/api/v3/agents/create", {"creator_wallet": E2E_WALLET, "name": "x", "profit_receiver_address": E2E_WALLET, "colour": "red"}, 422, "colour"),
        ("/api/v3/agents/deploy", {"agent_id": str(uuid.uuid4()), "user_wallet": E2E_WALLET}, 404, "does not exist"),
        ("/api/v3/agents/deploy", {"agent_id": "not-a-uuid", "user_wallet": E2E_WALLET}, 422, "agent_id"),
        ("/api/v3/agents/deploy", {"agent_id": str(uuid.uuid4()), "user_wallet": "0xUser"}, 422, "20-byte hex address"),
        ("/api/v3/agents/create", {"creator_wallet": E2E_WALLET, "name": "x", "profit_receiver_address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"},
         422, "EIP-55"),
        ("/api/v3/agents/create", {"creator_wallet": E2E_WALLET, "name": "x", "profit_receiver_address": E2E_WALLET,
                                   "x_account_ids": ["a"] * 201}, 422, "x_account_ids"),
        ("/api/v3/signals/generate", {"agent_id": str(uuid.uuid4()), "token_symbol": "ETH", "side": "LONG"}, 404, "does not exist"),
        ("/api/v3/signals/generate", {"agent_id": str(uuid.uuid4()), "token_symbol": "ETH", "side": "UP"}, 422, "side"),
        ("/api/v3/execute/trade", {"signal_id": str(uuid.uuid4())}, 404, "does not exist"),
    ],
)
async def test_bad_requests_are_explained(http: httpx.AsyncClient, control_url: str, path: str, body: dict, status: int, mentions: str) -> None:
    r = await http.post(f"{control_url}{path}", json=body)
    assert r.status_code == status, r.text
    payload = r.json()
    assert payload["success"] is False
    assert mentions in payload["error"]


async def test_deploy_rejects_unknown_or_repeated_venues(http: httpx.AsyncClient, control_url: str) -> None:
    agent = await create_agent(http, control_url)
    for venues, mentions in ((["HYPERLIQUID", "KRAKEN"], "enabled_venues"), (["GMX", "GMX"], "twice"), ([], "at least one")):
        r = await http.post(f"{control_url}/api/v3/agents/deploy", json={"agent_id": agent["id"], "user_wallet": E2E_WALLET, "enabled_venues": venues})
        assert r.status_code == 422, r.text
        assert mentions in r.json()["error"]


async def test_fixed_venue_agent_cannot_be_deployed_elsewhere(http: httpx.AsyncClient, control_url: str) -> None:
    agent = await create_agent(http, control_url, venue="GMX")
    r = await http.post(f"{control_url}/api/v3/agents/deploy", json={"agent_id": agent["id"], "user_wallet": E2E_WALLET, "enabled_venues": ["OSTIUM"]})
    assert r.status_code == 409 and "only on GMX" in r.json()["error"]


async def test_query_filters_are_validated(http: httpx.AsyncClient, query_url: str) -> None:
    r = await http.get(f"{query_url}/api/v3/stats/routing-history", params={"selected_venue": "BINANCE"})
    assert r.status_code == 422 and "selected_venue" in r.json()["error"]
    r = await http.get(f"{query_url}/api/v3/stats/routing-history", params={"limit": 0})
    assert r.status_code == 422
    r = await http.get(f"{query_url}/api/v3/signals/{uuid.uuid4()}/timeline")
    assert r.status_code == 404 and r.json()["success"] is False


async def test_empty_filter_summary_has_no_nan(http: httpx.AsyncClient, query_url: str) -> None:
    r = await http.get(f"{query_url}/api/v3/stats/routing-history", params={"token_symbol": "NOSUCHCOIN"})
    summary = r.json()["summary"]
    assert summary["total"] == 0 and summary["hyperliquid_pct"] == "0.0" and r.json()["history"] == []


async def test_every_service_reports_health_and_docs(http: httpx.AsyncClient, stack) -> None:  # type: ignore[no-untyped-def]
    from vprime_shared.db import SERVICES

    assert (await http.get(f"{stack.url('simulator')}/health")).json()["status"] == "ok"
    for service in SERVICES:
        health = await http.get(f"{stack.url(service)}/health")
        assert health.status_code == 200 and health.json()["checks"]["kafka"] is True
        asyncapi = (await http.get(f"{stack.url(service)}/asyncapi.json")).json()
        assert asyncapi["channels"], f"{service} documents no channels"
        metrics = await http.get(f"{stack.url(service)}/metrics")
        assert metrics.status_code == 200


async def test_signals_list_filters_and_pages(http: httpx.AsyncClient, control_url: str, query_url: str) -> None:
    from tests.conftest import eventually
    from tests.e2e.helpers import signal

    agent = await create_agent(http, control_url, name="paging")
    made = [await signal(http, control_url, agent["id"], symbol, side) for symbol, side in
            (("ETH", "LONG"), ("BTC", "SHORT"), ("ETH", "SHORT"), ("SOL", "LONG"))]

    async def all_four() -> list | None:
        r = await http.get(f"{query_url}/api/v3/signals", params={"agent_id": agent["id"], "limit": 500})
        return r.json()["signals"] if len(r.json()["signals"]) == 4 else None

    everything = await eventually(all_four, what="four signals in the read model")
    assert [s["id"] for s in everything] == [s["id"] for s in reversed(made)]  # newest first
    pages, cursor = [], None
    while True:
        params = {"agent_id": agent["id"], "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = (await http.get(f"{query_url}/api/v3/signals", params=params)).json()
        pages.append([s["id"] for s in body["signals"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 1] and sum(pages, []) == [s["id"] for s in everything]
    eth = (await http.get(f"{query_url}/api/v3/signals", params={"agent_id": agent["id"], "token_symbol": "eth", "side": "SHORT"})).json()
    assert [s["id"] for s in eth["signals"]] == [made[2]["id"]]
    assert all(s["origin"] == "MANUAL" and s["score"] is None for s in everything)

    for params, mentions in (({"cursor": "garbage"}, "cursor"), ({"side": "UP"}, "side"),
                             ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since")):
        r = await http.get(f"{query_url}/api/v3/signals", params=params)
        assert r.status_code == 422 and mentions in r.json()["error"], r.text


async def test_a_value_the_database_cannot_store_is_a_422_not_a_500(http: httpx.AsyncClient, control_url: str) -> None:
    # A NUL byte passes the API's string type but not Postgres text; found by the HTTP fuzzer.
    r = await http.get(f"{control_url}/api/v3/agents/list", params={"creator_wallet": "0x\x00"})
    assert r.status_code == 422, r.text
    assert r.json()["success"] is False and "cannot be used" in r.json()["error"]
