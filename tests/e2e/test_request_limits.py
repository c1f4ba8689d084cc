"""Anonymous clients cannot make a service parse large bodies or hold unbounded live streams: a body over 64 KiB is
answered 413 before authentication or validation (declared or chunked), the service stays live, and a client's
decision streams past its cap are answered 429."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from vprime_local.stack import ServiceStack

from tests.conftest import eventually

pytestmark = pytest.mark.integration

MB = 1024 * 1024
LIMIT_ERROR = "request body is larger than 65,536 bytes"
STREAMS_PER_CLIENT = 4  # STREAM_MAX_PER_CLIENT's default; the stack does not set it


def megabyte_body() -> bytes:
    return b'{"wallet": "0x' + b"a" * (MB - 16) + b'"}'


async def chunked_megabyte() -> AsyncIterator[bytes]:
    body = megabyte_body()
    for start in range(0, len(body), 16 * 1024):
        yield body[start:start + 16 * 1024]


def assert_too_large(r: httpx.Response) -> None:
    assert r.status_code == 413, f"{r.request.url}: {r.status_code} {r.text[:200]}"
    assert r.json()["success"] is False and r.json()["error"] == LIMIT_ERROR
    assert r.json()["details"][0]["limit_bytes"] == 65_536


async def test_large_bodies_are_refused_unread_and_streams_are_capped_per_client(
        control_url: str, query_url: str, stack: ServiceStack) -> None:
    json_type = {"content-type": "application/json"}
    async with httpx.AsyncClient(timeout=15) as anon:
        for path in ("/api/v3/auth/nonce", "/api/v3/agents/create"):  # 413, not the 401 or 422 of a parsed body
            assert_too_large(await anon.post(f"{control_url}{path}", content=megabyte_body(), headers=json_type))
            assert_too_large(await anon.post(f"{control_url}{path}", content=chunked_megabyte(), headers=json_type))
        assert_too_large(await anon.post(f"{stack.url('simulator')}/hyperliquid/info", content=megabyte_body(),
                                         headers=json_type))

        live = await anon.get(f"{control_url}/health/live")
        assert live.status_code == 200 and live.json()["status"] == "alive"
        small = await anon.post(f"{control_url}/api/v3/auth/nonce", json={"wallet": "not-a-wallet"})
        assert small.status_code == 422, "a body under the limit is still parsed and validated"

        stream_url = f"{query_url}/api/v3/stream/decisions"
        async with contextlib.AsyncExitStack() as open_streams:
            for _ in range(STREAMS_PER_CLIENT):
                r = await open_streams.enter_async_context(anon.stream("GET", stream_url))
                assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            async with anon.stream("GET", stream_url) as refused:  # a stream: an uncapped one would never end
                assert refused.status_code == 429
                await refused.aread()
            assert refused.json() == {"success": False, "error": f"127.0.0.1 has {STREAMS_PER_CLIENT} decision "
                                      "streams open, the most one client may have"}

        async def reopens() -> bool:  # the closed streams' places are given back
            async with anon.stream("GET", stream_url) as r:
                return r.status_code == 200

        await eventually(reopens, timeout=10, what="a decision stream to open again once the others closed")
