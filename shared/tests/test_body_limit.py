"""Request bodies over the limit are answered 413 in the error envelope before the app reads them: at once when
Content-Length says so, else as soon as the bytes received pass the limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from vprime_shared.runtime import ServiceRuntime
from vprime_shared.settings import ServiceSettings

LIMIT = 1024


class Note(BaseModel):
    text: str


@pytest.fixture
def app_and_calls():
    calls: list[str] = []
    router = APIRouter()

    @router.post("/notes")
    async def note(body: Note) -> dict[str, int]:
        calls.append(body.text)
        return {"length": len(body.text)}

    @router.post("/bulk/notes")
    async def bulk(body: Note) -> dict[str, int]:
        calls.append(body.text)
        return {"length": len(body.text)}

    runtime = ServiceRuntime(ServiceSettings(service_name="bodylimit", http_max_body_bytes=LIMIT), package="vprime_shared")
    return runtime.http_app(router, body_limits={"/bulk/": 4 * LIMIT}), calls


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def note_of(size: int) -> bytes:
    """A JSON body of exactly `size` bytes."""
    body = b'{"text": "' + b"x" * (size - 12) + b'"}'
    assert len(body) == size
    return body


def assert_too_large(response: httpx.Response, limit: int = LIMIT) -> None:
    assert response.status_code == 413, response.text
    assert response.json() == {
        "success": False,
        "error": f"request body is larger than {limit:,} bytes",
        "details": [{"field": "body", "message": f"at most {limit:,} bytes", "limit_bytes": limit}],
    }


async def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body(app_and_calls):
    app, calls = app_and_calls
    sent: list[dict] = []

    async def receive():  # pragma: no cover - the point is that it is never called
        raise AssertionError("the body was read")

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/notes", "raw_path": b"/notes", "root_path": "", "query_string": b"", "server": ("test", 80),
             "client": ("127.0.0.1", 5000), "headers": [(b"content-type", b"application/json"), (b"content-length", b"30000000")]}
    await app(scope, receive, send)

    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert_too_large(httpx.Response(413, content=b"".join(m.get("body", b"") for m in sent[1:])))
    assert calls == []


async def test_one_byte_over_the_declared_limit_is_refused_and_the_limit_itself_is_accepted(app_and_calls):
    app, calls = app_and_calls
    async with client(app) as http:
        assert_too_large(await http.post("/notes", content=note_of(LIMIT + 1), headers={"content-type": "application/json"}))
        accepted = await http.post("/notes", content=note_of(LIMIT), headers={"content-type": "application/json"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"length": LIMIT - 12}
    assert calls == ["x" * (LIMIT - 12)]


async def test_a_chunked_body_is_cut_off_once_it_passes_the_limit_and_the_handler_never_runs(app_and_calls):
    app, calls = app_and_calls
    chunk, pulled = 256, 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        yield b'{"text": "'
        while pulled < 10_000:  # 2.5 MB if nothing stopped reading
            pulled += 1
            yield b"x" * chunk

    async with client(app) as http:
        response = await http.post("/notes", content=endless(), headers={"content-type": "application/json"})

    assert "content-length" not in response.request.headers
    assert_too_large(response)
    assert calls == []
    assert pulled <= LIMIT // chunk + 1, "nothing is read past the chunk that passed the limit"


async def test_a_small_chunked_body_reaches_the_handler(app_and_calls):
    app, calls = app_and_calls

    async def parts() -> AsyncIterator[bytes]:
        yield b'{"text": '
        yield b'"hello"}'

    async with client(app) as http:
        response = await http.post("/notes", content=parts(), headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert calls == ["hello"]


async def test_a_path_prefix_may_have_a_larger_limit(app_and_calls):
    app, calls = app_and_calls
    async with client(app) as http:
        larger = await http.post("/bulk/notes", content=note_of(2 * LIMIT), headers={"content-type": "application/json"})
        assert_too_large(await http.post("/notes", content=note_of(2 * LIMIT), headers={"content-type": "application/json"}))
        assert_too_large(await http.post("/bulk/notes", content=note_of(4 * LIMIT + 1),
                                         headers={"content-type": "application/json"}), limit=4 * LIMIT)
    assert larger.status_code == 200, larger.text
    assert len(calls) == 1


async def test_requests_without_a_body_are_untouched(app_and_calls):
    app, _ = app_and_calls
    async with client(app) as http:
        live = await http.get("/health/live")
    assert live.status_code == 200
    assert live.json() == {"service": "bodylimit", "status": "alive"}


def test_the_default_limit_is_64_kib():
    assert ServiceSettings.model_fields["http_max_body_bytes"].default == 65_536
