"""The live decision feed with several query instances: each serves its browsers every decision, whichever instance's
share of the read models' partitions it was projected by (each instance reads the decisions topic for itself)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from eth_account import Account

from tests.conftest import eventually
from tests.e2e.helpers import create_agent, deploy, signal
from vprime_local.stack import ServiceStack

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module")
async def replicas(stack: ServiceStack) -> AsyncIterator[list[str]]:
    """Query instances 1 and 2 beside instance 0: three in the read models' consumer group."""
    for i in (1, 2):
        await asyncio.to_thread(stack.start, "query", i)
    try:
        for i in (1, 2):
            await asyncio.to_thread(stack.wait_healthy, 90, ("query",), i)
        yield [stack.url("query", i) for i in (0, 1, 2)]
    finally:
        for i in (2, 1):
            await asyncio.to_thread(stack.stop, "query", i)


async def listen(url: str, seen: set[str], connected: asyncio.Event) -> None:
    async with httpx.AsyncClient(timeout=None) as client, client.stream("GET", f"{url}/api/v3/stream/decisions") as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if line.startswith(": connected"):
                connected.set()
            elif line.startswith("data: "):
                seen.add(json.loads(line[6:])["decision_id"])


async def test_every_query_instance_streams_every_decision(replicas: list[str], http: httpx.AsyncClient, control_url: str,
                                                           query_url: str) -> None:
    urls = replicas
    seen: list[set[str]] = [set() for _ in urls]
    connected = [asyncio.Event() for _ in urls]
    listeners = [asyncio.create_task(listen(u, s, c)) for u, s, c in zip(urls, seen, connected, strict=True)]
    try:
        await asyncio.wait_for(asyncio.gather(*(c.wait() for c in connected)), 15)
        agent = await create_agent(http, control_url, name="feed replicas")
        # Decisions are keyed by deployment: several deployments spread them over the topic's partitions.
        for _ in range(4):
            await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID"], user_wallet=Account.create().address)
        for instrument in ("ETH", "BTC", "SOL"):
            await signal(http, control_url, agent["id"], instrument)

        async def decided() -> set[str] | None:
            history = (await http.get(f"{query_url}/api/v3/stats/routing-history",
                                      params={"agent_id": agent["id"], "limit": 100})).json()["history"]
            return {h["decision_id"] for h in history} if len(history) >= 12 else None

        decisions = await eventually(decided, what="12 routing decisions")
        partitions = await http.get(f"{query_url}/api/v3/stats/routing-history", params={"agent_id": agent["id"], "limit": 100})
        assert len({h["deployment_id"] for h in partitions.json()["history"]}) == 4

        async def everywhere() -> bool:
            return all(decisions <= s for s in seen)

        await eventually(everywhere, timeout=20, what="every instance's stream to carry every decision")
        print(f"\n[web] {len(decisions)} decisions of 4 deployments: streamed by each of {len(urls)} query instances "
              f"({', '.join(str(len(decisions & s)) for s in seen)})")
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
