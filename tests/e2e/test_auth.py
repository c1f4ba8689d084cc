"""Control writes need a signed-in wallet (EIP-4361 + EIP-191) or a token, and only owners change what is theirs."""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import httpx
import pytest
from eth_account import Account

from vprime_local.stack import ServiceStack
from vprime_shared.sign_in import bearer, sign_in_async, signature

pytestmark = pytest.mark.integration


@pytest.fixture
async def anon() -> httpx.AsyncClient:
    async with httpx.AsyncClient(timeout=15) as client:
        yield client


async def as_wallet(control: str, account) -> httpx.AsyncClient:  # noqa: ANN001 - an eth_account LocalAccount
    client = httpx.AsyncClient(timeout=15)
    client.headers.update(bearer(await sign_in_async(client, control, account.key)))
    return client


def agent_body(wallet: str, name: str = "owned") -> dict:
    return {"creator_wallet": wallet, "name": name, "profit_receiver_address": wallet}


async def test_writes_need_a_token_and_reads_stay_public(anon: httpx.AsyncClient, control_url: str) -> None:
    r = await anon.post(f"{control_url}/api/v3/agents/create", json=agent_body("0x" + "1" * 40))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in r.json()["error"] and r.json()["success"] is False
    wrong = await anon.post(f"{control_url}/api/v3/agents/create", json=agent_body("0x" + "1" * 40),
                            headers=bearer("vps_not-a-token"))
    assert wrong.status_code == 401 and "unknown, expired or revoked" in wrong.json()["error"]
    for path in ("/api/v3/routing/config", "/api/v3/agents/list"):
        assert (await anon.get(f"{control_url}{path}")).status_code == 200


async def test_sign_in_is_single_use_and_bound_to_the_signing_wallet(anon: httpx.AsyncClient, control_url: str) -> None:
    alice, mallory = Account.create(), Account.create()
    issued = (await anon.post(f"{control_url}/api/v3/auth/nonce", json={"wallet": alice.address})).json()
    assert f"\n{alice.address}\n" in issued["message"] and f"Nonce: {issued['nonce']}" in issued["message"]

    forged = await anon.post(f"{control_url}/api/v3/auth/verify",
                             json={"message": issued["message"], "signature": signature(issued["message"], mallory.key)})
    assert forged.status_code == 401 and mallory.address.lower() in forged.json()["error"]
    # The failed attempt spent the nonce: even the right signature now needs a new one.
    late = await anon.post(f"{control_url}/api/v3/auth/verify",
                           json={"message": issued["message"], "signature": signature(issued["message"], alice.key)})
    assert late.status_code == 401 and "already used" in late.json()["error"]

    issued = (await anon.post(f"{control_url}/api/v3/auth/nonce", json={"wallet": alice.address})).json()
    edited = issued["message"].replace("Chain ID: 1", "Chain ID: 2")
    changed = await anon.post(f"{control_url}/api/v3/auth/verify", json={"message": edited, "signature": signature(edited, alice.key)})
    assert changed.status_code == 401 and "differs" in changed.json()["error"]

    issued = (await anon.post(f"{control_url}/api/v3/auth/nonce", json={"wallet": alice.address})).json()
    body = {"message": issued["message"], "signature": signature(issued["message"], alice.key)}
    session = (await anon.post(f"{control_url}/api/v3/auth/verify", json=body)).json()
    assert session["wallet"] == alice.address.lower() and session["token"].startswith("vps_")
    me = (await anon.get(f"{control_url}/api/v3/auth/me", headers=bearer(session["token"]))).json()
    assert me == {"success": True, "wallet": alice.address.lower(), "operator": False}
    replay = await anon.post(f"{control_url}/api/v3/auth/verify", json=body)
    assert replay.status_code == 401 and "already used" in replay.json()["error"]

    for bad in ({"wallet": "0xE2E"}, {"wallet": alice.address, "extra": 1}):
        r = await anon.post(f"{control_url}/api/v3/auth/nonce", json=bad)
        assert r.status_code == 422, bad
    assert (await anon.post(f"{control_url}/api/v3/auth/verify", json={"message": "hi", "signature": "0x00"})).status_code == 401


async def test_only_owners_change_agents_and_deployments(control_url: str) -> None:
    alice_key, bob_key = Account.create(), Account.create()
    alice, bob = await as_wallet(control_url, alice_key), await as_wallet(control_url, bob_key)
    try:
        impostor = await bob.post(f"{control_url}/api/v3/agents/create", json=agent_body(alice_key.address))
        assert impostor.status_code == 403 and "not the signed-in wallet" in impostor.json()["error"]
        created = await alice.post(f"{control_url}/api/v3/agents/create", json=agent_body(alice_key.address, "alice's"))
        assert created.status_code == 201
        agent_id = created.json()["agent"]["id"]

        deploy = {"agent_id": agent_id, "user_wallet": bob_key.address, "enabled_venues": ["HYPERLIQUID"]}
        assert (await bob.post(f"{control_url}/api/v3/agents/deploy", json=deploy)).status_code == 403
        signal = {"agent_id": agent_id, "token_symbol": "ETH", "side": "LONG"}
        assert (await bob.post(f"{control_url}/api/v3/signals/generate", json=signal)).status_code == 403
        routing = {"venue_priority": ["OSTIUM", "HYPERLIQUID"]}
        assert (await bob.put(f"{control_url}/api/v3/routing/config", params={"agent_id": agent_id}, json=routing)).status_code == 403
        assert (await alice.put(f"{control_url}/api/v3/routing/config", json=routing)).status_code == 403  # global: operators
        assert (await alice.put(f"{control_url}/api/v3/routing/config", params={"agent_id": agent_id}, json=routing)).status_code == 200

        deployed = await alice.post(f"{control_url}/api/v3/agents/deploy", json=deploy)
        assert deployed.status_code == 201
        deployment_id = deployed.json()["deployment"]["id"]
        # Bob is the deployment's user: he may pause it; a third wallet may not.
        carol = await as_wallet(control_url, Account.create())
        try:
            assert (await carol.post(f"{control_url}/api/v3/deployments/{deployment_id}/pause")).status_code == 403
            assert (await carol.put(f"{control_url}/api/v3/deployments/{deployment_id}/policy", json={})).status_code == 403
        finally:
            await carol.aclose()
        assert (await bob.post(f"{control_url}/api/v3/deployments/{deployment_id}/pause")).json()["deployment"]["status"] == "PAUSED"
        assert (await alice.post(f"{control_url}/api/v3/deployments/{deployment_id}/resume")).json()["deployment"]["status"] == "ACTIVE"
        sent = await alice.post(f"{control_url}/api/v3/signals/generate", json=signal)
        assert sent.status_code == 201
        redrive = {"signal_id": sent.json()["signal"]["id"]}
        assert (await bob.post(f"{control_url}/api/v3/execute/trade", json=redrive)).status_code == 403
        assert (await alice.post(f"{control_url}/api/v3/execute/trade", json=redrive)).status_code == 202
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_api_tokens_act_for_their_wallet_until_revoked(control_url: str, admin_db: asyncpg.Pool) -> None:
    owner = Account.create()
    session = await as_wallet(control_url, owner)
    try:
        minted = await session.post(f"{control_url}/api/v3/auth/tokens", json={"label": "ci", "ttl_days": 30})
        assert minted.status_code == 201
        token, token_id = minted.json()["token"], minted.json()["token_id"]
        assert token.startswith("vpt_")
        async with httpx.AsyncClient(timeout=15, headers=bearer(token)) as script:
            r = await script.post(f"{control_url}/api/v3/agents/create", json=agent_body(owner.address, "scripted"))
            assert r.status_code == 201 and r.json()["agent"]["creator_wallet"] == owner.address
            listed = (await session.get(f"{control_url}/api/v3/auth/tokens")).json()["tokens"]
            assert token_id in [t["token_id"] for t in listed] and token not in str(listed)
            # Stored as a digest only: the token itself is in no column.
            stored = await admin_db.fetchrow("SELECT * FROM control.auth_tokens WHERE token_id = $1::uuid", token_id)
            assert bytes(stored["digest"]) == hashlib.sha256(token.encode()).digest() and token not in str(dict(stored))
            assert (await session.delete(f"{control_url}/api/v3/auth/tokens/{token_id}")).status_code == 200
            after = await script.post(f"{control_url}/api/v3/agents/create", json=agent_body(owner.address))
            assert after.status_code == 401
            assert (await session.delete(f"{control_url}/api/v3/auth/tokens/{token_id}")).status_code == 404
    finally:
        await session.aclose()


async def test_reads_can_require_a_token(stack: ServiceStack, anon: httpx.AsyncClient) -> None:
    """A second control instance with READ_ACCESS=token: reads want a token, any valid one."""
    await asyncio.to_thread(stack.start, "control", 1, READ_ACCESS="token")
    url = stack.url("control", 1)
    try:
        await asyncio.to_thread(stack.wait_healthy, 60, ("control",), 1)
        closed = await anon.get(f"{url}/api/v3/agents/list")
        assert closed.status_code == 401
        reader = await as_wallet(url, Account.create())
        try:
            assert (await reader.get(f"{url}/api/v3/agents/list")).status_code == 200
        finally:
            await reader.aclose()
        assert (await anon.get(f"{url}/health")).status_code == 200  # health stays open for probes
    finally:
        await asyncio.to_thread(stack.stop, "control", 1)
