"""Hands venue agent keys to the executor (the only service that keeps them) over its internal API."""

from __future__ import annotations

import uuid
from typing import Protocol

import httpx

from vprime_shared.contracts import Venue


class KeyHandoffFailed(RuntimeError):
    """The executor could not take a key. `client_error`: the key itself is wrong (a 4xx from the executor)."""

    def __init__(self, message: str, *, client_error: bool) -> None:
        super().__init__(message)
        self.client_error = client_error


class AgentKeys(Protocol):
    async def import_key(self, deployment_id: uuid.UUID, venue: Venue, address: str | None, encrypted: str, iv: str, tag: str) -> str: ...

    async def generate(self, deployment_id: uuid.UUID, venue: Venue) -> str: ...


class ExecutorKeys:
    def __init__(self, base_url: str, token: str, timeout_s: float = 5.0) -> None:
        self.base_url, self.token, self.timeout_s = base_url.rstrip("/"), token, timeout_s

    async def _call(self, method: str, path: str, json: dict | None = None) -> dict:
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as http:
                r = await http.request(method, f"{self.base_url}{path}", json=json, headers={"Authorization": f"Bearer {self.token}"})
        except httpx.HTTPError as exc:
            raise KeyHandoffFailed(f"the executor is unreachable ({type(exc).__name__}); nothing was changed", client_error=False) from exc
        if r.status_code >= 400:
            detail = r.json().get("error") or r.json().get("detail") if r.headers.get("content-type", "").startswith("application/json") else r.text
            raise KeyHandoffFailed(f"the executor refused the agent key: {detail}", client_error=r.status_code < 500 and r.status_code != 401)
        return r.json()

    async def import_key(self, deployment_id: uuid.UUID, venue: Venue, address: str | None, encrypted: str, iv: str, tag: str) -> str:
        body = {"address": address, "key_encrypted": encrypted, "key_iv": iv, "key_tag": tag}
        return (await self._call("PUT", f"/internal/deployments/{deployment_id}/credentials/{venue.value}", body))["address"]

    async def generate(self, deployment_id: uuid.UUID, venue: Venue) -> str:
        return (await self._call("POST", f"/internal/deployments/{deployment_id}/agent-wallets/{venue.value}"))["address"]
