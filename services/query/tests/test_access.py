"""Query asks control who a token is, remembers it briefly, and shows a wallet its own decisions."""

from __future__ import annotations

import httpx
import pytest
from fastapi import HTTPException

from vprime_query.access import ReadAccess, Reader, TokenCheck
from vprime_query.stream import DecisionFeed, Visible

ALICE = "0x" + "a" * 40


def control(answers: dict[str, httpx.Response], asked: list[str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v3/auth/me"
        token = request.headers["authorization"].removeprefix("Bearer ")
        asked.append(token)
        return answers.get(token, httpx.Response(401, json={"success": False, "error": "unknown"}))

    return httpx.MockTransport(handle)


async def test_a_token_is_asked_of_control_once_within_the_cache_time() -> None:
    asked: list[str] = []
    check = TokenCheck("http://control", transport=control({"vps_a": httpx.Response(200, json={
        "success": True, "wallet": ALICE, "operator": False})}, asked))
    assert await check.reader("vps_a") == Reader(ALICE) == await check.reader("vps_a")
    with pytest.raises(HTTPException) as unknown:
        await check.reader("vps_forged")
    with pytest.raises(HTTPException):
        await check.reader("vps_forged")
    assert unknown.value.status_code == 401 and asked == ["vps_a", "vps_forged"]
    await check.aclose()


async def test_a_revoked_token_is_asked_again_once_its_answer_is_old() -> None:
    asked: list[str] = []
    answers = {"vpt_b": httpx.Response(200, json={"success": True, "wallet": ALICE, "operator": False})}
    check = TokenCheck("http://control", ttl_s=0, transport=control(answers, asked))
    await check.reader("vpt_b")
    answers.clear()  # revoked at control
    with pytest.raises(HTTPException, match="revoked"):
        await check.reader("vpt_b")
    await check.aclose()


async def test_control_unreachable_is_a_503_not_a_pass() -> None:
    def down(_: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    check = TokenCheck("http://control", transport=httpx.MockTransport(down))
    with pytest.raises(HTTPException) as failed:
        await check.reader("vps_a")
    assert failed.value.status_code == 503
    await check.aclose()


async def test_the_tokens_kept_are_bounded() -> None:
    ok = httpx.MockTransport(lambda _: httpx.Response(200, json={"success": True, "wallet": ALICE, "operator": False}))
    check = TokenCheck("http://control", entries=10, transport=ok)
    for n in range(50):
        await check.reader(f"vps_{n}")
    assert len(check._known) == 10
    await check.aclose()


def test_only_restricted_wallets_are_filtered() -> None:
    assert ReadAccess(restricted=False).wallet_filter is None
    assert ReadAccess(restricted=True, reader=Reader(None, operator=True)).wallet_filter is None
    assert ReadAccess(restricted=True, reader=Reader(ALICE)).wallet_filter == ALICE


def test_a_filtered_stream_gets_only_its_own_decisions() -> None:
    feed = DecisionFeed()
    everything = feed.open("10.0.0.1", max_per_client=4, max_clients=10)
    own = feed.open("10.0.0.2", max_per_client=4, max_clients=10, only=Visible(frozenset({"agent-1"}), frozenset({"dep-9"})))
    for decision in ({"agent_id": "agent-1", "deployment_id": "dep-1"}, {"agent_id": "agent-2", "deployment_id": "dep-9"},
                     {"agent_id": "agent-3", "deployment_id": "dep-3"}):
        feed.publish(decision)
    assert everything.queue.qsize() == 3 and own.queue.qsize() == 2
