"""Sign-in and bearer tokens for the control API, and the dependencies that guard its routes.

    POST /api/v3/auth/nonce   {wallet}               -> the EIP-4361 message to sign
    POST /api/v3/auth/verify  {message, signature}   -> a session token (Bearer)
    POST /api/v3/auth/tokens  {label, ttl_days}      -> an API token for scripts (shown once; sessions only)
    DELETE /api/v3/auth/tokens                       -> revoke every token of the wallet
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, field_validator

from vprime_shared.contracts import AgentState, DeploymentState

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
            holder = await AuthStore(tx.conn).holder(auth.token_digest(token))
        if holder is None:
            raise auth.Unauthenticated("unknown, expired or revoked token; sign in again at /api/v3/auth/nonce")
        return auth.Principal(wallet=holder["wallet"], session=holder["kind"] == "session")

    def sign_in_config(self) -> handlers.SignInConfig:
        s = self.settings
        return handlers.SignInConfig(domain=s.sign_in_domain, uri=s.sign_in_uri, chain_id=s.sign_in_chain_id,
                                     ttl=timedelta(seconds=s.nonce_ttl_s))


class RateLimited(Exception):
    """A client asked too often (429); `retry_after_s` says when it may ask again."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ClientRateLimit:
    """A token bucket per client address: `per_minute` requests at once, then one every 60/`per_minute` s.

    Per process (each control instance counts its own). The buckets kept are bounded: the least recently
    seen client is forgotten first, which can only let it ask again sooner.
    """

    def __init__(self, per_minute: int, *, clients: int = 65_536, clock=time.monotonic) -> None:  # noqa: ANN001
        self.capacity, self.refill_per_s = float(per_minute), per_minute / 60.0
        self.clients, self.clock = clients, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str, what: str) -> None:
        now = self.clock()
        tokens, seen = self._buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - seen) * self.refill_per_s)
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            wait = (1 - tokens) / self.refill_per_s
            raise RateLimited(f"too many {what} from {client}: at most {self.capacity:.0f} a minute; "
                              f"try again in {wait:.0f} s", retry_after_s=max(1, round(wait)))
        self._buckets[client] = (tokens - 1, now)
        while len(self._buckets) > self.clients:
            self._buckets.popitem(last=False)


def _authenticator(request: Request) -> Authenticator:
    return request.app.state.authenticator


async def writer(request: Request, credentials: Credentials) -> auth.Principal:
    """Every write needs a caller."""
    return await _authenticator(request).principal(credentials)


@dataclass(frozen=True)
class ReadAccess:
    """Who reads, and whether reads are restricted (`READ_ACCESS=token`). Restricted, a wallet reads its own agents'
    and deployments' details; agent cards (name, creator, venue, status) stay public."""

    principal: auth.Principal | None
    restricted: bool

    def sees_details_of(self, agent: AgentState) -> bool:
        return not self.restricted or (self.principal is not None and self.principal.owns(agent.creator_wallet))

    def require(self) -> auth.Principal | None:
        if self.restricted and self.principal is None:
            raise auth.Unauthenticated("this read needs `Authorization: Bearer <token>` (READ_ACCESS=token)")
        return self.principal

    def may_read_deployment(self, agent: AgentState, deployment: DeploymentState) -> None:
        if (principal := self.require()) is not None and self.restricted:
            principal.may_read_deployment(agent, deployment)

    def may_read_agent(self, agent: AgentState) -> None:
        if (principal := self.require()) is not None and self.restricted:
            principal.require_owner(agent.creator_wallet, f"agent {agent.agent_id}'s details")


async def reader(request: Request, credentials: Credentials) -> ReadAccess:
    """Reads are public unless `READ_ACCESS=token`; then a token, if given, must be valid."""
    authenticator = _authenticator(request)
    if authenticator.settings.read_access == "public":
        return ReadAccess(None, restricted=False)
    given = credentials is not None and bool(credentials.credentials)
    return ReadAccess(await authenticator.principal(credentials) if given else None, restricted=True)


Writer = Annotated[auth.Principal, Depends(writer)]
Reader = Annotated[ReadAccess, Depends(reader)]

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
    ttl_days: int | None = Field(default=None, ge=1, description="days until it expires; API_TOKEN_DEFAULT_DAYS (90) when left out")


@router.post("/nonce", status_code=201, summary="Start a wallet sign-in: the EIP-4361 message to sign")
async def nonce(body: NonceRequest, request: Request) -> dict[str, Any]:
    request.app.state.nonce_limit.take(request.client.host if request.client else "unknown", "sign-in requests")
    issued = await handlers.issue_sign_in(request.app.state.runtime.uow, body.wallet, _authenticator(request).sign_in_config())
    return {"success": True, **issued, "sign_with": "personal_sign (EIP-191) over `message`, then POST /api/v3/auth/verify"}


@router.post("/verify", summary="Finish a wallet sign-in: a session token for the signing wallet")
async def verify(body: VerifyRequest, request: Request) -> dict[str, Any]:
    authenticator = _authenticator(request)
    ttl = timedelta(seconds=authenticator.settings.session_ttl_s)
    session = await handlers.sign_in(request.app.state.runtime.uow, body.message, body.signature, ttl,
                                     authenticator.sign_in_config())
    return {"success": True, "token_type": "Bearer", **session}


@router.get("/me", summary="Who the bearer token is")
async def me(actor: Writer) -> dict[str, Any]:
    return {"success": True, "wallet": actor.wallet, "operator": actor.operator}


@router.post("/tokens", status_code=201, summary="Mint an API token for the signed-in wallet (shown once; needs a session token)")
async def mint(body: TokenRequest, request: Request, actor: Writer) -> dict[str, Any]:
    wallet = _wallet_of(actor)
    if not actor.session:
        # A leaked script token must not be able to make itself permanent by minting more.
        raise auth.Forbidden("API tokens are minted with a session token from a wallet sign-in, not with another API token")
    settings = _authenticator(request).settings
    days = body.ttl_days or settings.api_token_default_days
    if days > settings.api_token_max_days:
        raise HTTPException(422, f"ttl_days {days} is longer than the {settings.api_token_max_days} days a token may live")
    token, row = await handlers.issue_token(request.app.state.runtime.uow, wallet, "api", body.label,
                                            utcnow() + timedelta(days=days))
    return {"success": True, "token": token, "token_type": "Bearer", **_token_view(row)}


@router.delete("/tokens", summary="Revoke every token of the signed-in wallet, sessions included")
async def revoke_all(request: Request, actor: Writer) -> dict[str, Any]:
    async with request.app.state.runtime.uow.begin() as tx:
        revoked = await AuthStore(tx.conn).revoke_all(_wallet_of(actor))
    return {"success": True, "revoked": revoked}


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
