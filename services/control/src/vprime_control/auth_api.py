"""Sign-in and bearer tokens for the control API, and the dependencies that guard its routes.

    POST /api/v3/auth/nonce   {wallet}               -> the EIP-4361 message to sign
    POST /api/v3/auth/verify  {message, signature}   -> a session token (Bearer)
    POST /api/v3/auth/tokens  {label, ttl_days}      -> a long-lived API token for scripts (shown once)
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, field_validator

from vprime_shared.contracts.base import utcnow
from vprime_shared.runtime import ServiceRuntime

from vprime_control import auth, handlers
from vprime_control.adapters.auth_store import AuthStore
from vprime_control.schemas import Body
from vprime_control.settings import ControlSettings

bearer = HTTPBearer(
    auto_error=False,
    description="a session token from /api/v3/auth/verify, an API token from /api/v3/auth/tokens, or an operator token",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


class Authenticator:
    """Turns a bearer token into a `Principal`: operator tokens from configuration, wallet tokens from the store."""

    def __init__(self, runtime: ServiceRuntime, settings: ControlSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        self.operator_tokens = settings.operator_token_list()

    async def principal(self, credentials: HTTPAuthorizationCredentials | None) -> auth.Principal:
        if credentials is None or not credentials.credentials:
            raise auth.Unauthenticated("this endpoint needs `Authorization: Bearer <token>`; sign in at /api/v3/auth/nonce")
        token = credentials.credentials
        if auth.is_operator_token(token, self.operator_tokens):
            return auth.Principal(wallet=None, operator=True)
        async with self.runtime.uow.begin() as tx:
            wallet = await AuthStore(tx.conn).wallet_for(auth.token_digest(token))
        if wallet is None:
            raise auth.Unauthenticated("unknown, expired or revoked token; sign in again at /api/v3/auth/nonce")
        return auth.Principal(wallet=wallet)


def _authenticator(request: Request) -> Authenticator:
    return request.app.state.authenticator


async def writer(request: Request, credentials: Credentials) -> auth.Principal:
    """Every write needs a caller."""
    return await _authenticator(request).principal(credentials)


async def reader(request: Request, credentials: Credentials) -> auth.Principal | None:
    """Reads are public unless `READ_ACCESS=token`."""
    authenticator = _authenticator(request)
    if authenticator.settings.read_access == "public":
        return None
    return await authenticator.principal(credentials)


Writer = Annotated[auth.Principal, Depends(writer)]
Reader = Annotated[auth.Principal | None, Depends(reader)]

router = APIRouter(prefix="/api/v3/auth", tags=["auth"])


class NonceRequest(Body):
    wallet: str = Field(examples=["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"], description="the address that will sign")

    @field_validator("wallet")
    @classmethod
    def _address(cls, value: str) -> str:
        return auth.checked_address(value)


class VerifyRequest(Body):
    message: str = Field(min_length=1, max_length=4096, description="the message from /auth/nonce, unchanged")
    signature: str = Field(min_length=1, max_length=200, description="its EIP-191 personal_sign signature, 0x hex")


class TokenRequest(Body):
    label: str = Field(default="", max_length=200)
    ttl_days: int | None = Field(default=None, ge=1, le=3650, description="none: valid until revoked")


@router.post("/nonce", status_code=201, summary="Start a wallet sign-in: the EIP-4361 message to sign")
async def nonce(body: NonceRequest, request: Request) -> dict[str, Any]:
    settings = _authenticator(request).settings
    domain = settings.sign_in_domain or request.headers.get("host") or request.url.netloc
    issued = await handlers.issue_sign_in(
        request.app.state.runtime.uow, body.wallet, domain=domain, uri=f"{request.url.scheme}://{domain}",
        ttl=timedelta(seconds=settings.nonce_ttl_s),
    )
    return {"success": True, **issued, "sign_with": "personal_sign (EIP-191) over `message`, then POST /api/v3/auth/verify"}


@router.post("/verify", summary="Finish a wallet sign-in: a session token for the signing wallet")
async def verify(body: VerifyRequest, request: Request) -> dict[str, Any]:
    ttl = timedelta(seconds=_authenticator(request).settings.session_ttl_s)
    session = await handlers.sign_in(request.app.state.runtime.uow, body.message, body.signature, ttl)
    return {"success": True, "token_type": "Bearer", **session}


@router.get("/me", summary="Who the bearer token is")
async def me(actor: Writer) -> dict[str, Any]:
    return {"success": True, "wallet": actor.wallet, "operator": actor.operator}


@router.post("/tokens", status_code=201, summary="Mint an API token for the signed-in wallet (shown once)")
async def mint(body: TokenRequest, request: Request, actor: Writer) -> dict[str, Any]:
    expires = utcnow() + timedelta(days=body.ttl_days) if body.ttl_days else None
    token, row = await handlers.issue_token(request.app.state.runtime.uow, _wallet_of(actor), "api", body.label, expires)
    return {"success": True, "token": token, "token_type": "Bearer", **_token_view(row)}


@router.get("/tokens", summary="The signed-in wallet's live tokens (never the tokens themselves)")
async def tokens(request: Request, actor: Writer) -> dict[str, Any]:
    async with request.app.state.runtime.uow.begin() as tx:
        rows = await AuthStore(tx.conn).tokens(_wallet_of(actor))
    return {"success": True, "tokens": [_token_view(r) for r in rows]}


@router.delete("/tokens/{token_id}", summary="Revoke one of the signed-in wallet's tokens")
async def revoke(token_id: uuid.UUID, request: Request, actor: Writer) -> dict[str, Any]:
    async with request.app.state.runtime.uow.begin() as tx:
        revoked = await AuthStore(tx.conn).revoke(token_id, _wallet_of(actor))
    if not revoked:
        raise HTTPException(404, f"no live token {token_id} for {actor.name}")
    return {"success": True, "revoked": str(token_id)}


def _wallet_of(actor: auth.Principal) -> str:
    if actor.wallet is None:
        raise auth.Forbidden("operator tokens are configured, not minted; sign in with a wallet to manage its tokens")
    return actor.wallet


def _token_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "token_id": str(row["token_id"]),
        "kind": row["kind"],
        "label": row["label"],
        "created_at": row["created_at"].isoformat(),
        "expires_at": row["expires_at"].isoformat() if row["expires_at"] else None,
    }
