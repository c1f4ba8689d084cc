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

from tests.conftest import eventually

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


async def test_a_follower_deploys_a_published_agent_and_only_the_follower_steers_it(control_url: str, query_url: str) -> None:
    """Copy-trading: Alice publishes an agent (her first deployment), Bob deploys it for his own wallet and
    trades its signals; Alice may pause her agent but not Bob's deployment; Carol may do neither."""
    alice_key, bob_key, carol_key = Account.create(), Account.create(), Account.create()
    alice, bob, carol = [await as_wallet(control_url, k) for k in (alice_key, bob_key, carol_key)]
    try:
        impostor = await bob.post(f"{control_url}/api/v3/agents/create", json=agent_body(alice_key.address))
        assert impostor.status_code == 403 and "not the signed-in wallet" in impostor.json()["error"]
        created = await alice.post(f"{control_url}/api/v3/agents/create", json=agent_body(alice_key.address, "alice's"))
        assert created.status_code == 201
        agent_id = created.json()["agent"]["id"]

        for_bob = {"agent_id": agent_id, "user_wallet": bob_key.address, "enabled_venues": ["HYPERLIQUID"]}
        draft = await bob.post(f"{control_url}/api/v3/agents/deploy", json=for_bob)
        assert draft.status_code == 403 and "DRAFT" in draft.json()["error"]  # not published yet
        pushed = await alice.post(f"{control_url}/api/v3/agents/deploy", json=for_bob)  # a creator cannot enrol a follower
        assert pushed.status_code == 403 and "deploys for itself" in pushed.json()["error"]
        own = await alice.post(f"{control_url}/api/v3/agents/deploy", json={**for_bob, "user_wallet": alice_key.address})
        assert own.status_code == 201  # her first deployment publishes the agent

        followed = await bob.post(f"{control_url}/api/v3/agents/deploy", json=for_bob)
        assert followed.status_code == 201, followed.text
        deployment_id = followed.json()["deployment"]["id"]
        assert followed.json()["deployment"]["user_wallet"] == bob_key.address
        for who in (alice, carol):
            path = f"{control_url}/api/v3/deployments/{deployment_id}"
            for attempt in (who.post(f"{path}/pause"), who.post(f"{path}/resume"), who.post(f"{path}/stop"),
                            who.put(f"{path}/policy", json={}), who.post(f"{path}/agent-wallets/GMX")):
                r = await attempt
                assert r.status_code == 403 and "belongs to" in r.json()["error"], r.text
        assert (await bob.post(f"{control_url}/api/v3/deployments/{deployment_id}/pause")).json()["deployment"]["status"] == "PAUSED"
        assert (await alice.post(f"{control_url}/api/v3/deployments/{deployment_id}/resume")).status_code == 403
        resumed = await bob.post(f"{control_url}/api/v3/deployments/{deployment_id}/resume")
        assert resumed.json()["deployment"]["status"] == "ACTIVE"

        # The creator's signals reach the follower's deployment.
        signal = {"agent_id": agent_id, "token_symbol": "ETH", "side": "LONG"}
        assert (await bob.post(f"{control_url}/api/v3/signals/generate", json=signal)).status_code == 403
        sent = await alice.post(f"{control_url}/api/v3/signals/generate", json=signal)
        assert sent.status_code == 201

        async def bobs_intent() -> bool:
            t = (await bob.get(f"{query_url}/api/v3/signals/{sent.json()['signal']['id']}/timeline")).json()
            return any(i.get("deployment_id") == deployment_id for i in t.get("intents", []))

        await eventually(bobs_intent, what="the creator's signal to reach the follower's deployment")
        redrive = {"signal_id": sent.json()["signal"]["id"]}
        assert (await bob.post(f"{control_url}/api/v3/execute/trade", json=redrive)).status_code == 403
        assert (await alice.post(f"{control_url}/api/v3/execute/trade", json=redrive)).status_code == 202

        # Alice pauses her agent: it takes no signals and no new followers; Bob's deployment is left as it was.
        assert (await bob.post(f"{control_url}/api/v3/agents/{agent_id}/pause")).status_code == 403
        paused = await alice.post(f"{control_url}/api/v3/agents/{agent_id}/pause")
        assert paused.json()["agent"]["status"] == "PAUSED"
        refused = await alice.post(f"{control_url}/api/v3/signals/generate", json=signal)
        assert refused.status_code == 409 and "paused" in refused.json()["error"]
        late = await carol.post(f"{control_url}/api/v3/agents/deploy", json={**for_bob, "user_wallet": carol_key.address})
        assert late.status_code == 403
        assert (await bob.get(f"{control_url}/api/v3/deployments/{deployment_id}")).json()["deployment"]["status"] == "ACTIVE"
        assert (await alice.post(f"{control_url}/api/v3/agents/{agent_id}/resume")).json()["agent"]["status"] == "ACTIVE"

        routing = {"venue_priority": ["OSTIUM", "HYPERLIQUID"]}
        assert (await bob.put(f"{control_url}/api/v3/routing/config", params={"agent_id": agent_id}, json=routing)).status_code == 403
        assert (await alice.put(f"{control_url}/api/v3/routing/config", json=routing)).status_code == 403  # global: operators
        assert (await alice.put(f"{control_url}/api/v3/routing/config", params={"agent_id": agent_id}, json=routing)).status_code == 200
    finally:
        for client in (alice, bob, carol):
            await client.aclose()


async def test_a_phishing_host_cannot_name_itself_in_the_sign_in_message(anon: httpx.AsyncClient, control_url: str,
                                                                         admin_db: asyncpg.Pool, stack: ServiceStack) -> None:
    """The relay attack: a phishing server asks for the victim's message with its own Host. The message names the
    configured domain whatever the Host says, so the victim's wallet warns, and nothing of the Host is stored."""
    victim = Account.create()
    phish_host = "evil-phish.example" + "a" * 60_000
    issued = await anon.post(f"{control_url}/api/v3/auth/nonce", json={"wallet": victim.address},
                             headers={"Host": "evil-phish.example", "X-Forwarded-Host": phish_host})
    assert issued.status_code == 201
    message = issued.json()["message"]
    web_app = stack.url("query")  # the configured sign-in site: the web app's host, where users sign in
    assert message.startswith(f"{web_app.removeprefix('http://')} wants you to sign in") and "evil-phish" not in message
    assert f"URI: {web_app}\n" in message
    row = await admin_db.fetchrow("SELECT * FROM control.auth_nonces WHERE nonce = $1", issued.json()["nonce"])
    assert set(row.keys()) == {"nonce", "wallet", "issued_at", "expires_at", "used_at"}
    assert len(str(dict(row))) < 400


async def test_sign_in_requests_are_rate_limited_per_client(stack: ServiceStack, anon: httpx.AsyncClient) -> None:
    """A second control instance allowing 3 a minute: the fourth in a row is refused with when to come back, and
    no row is stored for it."""
    await asyncio.to_thread(stack.start, "control", 2, NONCE_RATE_PER_MINUTE="3")
    url = stack.url("control", 2)
    try:
        await asyncio.to_thread(stack.wait_healthy, 60, ("control",), 2)
        wallet = {"wallet": Account.create().address}
        answers = [await anon.post(f"{url}/api/v3/auth/nonce", json=wallet) for _ in range(5)]
        assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
        assert "at most 3 a minute" in answers[3].json()["error"] and int(answers[3].headers["retry-after"]) >= 1
    finally:
        await asyncio.to_thread(stack.stop, "control", 2)


async def test_api_tokens_expire_by_default_are_minted_by_sessions_only_and_can_all_be_revoked(control_url: str) -> None:
    owner = Account.create()
    session = await as_wallet(control_url, owner)
    try:
        minted = (await session.post(f"{control_url}/api/v3/auth/tokens", json={"label": "default"})).json()
        assert minted["expires_at"] is not None  # 90 days unless asked otherwise
        too_long = await session.post(f"{control_url}/api/v3/auth/tokens", json={"ttl_days": 3650})
        assert too_long.status_code == 422 and "365" in too_long.json()["error"]
        async with httpx.AsyncClient(timeout=15, headers=bearer(minted["token"])) as script:
            more = await script.post(f"{control_url}/api/v3/auth/tokens", json={"label": "from a script"})
            assert more.status_code == 403 and "session token" in more.json()["error"]
            revoked = await session.delete(f"{control_url}/api/v3/auth/tokens")
            assert revoked.status_code == 200 and revoked.json()["revoked"] >= 2  # the script's token and the session
            assert (await script.get(f"{control_url}/api/v3/auth/me")).status_code == 401
        assert (await session.get(f"{control_url}/api/v3/auth/me")).status_code == 401
    finally:
        await session.aclose()


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


async def test_with_read_access_token_a_wallet_reads_its_own_details(stack: ServiceStack, anon: httpx.AsyncClient) -> None:
    """A second control instance with READ_ACCESS=token: agent cards stay public, an agent's make-up and a
    deployment are read by their owners only."""
    await asyncio.to_thread(stack.start, "control", 1, READ_ACCESS="token")
    url = stack.url("control", 1)
    alice_key, bob_key = Account.create(), Account.create()
    try:
        await asyncio.to_thread(stack.wait_healthy, 60, ("control",), 1)
        alice, bob = await as_wallet(url, alice_key), await as_wallet(url, bob_key)
        try:
            agent = (await alice.post(f"{url}/api/v3/agents/create", json={
                **agent_body(alice_key.address, "private sources"), "x_account_ids": ["secret_account"]})).json()["agent"]
            deployment = (await alice.post(f"{url}/api/v3/agents/deploy", json={
                "agent_id": agent["id"], "user_wallet": alice_key.address})).json()["deployment"]
            listing = {"creator_wallet": alice_key.address}
            public = (await anon.get(f"{url}/api/v3/agents/list", params=listing)).json()["agents"]
            assert public[0]["name"] == "private sources" and "x_account_ids" not in public[0]
            assert "secret_account" not in (await bob.get(f"{url}/api/v3/agents/list", params=listing)).text
            assert (await alice.get(f"{url}/api/v3/agents/list", params=listing)).json()["agents"][0]["x_account_ids"] == ["secret_account"]
            path = f"{url}/api/v3/deployments/{deployment['id']}"
            assert (await anon.get(path)).status_code == 401
            assert (await bob.get(path)).status_code == 403
            assert (await alice.get(path)).status_code == 200
            config = f"{url}/api/v3/routing/config?agent_id={agent['id']}"
            assert [(await c.get(config)).status_code for c in (anon, bob, alice)] == [401, 403, 200]
            assert (await anon.get(f"{url}/api/v3/routing/config")).status_code == 200  # the global one is public
        finally:
            await alice.aclose()
            await bob.aclose()
        assert (await anon.get(f"{url}/health")).status_code == 200  # health stays open for probes
    finally:
        await asyncio.to_thread(stack.stop, "control", 1)
