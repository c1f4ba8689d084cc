"""Service-to-service HTTP for what must never travel on Kafka (venue agent keys): a shared bearer
token (`INTERNAL_API_TOKEN`) guards the `/internal` routes."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Header, HTTPException


def require_internal_token(token: str) -> Callable[..., None]:
    def check(authorization: str = Header(default="")) -> None:
        if not token:
            raise HTTPException(503, "internal API disabled: INTERNAL_API_TOKEN is not set")
        given = authorization.removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "missing or wrong internal API token")

    return check
