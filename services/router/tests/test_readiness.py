"""`/health` is the router's readiness: 503 until every venue's catalog has synced once (or is down), with each
venue's catalog status in the body; and the venue URLs the router syncs from."""

from __future__ import annotations

import httpx
import pytest

from vprime_shared.contracts import Venue
from vprime_shared.contracts.base import utcnow
from vprime_shared.runtime import ServiceRuntime

from vprime_venues.hyperliquid.constants import MAINNET_API_URL, TESTNET_API_URL

from vprime_router.settings import RouterSettings
from vprime_router.state import RouterState
from vprime_router.sync import venue_adapters


def router_runtime(state: RouterState) -> ServiceRuntime:
    runtime = ServiceRuntime(state.settings, package="vprime_router")

    async def catalogs() -> tuple[bool, dict[str, object]]:
        return state.catalog_readiness(utcnow())

    runtime.ready_when("catalogs", catalogs)
    return runtime


async def test_health_names_every_venue_and_is_503_until_each_has_synced() -> None:
    state = RouterState(RouterSettings(sync_retries=4))
    for venue in Venue:
        state.syncing(venue)
    state.syncing(Venue.HYPERLIQUID).succeeded(utcnow())
    state.syncing(Venue.OSTIUM).failed("ConnectError: All connection attempts failed")
    runtime = router_runtime(state)
    app = runtime.http_app()  # not started: no lifespan, so no Postgres or Kafka either
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as http:
        health = await http.get("/health")
    assert health.status_code == 503
    catalogs = health.json()["checks"]["catalogs"]
    assert catalogs["ready"] is False and catalogs["source"] == "sync"
    venues = catalogs["venues"]
    assert set(venues) == {v.value for v in Venue}
    assert venues["HYPERLIQUID"]["status"] == "fresh" and venues["HYPERLIQUID"]["synced_at"]
    assert venues["OSTIUM"] == {"status": "degraded", "synced_at": None, "failures": 1,
                                "error": "ConnectError: All connection attempts failed"}
    assert venues["GMX"]["status"] == "pending"


async def test_a_service_check_holds_readiness_and_a_failing_one_reports_why() -> None:
    state = RouterState(RouterSettings())
    runtime = router_runtime(state)
    started = {"started": True, "postgres": True, "kafka": True, "outbox_backlog": 0}
    assert not runtime.is_ready({**started, "catalogs": {"ready": False}})
    assert not runtime.is_ready(started)  # a check that did not answer is not a ready one
    assert runtime.is_ready({**started, "catalogs": {"ready": True}})

    async def broken() -> tuple[bool, dict[str, object]]:
        raise RuntimeError("no state yet")

    runtime.ready_when("catalogs", broken)
    checks = await runtime.readiness()
    assert checks["catalogs"] == {"ready": False, "error": "RuntimeError: no state yet"}
    with pytest.raises(ValueError):
        runtime.ready_when("kafka", broken)


def test_hyperliquid_is_read_from_the_simulator_unless_told_otherwise() -> None:
    def hyperliquid(**values: str) -> str:
        return RouterSettings(**values).hyperliquid_url()

    assert hyperliquid(venue_simulator_url="http://127.0.0.1:8010") == "http://127.0.0.1:8010/hyperliquid"
    assert hyperliquid(venue_simulator_url="", hyperliquid_api_url="") == TESTNET_API_URL
    assert TESTNET_API_URL == "https://api.hyperliquid-testnet.xyz"
    assert hyperliquid(venue_simulator_url="", hyperliquid_network="mainnet") == MAINNET_API_URL == "https://api.hyperliquid.xyz"
    # A set URL wins over both.
    assert hyperliquid(hyperliquid_api_url="http://hl.internal", hyperliquid_network="mainnet") == "http://hl.internal"
    assert hyperliquid(venue_simulator_url="", hyperliquid_api_url="http://hl.internal") == "http://hl.internal"
    assert RouterSettings().hyperliquid_network == "testnet"
    assert [a.venue for a in venue_adapters(RouterSettings())] == list(Venue)  # every venue is synced
