"""Hands venue agent keys to the executor (the only service that keeps them) over its internal API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

import httpx

from vprime_shared.contracts import Venue


class KeyHandoffFailed(RuntimeError):
    """The executor could not take a key. `client_error`: the key itself is wrong (a 4xx from the executor: 422 for a
    key that does not open or match, 409 for one held elsewhere or already set), kept as `status`."""

    def __init__(self, message: str, *, client_error: bool, status: int = 503) -> None:
        super().__init__(message)
        self.client_error, self.status = client_error, status


@dataclass(frozen=True)
class SealedKey:
    """A venue agent key sealed to the executor's import key (docs/key-import.md); only the executor opens it."""

    address: str | None
    encrypted: str
    iv: str
    tag: str

    def __repr__(self) -> str:
        return f"SealedKey(address={self.address!r}, key=<sealed>)"


class AgentKeys(Protocol):
    async def key_import(self, wallet: str) -> dict: ...

    async def import_key(self, deployment_id: uuid.UUID, venue: Venue, sealed: SealedKey, *, wallet: str, nonce: str,
                         account: str) -> str: ...

    async def generate(self, deployment_id: uuid.UUID, venue: Venue, *, account: str, replace: bool = False) -> str: ...

    async def abandon(self, deployment_id: uuid.UUID) -> None: ...


class ExecutorKeys:
    def __init__(self, base_url: str, token: str, timeout_s: float = 5.0) -> None:
        self.base_url, self.token, self.timeout_s = base_url.rstrip("/"), token, timeout_s

    async def _call(self, method: str, path: str, json: dict | None = None, params: dict | None = None) -> dict:
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as http:
                r = await http.request(method, f"{self.base_url}{path}", json=json, params=params,
                                       headers={"Authorization": f"Bearer {self.token}"})
        except httpx.HTTPError as exc:
            raise KeyHandoffFailed(f"the executor is unreachable ({type(exc).__name__}); nothing was changed", client_error=False) from exc
        if r.status_code >= 400:
            detail = r.json().get("error") or r.json().get("detail") if r.headers.get("content-type", "").startswith("application/json") else r.text
            client_error = r.status_code < 500 and r.status_code != 401
            raise KeyHandoffFailed(f"the executor refused the agent key: {detail}", client_error=client_error,
                                   status=r.status_code if client_error else 503)
        return r.json()

    async def key_import(self, wallet: str) -> dict:
        return await self._call("POST", "/internal/key-imports", {"wallet": wallet})

    async def import_key(self, deployment_id: uuid.UUID, venue: Venue, sealed: SealedKey, *, wallet: str, nonce: str,
                         account: str) -> str:
        body = {"address": sealed.address, "key_encrypted": sealed.encrypted, "key_iv": sealed.iv, "key_tag": sealed.tag,
                "wallet": wallet, "nonce": nonce, "account": account}
        return (await self._call("PUT", f"/internal/deployments/{deployment_id}/credentials/{venue.value}", body))["address"]

    async def generate(self, deployment_id: uuid.UUID, venue: Venue, *, account: str, replace: bool = False) -> str:
        path = f"/internal/deployments/{deployment_id}/agent-wallets/{venue.value}"
        params = {"replace": "true" if replace else "false", "account": account}
        return (await self._call("POST", path, params=params))["address"]

    async def abandon(self, deployment_id: uuid.UUID) -> None:
        await self._call("DELETE", f"/internal/deployments/{deployment_id}/credentials")
