"""How browsers reach the control API: the web app (served by query, on its own origin) calls it across origins.

Only the configured web origins (`WEB_ORIGINS`) get CORS answers, and a write carrying an `Origin` header from any
other site is refused (403) before it is read: a page elsewhere can neither read control's answers nor make a
signed-in browser act. Tokens travel in the `Authorization` header only, never in cookies, so no credentials mode
is allowed and nothing is sent by the browser on its own. Requests without `Origin` (the CLI, scripts) are not
browsers' and pass.
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class OriginCheck:
    """Refuses (403) a write whose `Origin` is neither an allowed web origin nor control's own."""

    def __init__(self, app: ASGIApp, origins: frozenset[str]) -> None:
        self.app, self.origins = app, origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = dict(scope["headers"])
            origin = headers.get(b"origin", b"").decode("latin-1")
            own = f"{scope.get('scheme', 'http')}://{headers.get(b'host', b'').decode('latin-1')}"
            if origin and origin != own and origin not in self.origins:
                body = json.dumps({"success": False, "error": f"writes from origin {origin[:200]!r} are not accepted: "
                                                              "it is not one of this API's web origins (WEB_ORIGINS)"}).encode()
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def install_web_access(app: FastAPI, origins: list[str]) -> None:
    """CORS for `origins` (bearer tokens, no cookies), outside the origin check."""
    app.add_middleware(OriginCheck, origins=frozenset(origins))
    app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=False,
                       allow_methods=["GET", "POST", "PUT", "DELETE"], allow_headers=["Authorization", "Content-Type"],
                       expose_headers=["Retry-After"], max_age=600)
