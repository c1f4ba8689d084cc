"""The internal API's answers: its token, what it validates, and which refusal becomes which status."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from vprime_shared.runtime import install_error_handlers

from vprime_executor.adapters.credentials import (
    CredentialConflict,
    CredentialError,
    CredentialsDisabled,
    KeyImport,
    SealedKey,
)
from vprime_executor.api import ImportedKey, internal_api

TOKEN = "internal-token"
WALLET = "0x" + "Ab" * 20
NONCE = "00112233445566778899aabbccddeeff"
BODY = {"address": None, "key_encrypted": "ZW5j", "key_iv": "aXY=", "key_tag": "dGFn", "wallet": WALLET, "nonce": NONCE}


class FakePool:
    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[None]:
        yield None


class FakeStore:
    """Records what the API asked for; raises what a test sets."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail: Exception | None = None

    async def issue_key_import(self, conn: None, wallet: str) -> KeyImport:
        self.calls.append(("issue", {"wallet": wallet}))
        if self.fail:
            raise self.fail
        return KeyImport(NONCE, wallet.lower(), datetime(2026, 1, 1, tzinfo=UTC), "cHVibGlj")

    async def import_key(self, conn: None, deployment_id: uuid.UUID, venue: Any, sealed: SealedKey, **kw: Any) -> str:
        self.calls.append(("import", {"deployment_id": deployment_id, "venue": venue, "sealed": sealed, **kw}))
        if self.fail:
            raise self.fail
        return "0x" + "12" * 20

    async def generate(self, conn: None, deployment_id: uuid.UUID, venue: Any, *, replace: bool = False, account: str | None = None) -> str:
        self.calls.append(("generate", {"deployment_id": deployment_id, "venue": venue, "replace": replace}))
        if self.fail:
            raise self.fail
        return "0x" + "34" * 20


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest_asyncio.fixture
async def client(store: FakeStore) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(internal_api(store, TOKEN))  # type: ignore[arg-type]
    app.state.runtime = SimpleNamespace(pool=FakePool())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://executor",
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        yield http


async def test_a_key_import_nonce_is_issued_for_a_wallet(client: httpx.AsyncClient, store: FakeStore) -> None:
    r = await client.post("/internal/key-imports", json={"wallet": WALLET})
    assert r.status_code == 201, r.text
    assert r.json() == {"format": "vprime-x25519-aes256gcm-v1", "public_key": "cHVibGlj", "nonce": NONCE, "wallet": WALLET.lower(),
                        "expires_at": "2026-01-01T00:00:00+00:00"}
    for bad in [{"wallet": "0x12"}, {"wallet": WALLET, "extra": 1}, {}]:
        assert (await client.post("/internal/key-imports", json=bad)).status_code == 422
    store.fail = CredentialsDisabled("no credentials key configured")
    assert (await client.post("/internal/key-imports", json={"wallet": WALLET})).status_code == 503


async def test_the_internal_api_wants_its_token(client: httpx.AsyncClient, store: FakeStore) -> None:
    assert (await client.post("/internal/key-imports", json={"wallet": WALLET}, headers={"Authorization": "Bearer wrong"})).status_code == 401
    path = f"/internal/deployments/{uuid.uuid4()}/credentials/HYPERLIQUID"
    assert (await client.put(path, json=BODY, headers={"Authorization": ""})).status_code == 401
    assert store.calls == []


async def test_an_import_hands_the_store_the_wallet_nonce_and_replace(client: httpx.AsyncClient, store: FakeStore) -> None:
    deployment = uuid.uuid4()
    r = await client.put(f"/internal/deployments/{deployment}/credentials/OSTIUM", json={**BODY, "replace": True})
    assert r.status_code == 200, r.text
    assert r.json() == {"deployment_id": str(deployment), "venue": "OSTIUM", "address": "0x" + "12" * 20, "source": "imported"}
    [(_, call)] = store.calls
    assert call["wallet"] == WALLET and call["nonce"] == NONCE and call["replace"] is True and call["address"] is None
    assert (call["sealed"].encrypted, call["sealed"].iv, call["sealed"].tag) == ("ZW5j", "aXY=", "dGFn")


@pytest.mark.parametrize("change", [{"nonce": None}, {"wallet": "0x1"}, {"key_encrypted": "A" * 257}, {"key_iv": ""},
                                    {"address": "not an address"}, {"private_key": "0x" + "11" * 32}])
async def test_bodies_out_of_shape_are_refused_without_echoing_them(client: httpx.AsyncClient, store: FakeStore, change: dict[str, Any]) -> None:
    body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
    r = await client.put(f"/internal/deployments/{uuid.uuid4()}/credentials/GMX", json=body)
    assert r.status_code == 422 and store.calls == []
    assert "11" * 32 not in r.text and "A" * 257 not in r.text


@pytest.mark.parametrize("failure,status", [
    (CredentialError("this key import nonce was used for another deployment; ask for a new one"), 422),
    (CredentialError("the agent key does not decrypt for this wallet, venue and key import nonce"), 422),
    (CredentialConflict("agent key 0x… is already held by another deployment"), 409),
    (CredentialsDisabled("no credentials key configured"), 503),
])
async def test_refusals_become_statuses_with_their_reason(client: httpx.AsyncClient, store: FakeStore, failure: Exception, status: int) -> None:
    store.fail = failure
    r = await client.put(f"/internal/deployments/{uuid.uuid4()}/credentials/SPOT", json=BODY)
    assert r.status_code == status and r.json() == {"success": False, "error": str(failure)}


async def test_generating_over_a_key_needs_replace(client: httpx.AsyncClient, store: FakeStore) -> None:
    deployment = uuid.uuid4()
    assert (await client.post(f"/internal/deployments/{deployment}/agent-wallets/GMX")).status_code == 200
    assert (await client.post(f"/internal/deployments/{deployment}/agent-wallets/GMX", params={"replace": "true"})).status_code == 200
    assert [c["replace"] for _, c in store.calls] == [False, True]
    store.fail = CredentialConflict(f"deployment {deployment} already has a GMX agent key; pass replace to change it")
    r = await client.post(f"/internal/deployments/{deployment}/agent-wallets/GMX")
    assert r.status_code == 409 and "pass replace" in r.json()["error"]


def test_an_imported_key_body_shows_no_key_material() -> None:
    body = ImportedKey(**{**BODY, "key_encrypted": "c2VjcmV0LWVudmVsb3Bl"})
    assert "c2VjcmV0LWVudmVsb3Bl" not in repr(body) + str(body) + repr(body.sealed())
