"""Who reads per-deployment data (`READ_ACCESS=token`), and what each reader sees.

Query issues and stores no tokens: control does. A bearer token is shown to control's
`GET /api/v3/auth/me` and its answer kept for `TOKEN_CACHE_S`, so a token revoked at control still
reads here for at most that long. Aggregates and agent cards stay public; a signal's timeline, the
routing history, the signal list and the live stream show a wallet the deployments it trades for and
everything of the agents it created.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer


@dataclass(frozen=True)
class Reader:
    wallet: str | None  # lower-case; None for an operator
    operator: bool = False


@dataclass(frozen=True)
class ReadAccess:
    """`restricted`: READ_ACCESS=token. `reader` is None only when reads are public."""

    restricted: bool
    reader: Reader | None = None

    @property
    def wallet_filter(self) -> str | None:
        """The wallet whose data a restricted, non-operator read is limited to; None: no limit."""
        if not self.restricted or self.reader is None or self.reader.operator:
            return None
        return self.reader.wallet


class TokenCheck:
    """Asks control who a bearer token is, and remembers it for `ttl_s` (at most `entries` tokens, by digest)."""

    def __init__(self, control_url: str, *, ttl_s: float = 30.0, entries: int = 10_000, timeout_s: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.control_url, self.ttl_s, self.entries = control_url.rstrip("/"), ttl_s, entries
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)
        self._known: OrderedDict[bytes, tuple[float, Reader | None]] = OrderedDict()

    async def reader(self, token: str) -> Reader:
        digest = hashlib.sha256(token.encode()).digest()
        found = self._known.get(digest)
        if found is None or found[0] < time.monotonic():
            found = (time.monotonic() + self.ttl_s, await self._ask(token))
            self._known[digest] = found
            while len(self._known) > self.entries:
                self._known.popitem(last=False)
        if found[1] is None:
            raise HTTPException(401, "unknown, expired or revoked token; sign in again at control's /api/v3/auth/nonce",
                                headers={"WWW-Authenticate": "Bearer"})
        return found[1]

    async def _ask(self, token: str) -> Reader | None:
        try:
            r = await self._http.get(f"{self.control_url}/api/v3/auth/me", headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise HTTPException(503, f"cannot check the token: control is unreachable ({type(exc).__name__})") from exc
        if r.status_code == 401:
            return None
        if r.status_code != 200:
            raise HTTPException(503, f"cannot check the token: control answered {r.status_code}")
        me = r.json()
        return Reader(wallet=me["wallet"], operator=bool(me["operator"]))

    async def aclose(self) -> None:
        await self._http.aclose()


bearer = HTTPBearer(auto_error=False, description="READ_ACCESS=token: a control token (session, API or operator)")


async def read_access(request: Request,
                      credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> ReadAccess:
    check: TokenCheck | None = getattr(request.app.state, "token_check", None)  # None: READ_ACCESS=public
    if check is None:
        return ReadAccess(restricted=False)
    if credentials is None or not credentials.credentials:
        raise HTTPException(401, "this read needs `Authorization: Bearer <token>` (READ_ACCESS=token)",
                            headers={"WWW-Authenticate": "Bearer"})
    return ReadAccess(restricted=True, reader=await check.reader(credentials.credentials))


Access = Annotated[ReadAccess, Depends(read_access)]
