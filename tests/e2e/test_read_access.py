"""READ_ACCESS=token on query: a signal's timeline, the routing history and the signal list show a wallet
its own deployments and everything of the agents it created; tokens are control's, checked there."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from eth_account import Account

from vprime_local.stack import ServiceStack
from vprime_shared.sign_in import bearer, sign_in_async

from tests.conftest import eventually
from tests.e2e.helpers import complete

pytestmark = pytest.mark.integration


async def test_per_deployment_reads_follow_their_owners(stack: ServiceStack, control_url: str) -> None:
    await asyncio.to_thread(stack.start, "query", 1, READ_ACCESS="token", CONTROL_URL=control_url, TOKEN_CACHE_S="0")
    query = stack.url("query", 1)
    keys = {who: Account.create() for who in ("alice", "bob", "carol")}
    clients = {who: httpx.AsyncClient(timeout=15) for who in keys}
    try:
        await asyncio.to_thread(stack.wait_healthy, 60, ("query",), 1)
        for who, client in clients.items():
            client.headers.update(bearer(await sign_in_async(client, control_url, keys[who].key)))
        alice, bob, carol = clients["alice"], clients["bob"], clients["carol"]
        agent = (await alice.post(f"{control_url}/api/v3/agents/create", json={
            "creator_wallet": keys["alice"].address, "name": "watched", "profit_receiver_address": keys["alice"].address,
        })).json()["agent"]
        deployments = {}
        for who in ("alice", "bob"):
            r = await clients[who].post(f"{control_url}/api/v3/agents/deploy", json={
                "agent_id": agent["id"], "user_wallet": keys[who].address, "enabled_venues": ["HYPERLIQUID"]})
            assert r.status_code == 201, r.text
            deployments[who] = r.json()["deployment"]["id"]
        sent = await alice.post(f"{control_url}/api/v3/signals/generate", json={"agent_id": agent["id"], "token_symbol": "ETH", "side": "LONG"})
        path = f"{query}/api/v3/signals/{sent.json()['signal']['id']}/timeline"

        async def whole() -> dict | None:
            r = await alice.get(path)
            return r.json() if r.status_code == 200 and complete(r.json()) and len(r.json()["intents"]) == 2 else None

        seen_by_alice = await eventually(whole, what="the signal to settle for both deployments")
        assert {i["deployment_id"] for i in seen_by_alice["intents"]} == set(deployments.values())
        seen_by_bob = (await bob.get(path)).json()
        for part in ("intents", "routing_decisions", "orders", "positions"):
            assert {r["deployment_id"] for r in seen_by_bob[part]} <= {deployments["bob"]}, part
        assert seen_by_bob["intents"]
        assert (await carol.get(path)).status_code == 403
        async with httpx.AsyncClient(timeout=15) as anon:
            assert (await anon.get(path)).status_code == 401
            assert (await anon.get(f"{query}/api/v3/stats/overview")).status_code == 200  # aggregates stay public
            forged = await anon.get(path, headers=bearer("vps_forged"))
            assert forged.status_code == 401

        history = {who: (await clients[who].get(f"{query}/api/v3/stats/routing-history", params={"agent_id": agent["id"]})).json()
                   for who in clients}
        assert {h["deployment_id"] for h in history["alice"]["history"]} == set(deployments.values())
        assert {h["deployment_id"] for h in history["bob"]["history"]} == {deployments["bob"]}
        assert history["carol"]["history"] == [] and history["carol"]["summary"]["total"] == 0
        signals = {who: (await clients[who].get(f"{query}/api/v3/signals", params={"agent_id": agent["id"]})).json()["count"]
                   for who in clients}
        assert signals == {"alice": 1, "bob": 1, "carol": 0}

        # A token revoked at control stops reading here (the cache is off in this test).
        assert (await bob.delete(f"{control_url}/api/v3/auth/tokens")).status_code == 200
        assert (await bob.get(path)).status_code == 401
    finally:
        for client in clients.values():
            await client.aclose()
        await asyncio.to_thread(stack.stop, "query", 1)
