"""Agent keys are imported sealed for a wallet, a venue and a key import nonce the executor issued: an
envelope opens only for those, a nonce serves one deployment, an agent key belongs to one deployment,
and a deployment's key for a venue is changed only when asked to. Called on the executor's internal
API, as control calls it."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from eth_account import Account

from vprime_executor.adapters.credentials import load_kek
from vprime_local.stack import ServiceStack
from vprime_shared.key_envelope import FORMAT, import_key_pair, public_key_b64, seal_agent_key

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module")
async def executor(stack: ServiceStack) -> AsyncIterator[httpx.AsyncClient]:
    token = (stack.home / "secrets" / "internal-api.token").read_text().strip()
    async with httpx.AsyncClient(base_url=stack.url("executor"), timeout=15, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


async def issue(executor: httpx.AsyncClient, wallet: str) -> dict[str, Any]:
    r = await executor.post("/internal/key-imports", json={"wallet": wallet})
    assert r.status_code == 201, r.text
    return r.json()


def sealed(issued: dict[str, Any], private_hex: str, venue: str, wallet: str | None = None) -> dict[str, str]:
    return seal_agent_key(issued["public_key"], private_hex, wallet=wallet or issued["wallet"], venue=venue, nonce=issued["nonce"])


async def put_key(executor: httpx.AsyncClient, deployment: uuid.UUID, venue: str, envelope: dict[str, str], *, wallet: str,
                  nonce: str, address: str | None = None, replace: bool | None = None) -> httpx.Response:
    body: dict[str, Any] = {"address": address, "key_encrypted": envelope["encrypted"], "key_iv": envelope["iv"],
                            "key_tag": envelope["tag"], "wallet": wallet, "nonce": nonce}
    if replace is not None:
        body["replace"] = replace
    return await executor.put(f"/internal/deployments/{deployment}/credentials/{venue}", json=body)


async def test_a_nonce_and_the_import_public_key_are_issued(executor: httpx.AsyncClient, stack: ServiceStack,
                                                             admin_db: asyncpg.Pool) -> None:
    wallet = Account.create().address  # checksummed: mixed case
    before = datetime.now().astimezone()
    issued = await issue(executor, wallet)
    kek = load_kek("", str(stack.home / "secrets" / "credentials.key"))
    assert kek is not None
    assert issued["format"] == FORMAT == "vprime-x25519-aes256gcm-v1"
    assert issued["public_key"] == public_key_b64(import_key_pair(kek)) and len(base64.b64decode(issued["public_key"])) == 32
    assert len(issued["nonce"]) == 32 and int(issued["nonce"], 16) >= 0 and issued["wallet"] == wallet.lower()
    expires = datetime.fromisoformat(issued["expires_at"])
    assert before + timedelta(minutes=14) < expires < before + timedelta(minutes=16)
    row = await admin_db.fetchrow("SELECT wallet, deployment_id FROM executor.key_import_nonces WHERE nonce = $1", issued["nonce"])
    assert dict(row) == {"wallet": wallet.lower(), "deployment_id": None}
    assert issued["nonce"] != (await issue(executor, wallet))["nonce"]

    # Expired nonces are pruned as new ones are issued.
    await admin_db.execute("UPDATE executor.key_import_nonces SET expires_at = now() - interval '1 second' WHERE nonce = $1", issued["nonce"])
    await issue(executor, wallet)
    assert await admin_db.fetchval("SELECT count(*) FROM executor.key_import_nonces WHERE nonce = $1", issued["nonce"]) == 0

    assert (await executor.post("/internal/key-imports", json={"wallet": "0xUser"})).status_code == 422
    async with httpx.AsyncClient(base_url=str(executor.base_url)) as anonymous:
        assert (await anonymous.post("/internal/key-imports", json={"wallet": wallet})).status_code == 401


async def test_a_sealed_key_imports_into_one_deployment_and_its_envelope_replays_nowhere(
    executor: httpx.AsyncClient, admin_db: asyncpg.Pool
) -> None:
    victim, attacker, agent = Account.create(), Account.create(), Account.create()
    deployment_a, deployment_b = uuid.uuid4(), uuid.uuid4()
    issued = await issue(executor, victim.address)
    envelope = sealed(issued, agent.key.hex(), "HYPERLIQUID")

    r = await put_key(executor, deployment_a, "HYPERLIQUID", envelope, wallet=victim.address, nonce=issued["nonce"], address=agent.address)
    assert r.status_code == 200, r.text
    assert r.json() == {"deployment_id": str(deployment_a), "venue": "HYPERLIQUID", "address": agent.address, "source": "imported"}
    row = await admin_db.fetchrow("SELECT address, source, sealed_key FROM executor.credentials WHERE deployment_id = $1", deployment_a)
    assert row["address"] == agent.address and row["source"] == "imported"
    assert agent.key.hex().removeprefix("0x").encode() not in bytes(row["sealed_key"]) and agent.key not in bytes(row["sealed_key"])
    assert await admin_db.fetchval("SELECT deployment_id FROM executor.key_import_nonces WHERE nonce = $1", issued["nonce"]) == deployment_a
    answers = [r.text]

    # The same envelope (and nonce), replayed into the attacker's deployment.
    r = await put_key(executor, deployment_b, "HYPERLIQUID", envelope, wallet=victim.address, nonce=issued["nonce"])
    assert r.status_code == 422 and r.json()["error"] == "this key import nonce was used for another deployment; ask for a new one"
    # With a fresh nonce for the attacker's wallet, or even for the victim's, the envelope does not open.
    for wallet in (attacker.address, victim.address):
        fresh = await issue(executor, wallet)
        r = await put_key(executor, deployment_b, "HYPERLIQUID", envelope, wallet=wallet, nonce=fresh["nonce"])
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "the agent key does not decrypt for this wallet, venue and key import nonce"
        answers.append(r.text)
    # Nor for another venue of the deployment it was sealed for.
    r = await put_key(executor, deployment_a, "OSTIUM", envelope, wallet=victim.address, nonce=issued["nonce"])
    assert r.status_code == 422 and "does not decrypt" in r.json()["error"]

    # The same agent key, sealed properly for the attacker's deployment: held by another deployment.
    theirs = await issue(executor, attacker.address)
    r = await put_key(executor, deployment_b, "HYPERLIQUID", sealed(theirs, agent.key.hex(), "HYPERLIQUID"), wallet=attacker.address,
                      nonce=theirs["nonce"])
    assert r.status_code == 409 and r.json()["error"] == f"agent key {agent.address} is already held by another deployment"
    assert await admin_db.fetchval("SELECT deployment_id FROM executor.key_import_nonces WHERE nonce = $1", theirs["nonce"]) is None
    assert await admin_db.fetchval("SELECT count(*) FROM executor.credentials WHERE deployment_id = $1", deployment_b) == 0
    answers.append(r.text)
    assert not any(agent.key.hex().removeprefix("0x") in a.lower() or envelope["encrypted"] in a for a in answers)


async def test_one_nonce_serves_one_deployment_s_venues_and_a_key_is_changed_only_with_replace(
    executor: httpx.AsyncClient, admin_db: asyncpg.Pool
) -> None:
    user, first, second, ostium = Account.create(), Account.create(), Account.create(), Account.create()
    deployment = uuid.uuid4()
    issued = await issue(executor, user.address)
    nonce = issued["nonce"]
    r = await put_key(executor, deployment, "HYPERLIQUID", sealed(issued, first.key.hex(), "HYPERLIQUID"), wallet=user.address, nonce=nonce)
    assert r.status_code == 200 and r.json()["address"] == first.address
    # The same nonce seals the deployment's other venues' keys.
    r = await put_key(executor, deployment, "OSTIUM", sealed(issued, ostium.key.hex(), "OSTIUM"), wallet=user.address, nonce=nonce)
    assert r.status_code == 200 and r.json()["address"] == ostium.address
    # A deployment may hold one agent key for several venues.
    r = await put_key(executor, deployment, "GMX", sealed(issued, ostium.key.hex(), "GMX"), wallet=user.address, nonce=nonce)
    assert r.status_code == 200 and r.json()["address"] == ostium.address

    replacement = sealed(issued, second.key.hex(), "HYPERLIQUID")
    r = await put_key(executor, deployment, "HYPERLIQUID", replacement, wallet=user.address, nonce=nonce)
    assert r.status_code == 409
    assert r.json()["error"] == f"deployment {deployment} already has a HYPERLIQUID agent key; pass replace to change it"
    r = await put_key(executor, deployment, "HYPERLIQUID", replacement, wallet=user.address, nonce=nonce, replace=True)
    assert r.status_code == 200 and r.json()["address"] == second.address
    stored = await admin_db.fetchval("SELECT address FROM executor.credentials WHERE deployment_id = $1 AND venue = 'HYPERLIQUID'", deployment)
    assert stored == second.address
    # The replaced key is no longer this deployment's: another may take it.
    held = {r["address"] for r in await admin_db.fetch("SELECT address FROM executor.agent_addresses WHERE deployment_id = $1", deployment)}
    assert held == {second.address.lower(), ostium.address.lower()}
    other, elsewhere = uuid.uuid4(), await issue(executor, user.address)
    r = await put_key(executor, other, "HYPERLIQUID", sealed(elsewhere, first.key.hex(), "HYPERLIQUID"), wallet=user.address,
                      nonce=elsewhere["nonce"])
    assert r.status_code == 200 and r.json()["address"] == first.address

    # Another wallet's, an unknown and an expired nonce.
    r = await put_key(executor, deployment, "SPOT", sealed(issued, Account.create().key.hex(), "SPOT", wallet=Account.create().address),
                      wallet=Account.create().address, nonce=nonce)
    assert r.status_code == 422 and r.json()["error"] == "this key import nonce was issued for another wallet"
    r = await put_key(executor, deployment, "SPOT", sealed({**issued, "nonce": "0" * 32}, Account.create().key.hex(), "SPOT"),
                      wallet=user.address, nonce="0" * 32)
    assert r.status_code == 422 and r.json()["error"] == "unknown key import nonce; ask for a new one"
    await admin_db.execute("UPDATE executor.key_import_nonces SET expires_at = now() - interval '1 second' WHERE nonce = $1", nonce)
    r = await put_key(executor, deployment, "SPOT", sealed(issued, Account.create().key.hex(), "SPOT"), wallet=user.address, nonce=nonce)
    assert r.status_code == 422 and r.json()["error"] == "this key import nonce has expired; ask for a new one"


async def test_generating_over_a_venue_s_key_needs_replace(executor: httpx.AsyncClient, admin_db: asyncpg.Pool) -> None:
    deployment = uuid.uuid4()
    r = await executor.post(f"/internal/deployments/{deployment}/agent-wallets/GMX")
    assert r.status_code == 200 and r.json()["source"] == "generated"
    first = r.json()["address"]
    r = await executor.post(f"/internal/deployments/{deployment}/agent-wallets/GMX")
    assert r.status_code == 409 and r.json()["error"] == f"deployment {deployment} already has a GMX agent key; pass replace to change it"
    r = await executor.post(f"/internal/deployments/{deployment}/agent-wallets/GMX", params={"replace": "true"})
    assert r.status_code == 200 and r.json()["address"] != first
    assert await admin_db.fetchval("SELECT address FROM executor.credentials WHERE deployment_id = $1", deployment) == r.json()["address"]

    # An imported key is not overwritten by a generated one either.
    user, agent = Account.create(), Account.create()
    issued, imported = await issue(executor, user.address), uuid.uuid4()
    r = await put_key(executor, imported, "SPOT", sealed(issued, agent.key.hex(), "SPOT"), wallet=user.address, nonce=issued["nonce"])
    assert r.status_code == 200
    assert (await executor.post(f"/internal/deployments/{imported}/agent-wallets/SPOT")).status_code == 409
    assert await admin_db.fetchval("SELECT address FROM executor.credentials WHERE deployment_id = $1", imported) == agent.address


async def test_the_migration_keeps_keys_a_database_already_holds(admin_db: asyncpg.Pool) -> None:
    """013 on a schema whose credentials already hold one address in two deployments: it applies, keeps both
    rows, and gives the address to the deployment that stored it first."""
    migrations = files("vprime_executor") / "migrations"
    schema = f"migration_{uuid.uuid4().hex[:8]}"
    first, later = uuid.uuid4(), uuid.uuid4()
    async with admin_db.acquire() as conn, conn.transaction():
        await conn.execute(f"CREATE SCHEMA {schema}; SET LOCAL search_path TO {schema}")
        await conn.execute((migrations / "004_credentials.sql").read_text())
        older, newer = timedelta(days=2), timedelta(days=1)
        rows = [(first, "HYPERLIQUID", "0xAbC" + "0" * 37, older), (later, "HYPERLIQUID", "0xabc" + "0" * 37, newer),
                (first, "OSTIUM", "0xAbC" + "0" * 37, older), (later, "GMX", "0x" + "d" * 40, newer)]
        for deployment, venue, address, age in rows:
            await conn.execute("INSERT INTO credentials (deployment_id, venue, address, nonce, sealed_key, source, created_at) "
                               "VALUES ($1, $2, $3, '\\x00', '\\x00', 'imported', now() - $4::interval)", deployment, venue, address, age)
        await conn.execute((migrations / "013_key_imports.sql").read_text())
        held = {r["address"]: r["deployment_id"] for r in await conn.fetch("SELECT address, deployment_id FROM agent_addresses")}
        assert held == {"0xabc" + "0" * 37: first, "0x" + "d" * 40: later}
        assert await conn.fetchval("SELECT count(*) FROM credentials") == 4
        with pytest.raises(asyncpg.CheckViolationError):  # addresses are held in lower case only
            async with conn.transaction():
                await conn.execute("INSERT INTO agent_addresses (address, deployment_id) VALUES ('0xABC', $1)", later)
        await conn.execute(f"SET LOCAL search_path TO DEFAULT; DROP SCHEMA {schema} CASCADE")
