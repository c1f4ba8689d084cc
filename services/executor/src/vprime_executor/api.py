"""The executor's internal HTTP API: key import nonces and venue agent keys in, addresses out. Key material never leaves."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from vprime_shared.addresses import ADDRESS
from vprime_shared.contracts import Venue
from vprime_shared.internal import require_internal_token

from vprime_executor.adapters.credentials import CredentialConflict, CredentialError, CredentialsDisabled, CredentialStore, SealedKey

WALLET = ADDRESS.pattern


class KeyImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    wallet: str = Field(pattern=WALLET)


class ImportedKey(BaseModel):
    """An agent key sealed for (wallet, venue, nonce) in the `vprime-x25519-aes256gcm-v1` envelope."""

    model_config = ConfigDict(extra="forbid")

    address: str | None = Field(default=None, pattern=WALLET)
    key_encrypted: str = Field(min_length=1, max_length=256)
    key_iv: str = Field(min_length=1, max_length=64)
    key_tag: str = Field(min_length=1, max_length=64)
    wallet: str = Field(pattern=WALLET)
    nonce: str = Field(min_length=1, max_length=64)
    replace: bool = False
    account: str | None = Field(default=None, pattern=WALLET, description="the venue account the key trades for")

    def __repr__(self) -> str:
        return f"ImportedKey(address={self.address!r}, wallet={self.wallet!r}, key=<sealed>)"

    __str__ = __repr__

    def sealed(self) -> SealedKey:
        return SealedKey(self.key_encrypted, self.key_iv, self.key_tag)


def internal_api(store: CredentialStore, token: str) -> APIRouter:
    api = APIRouter(prefix="/internal", tags=["internal"], dependencies=[Depends(require_internal_token(token))])

    def pool(request: Request):  # type: ignore[no-untyped-def]
        return request.app.state.runtime.pool

    @api.post("/key-imports", status_code=201, summary="Issue a key import nonce for a wallet, with the public key to seal to")
    async def key_import(body: KeyImportRequest, request: Request) -> dict[str, Any]:
        try:
            async with pool(request).acquire() as conn:
                issued = await store.issue_key_import(conn, body.wallet)
        except CredentialsDisabled as exc:
            raise HTTPException(503, str(exc)) from exc
        return issued.as_dict()

    @api.put("/deployments/{deployment_id}/credentials/{venue}", summary="Store an agent key sealed for a wallet, venue and nonce")
    async def import_key(deployment_id: uuid.UUID, venue: Venue, body: ImportedKey, request: Request) -> dict[str, Any]:
        try:
            async with pool(request).acquire() as conn:
                address = await store.import_key(conn, deployment_id, venue, body.sealed(), wallet=body.wallet, nonce=body.nonce,
                                                 address=body.address, replace=body.replace, account=body.account)
        except CredentialError as exc:
            raise HTTPException(422, str(exc)) from None
        except CredentialConflict as exc:
            raise HTTPException(409, str(exc)) from None
        except CredentialsDisabled as exc:
            raise HTTPException(503, str(exc)) from None
        return {"deployment_id": str(deployment_id), "venue": venue.value, "address": address, "source": "imported"}

    @api.post("/deployments/{deployment_id}/agent-wallets/{venue}", summary="Generate an agent wallet; only its address leaves")
    async def generate(deployment_id: uuid.UUID, venue: Venue, request: Request,
                       replace: bool = Query(False, description="replace the venue's key if the deployment has one"),
                       account: str | None = Query(None, pattern=WALLET, description="the venue account it trades for"),
                       ) -> dict[str, Any]:
        try:
            async with pool(request).acquire() as conn:
                address = await store.generate(conn, deployment_id, venue, replace=replace, account=account)
        except CredentialConflict as exc:
            raise HTTPException(409, str(exc)) from None
        except CredentialsDisabled as exc:
            raise HTTPException(503, str(exc)) from None
        return {"deployment_id": str(deployment_id), "venue": venue.value, "address": address, "source": "generated"}

    @api.delete("/deployments/{deployment_id}/credentials",
                summary="Forget the keys of a deployment that was never created (control's deploy failed after handing them over)")
    async def abandon(deployment_id: uuid.UUID, request: Request) -> dict[str, Any]:
        try:
            async with pool(request).acquire() as conn:
                forgotten = await store.abandon(conn, deployment_id)
        except CredentialConflict as exc:
            raise HTTPException(409, str(exc)) from None
        return {"deployment_id": str(deployment_id), "forgotten": forgotten}

    @api.get("/deployments/{deployment_id}/agent-wallets", summary="Which venues have an agent key (addresses only)")
    async def wallets(deployment_id: uuid.UUID, request: Request) -> dict[str, Any]:
        rows = await pool(request).fetch("SELECT venue, address, source FROM credentials WHERE deployment_id = $1", deployment_id)
        return {"wallets": [dict(r) for r in rows]}

    return api
