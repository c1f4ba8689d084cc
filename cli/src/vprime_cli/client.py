"""The control and query APIs, as the CLI uses them."""

from __future__ import annotations

from typing import Any

import httpx

from vprime_shared.sign_in import bearer


class ApiError(Exception):
    pass


class Api:
    def __init__(self, control_url: str, query_url: str, transport: httpx.BaseTransport | None = None,
                 token: str | None = None) -> None:
        headers = bearer(token) if token else {}
        self.control = httpx.Client(base_url=control_url.rstrip("/"), timeout=15, transport=transport, headers=headers)
        self.query = httpx.Client(base_url=query_url.rstrip("/"), timeout=15, transport=transport)

    @staticmethod
    def _answer(r: httpx.Response) -> dict[str, Any]:
        try:
            body = r.json()
        except ValueError as exc:
            raise ApiError(f"{r.request.method} {r.request.url} answered {r.status_code} without JSON") from exc
        if r.status_code >= 400:
            raise ApiError(f"{r.status_code}: {body.get('error') or body}")
        return body

    def call(self, side: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        client = self.control if side == "control" else self.query
        try:
            return self._answer(client.request(method, path, **kwargs))
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {client.base_url}{path}: {type(exc).__name__} (is Vprime up? `make up`)") from exc
