"""The executor's internal HTTP API: venue agent keys in, addresses out. Key material never leaves."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from vprime_shared.contracts import Venue
from vprime_shared.internal import require_internal_token

from vprime_executor.adapters.credentials import CredentialError, CredentialsDisabled, CredentialStore


class ImportedKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str | None = None
    key_encrypted: str = Field(min_length=1)
    key_iv: str = Field(min_length=1)
    key_tag: str = Field(min_length=1)

    def __repr__(self) -> str:
        return f"ImportedKey(address={self.address!r}, key=<sealed>)"


def internal_api(store: CredentialStore, token: str) -> APIRouter:
    api = APIRouter(prefix="/internal", tags=["internal"], dependencies=[Depends(require_internal_token(token))])

    def pool(request: Request):  # type: ignore[no-untyped-def]
        return request.app.state.runtime.pool

    @api.put("/deployments/{deployment_id}/credentials/{venue}", summary="Store an agent key encrypted under the executor's key")
    async def import_key(deployment_id: uuid.UUID, venue: Venue, body: ImportedKey, request: Request) -> dict[str, Any]:
        async with pool(request).acquire() as conn:
            try:
                address = await store.import_key(conn, deployment_id, venue, address=body.address, encrypted=body.key_encrypted,
                                                 iv=body.key_iv, tag=body.key_tag)
            except CredentialError as exc:
                raise HTTPException(422, str(exc)) from exc
            except CredentialsDisabled as exc:
                raise HTTPException(503, str(exc)) from exc
        return {"deployment_id": str(deployment_id), "venue": venue.value, "address": address, "source": "imported"}

    @api.post("/deployments/{deployment_id}/agent-wallets/{venue}", summary="Generate an agent wallet; only its address leaves")
    async def generate(deployment_id: uuid.UUID, venue: Venue, request: Request) -> dict[str, Any]:
        async with pool(request).acquire() as conn:
            try:
                address = await store.generate(conn, deployment_id, venue)
            except CredentialsDisabled as exc:
                raise HTTPException(503, str(exc)) from exc
        return {"deployment_id": str(deployment_id), "venue": venue.value, "address": address, "source": "generated"}

    @api.get("/deployments/{deployment_id}/agent-wallets", summary="Which venues have an agent key (addresses only)")
    async def wallets(deployment_id: uuid.UUID, request: Request) -> dict[str, Any]:
        rows = await pool(request).fetch("SELECT venue, address, source FROM credentials WHERE deployment_id = $1", deployment_id)
        return {"wallets": [dict(r) for r in rows]}

    return api
