"""Browsers reach control from the web app's origin only: CORS answers name it, a write from any other origin is
refused before it is handled, and scripts (no Origin) are not browsers."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from vprime_control.settings import ControlSettings
from vprime_control.web_access import install_web_access

WEB = "http://127.0.0.1:8001"


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    handled: list[str] = []

    @app.post("/api/v3/agents/create")
    async def create() -> dict[str, object]:
        handled.append("create")
        return {"success": True}

    @app.get("/api/v3/agents/list")
    async def listing() -> dict[str, object]:
        return {"success": True}

    install_web_access(app, [WEB])
    c = TestClient(app)
    c.handled = handled  # type: ignore[attr-defined]
    return c


def test_the_web_app_is_answered_with_cors_and_its_preflight_allows_the_bearer_header(client: TestClient) -> None:
    pre = client.options("/api/v3/agents/create", headers={"Origin": WEB, "Access-Control-Request-Method": "POST",
                                                           "Access-Control-Request-Headers": "authorization,content-type"})
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == WEB
    assert "authorization" in pre.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in pre.headers  # tokens are headers, never cookies
    r = client.post("/api/v3/agents/create", headers={"Origin": WEB})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == WEB


def test_another_sites_write_is_refused_before_it_is_handled_and_its_reads_get_no_cors(client: TestClient) -> None:
    r = client.post("/api/v3/agents/create", headers={"Origin": "https://evil.example", "Content-Type": "text/plain"})
    assert r.status_code == 403 and "evil.example" in r.json()["error"] and client.handled == []  # type: ignore[attr-defined]
    pre = client.options("/api/v3/agents/create", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in pre.headers
    read = client.get("/api/v3/agents/list", headers={"Origin": "https://evil.example"})
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers  # the browser hides the answer


def test_scripts_and_control_own_pages_are_not_cross_origin(client: TestClient) -> None:
    assert client.post("/api/v3/agents/create").status_code == 200
    assert client.post("/api/v3/agents/create", headers={"Origin": "http://testserver"}).status_code == 200


def test_web_origins_default_to_query_on_loopback_and_must_be_origins() -> None:
    assert ControlSettings().web_origin_list() == ["http://127.0.0.1:8001", "http://localhost:8001"]
    beyond = ControlSettings(http_host="0.0.0.0", sign_in_domain="app.vprime.example")
    assert beyond.web_origin_list() == []
    assert ControlSettings(web_origins="https://app.vprime.example/ ,").web_origin_list() == ["https://app.vprime.example"]
    with pytest.raises(ValidationError, match="not an origin"):
        ControlSettings(web_origins="https://app.vprime.example/login")
