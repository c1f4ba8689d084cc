"""The web app: static files (no build step) served with the headers that keep a session token in its tab.

`/` is the app's one page (hash routes: `#/agents`, `#/create`, ...); `/web/config.json` tells it where control's
API is (browsers call it directly: control answers CORS for this origin, `WEB_ORIGINS`); `/vendor/uplot/` serves the
charting library `make install` vendored from npm.

The session token lives in the tab's `sessionStorage`, so what guards it is that no script but the app's own runs
here: the Content-Security-Policy allows scripts from this origin only (no inline script, no eval), connections to
this origin and control's only, and no framing; no page sends a referrer.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vprime_query.settings import QuerySettings

WEB_PATHS = ("/", "/static/", "/vendor/", "/web/")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class WebHeaders:
    """Security headers on the web app's own responses (not on the API's)."""

    def __init__(self, app: ASGIApp, control_origin: str) -> None:
        self.app = app
        csp = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               f"connect-src 'self' {control_origin}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
               "object-src 'none'")
        self.headers = [(b"content-security-policy", csp.encode()), (b"referrer-policy", b"no-referrer"),
                        (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/" or path.startswith(WEB_PATHS[1:])):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.headers
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI, settings: QuerySettings, static: Path) -> None:
    control_url = (settings.web_control_url or settings.control_url).rstrip("/")
    app.add_middleware(WebHeaders, control_origin=origin_of(control_url))
    uplot = Path(settings.web_vendor_dir) / "uplot" / "dist"
    if uplot.is_dir():  # without it the charts say so; everything else works
        app.mount("/vendor/uplot", StaticFiles(directory=uplot), name="vendor-uplot")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(static / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/web/config.json", include_in_schema=False)
    async def config() -> JSONResponse:
        return JSONResponse({"control_url": control_url, "read_access": settings.read_access,
                             "charts": uplot.is_dir()}, headers={"Cache-Control": "no-cache"})
