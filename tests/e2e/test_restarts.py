"""A service that stops (gracefully or by crash) loses nothing: what arrived meanwhile is handled after restart."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from vprime_local.stack import ServiceStack
from tests.e2e.helpers import create_agent, deploy, settled_timeline, signal

pytestmark = pytest.mark.integration


async def restart(stack: ServiceStack, service: str) -> None:
    await asyncio.to_thread(stack.start, service)
    await asyncio.to_thread(stack.wait_healthy, 120, (service,))


async def test_graceful_stop_and_crash_lose_nothing(http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack) -> None:
    agent = await create_agent(http, control_url, name="restarts")
    await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID", "OSTIUM"])

    await asyncio.to_thread(stack.stop, "router")
    assert '"msg":"router stopped"' in stack.log_file("router").read_text()
    while_router_down = await signal(http, control_url, agent["id"], "ETH")
    await asyncio.sleep(2)
    pending = (await http.get(f"{query_url}/api/v3/signals/{while_router_down['id']}/timeline")).json()
    assert pending["signal"]["status"] == "PENDING" and len(pending["intents"]) == 1 and pending["routing_decisions"] == []

    await asyncio.to_thread(stack.kill, "executor")
    await restart(stack, "router")
    while_executor_down = await signal(http, control_url, agent["id"], "GOLD")
    await asyncio.sleep(2)
    await restart(stack, "executor")

    for s, venue in ((while_router_down, "HYPERLIQUID"), (while_executor_down, "OSTIUM")):
        timeline = await settled_timeline(http, query_url, s["id"], timeout=90)
        assert timeline["signal"]["status"] == "EXECUTED"
        assert [p["venue"] for p in timeline["positions"]] == [venue]
