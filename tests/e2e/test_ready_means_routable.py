"""Ready means able to route: a router started before the venue simulator answers `/health` 503 (its catalogs not
synced), retries its syncs within seconds rather than at the next `SYNC_INTERVAL_S`, and is ready, every venue's
catalog fresh, within seconds of the simulator coming up."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from vprime_local.stack import ServiceStack, start_waves

from tests.conftest import eventually

pytestmark = pytest.mark.integration

VENUES = {"HYPERLIQUID", "OSTIUM", "GMX", "SPOT"}


def test_make_up_starts_the_chain_and_simulator_before_what_calls_them(stack: ServiceStack) -> None:
    waves = start_waves(stack.services)
    wave_of = {service: i for i, wave in enumerate(waves) for service in wave}
    assert wave_of["chain"] < wave_of["simulator"] < min(wave_of["router"], wave_of["executor"])
    # The session's stack was started so: its router's first sync, before "router started", found the simulator up.
    log = stack.log_file("router").read_text()
    startup = log[log.rfind("Started server process"):].split("router started")[0]
    assert "failed (1 in a row)" not in startup


async def test_a_router_is_ready_within_seconds_of_its_venues_coming_up(stack: ServiceStack) -> None:
    # A second router and a second simulator on their own ports (instance 1, 100 above the session's); the router
    # with the shipped SYNC_INTERVAL_S, so that only a retry can sync it before half a minute has passed. Its retries
    # stop growing at 4 s, so that when it is ready does not depend on how long it took to start (the schedule itself
    # is unit-tested), and it gives no venue up as down while this test waits.
    router, simulator = stack.url("router", 1), stack.url("simulator", 1)
    env = {"VENUE_SIMULATOR_URL": simulator, "SYNC_INTERVAL_S": "30", "STALE_AFTER_S": "120",
           "SYNC_RETRY_MAX_S": "4", "SYNC_RETRIES": "20"}
    await asyncio.to_thread(stack.start, "router", 1, **env)
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            async def health() -> httpx.Response | None:
                try:
                    return await http.get(f"{router}/health")
                except httpx.TransportError:  # still starting
                    return None

            # Its venues are not up: it answers, and is not ready.
            before = await eventually(health, timeout=60, what="the second router to answer")
            assert before.status_code == 503, before.text
            catalogs = before.json()["checks"]["catalogs"]
            assert catalogs["ready"] is False and set(catalogs["venues"]) == VENUES
            assert {v["status"] for v in catalogs["venues"].values()} == {"degraded"}
            assert all("Connect" in v["error"] and v["synced_at"] is None for v in catalogs["venues"].values())
            await asyncio.sleep(2)  # retried meanwhile, and still not ready
            still = await health()
            assert still is not None and still.status_code == 503
            assert all(v["failures"] >= 2 for v in still.json()["checks"]["catalogs"]["venues"].values()), still.text

            await asyncio.to_thread(stack.start, "simulator", 1, SIMULATOR_PORT=str(stack.port("simulator", 1)),
                                    SIMULATOR_FEED_INSTRUMENTS="", SIMULATOR_KEEPERS="0")  # the session's feeds and keeps
            await asyncio.to_thread(stack.wait_healthy, 60, ("simulator",), 1)
            simulator_up = time.monotonic()

            async def ready() -> httpx.Response | None:
                r = await health()
                if r is None or r.status_code != 200:
                    return None
                statuses = {v["status"] for v in r.json()["checks"]["catalogs"]["venues"].values()}
                return r if statuses == {"fresh"} else None  # not ready on a venue given up on as down

            after = await eventually(ready, timeout=25, interval=0.1, what="the second router to be ready")
            ready_after_s = time.monotonic() - simulator_up
            venues = after.json()["checks"]["catalogs"]["venues"]
            assert {name: v["status"] for name, v in venues.items()} == dict.fromkeys(VENUES, "fresh"), venues
            assert all(v["synced_at"] and v["error"] is None for v in venues.values())
            # Retried every 4 s by then: ready within one more retry (and the sync itself), not SYNC_INTERVAL_S later.
            assert ready_after_s < 8, f"ready {ready_after_s:.1f}s after the simulator came up"
            print(f"\n[test] second router ready {ready_after_s:.1f}s after its simulator came up")

            # And routable: its own view agrees.
            view = (await http.get(f"{router}/router/venues")).json()["venues"]
            assert all(view[name]["catalog"]["routable"] for name in VENUES), view
    finally:
        await asyncio.to_thread(stack.stop, "router", 1)
        await asyncio.to_thread(stack.stop, "simulator", 1)
