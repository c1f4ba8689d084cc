"""Agent What end to end: posts and research from followed sources become signals with evidence."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from vprime_cli.publish import publish_file
from vprime_shared.contracts import Post, Research
from vprime_shared.contracts.base import utcnow
from tests.conftest import Endpoints, eventually
from tests.e2e.helpers import create_agent, deploy, settled_timeline

pytestmark = pytest.mark.integration

BULLISH_ETH = [
    "$ETH breaking out, very bullish, loading up",
    "Ethereum looks incredibly strong here, going much higher",
    "Longing ETH, this chart is beautiful",
    "ETH ripping, new highs soon",
    "eth is so back, send it",
]


async def active_agent(http: httpx.AsyncClient, control: str, db: asyncpg.Pool, *, accounts: list[str], institutes: list[str]) -> str:
    agent = await create_agent(http, control, x_account_ids=accounts, research_institute_ids=institutes,
                               weights={"x": 0.6, "research": 0.4})
    await deploy(http, control, agent["id"], enabled_venues=["HYPERLIQUID"])

    async def known() -> bool:
        return await db.fetchval("SELECT status FROM signal.agents WHERE agent_id = $1", uuid.UUID(agent["id"])) == "ACTIVE"

    await eventually(known, what="the signal service to learn the agent")
    return agent["id"]


def post(account: str, text: str) -> Post:
    return Post(post_id=f"post-{uuid.uuid4()}", account_id=account, author_handle=f"@{account}", text=text, posted_at=utcnow())


async def evidence_count(db: asyncpg.Pool, agent_id: str, source: str | None = None) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM signal.evidence WHERE agent_id = $1 AND ($2::text IS NULL OR source = $2)", uuid.UUID(agent_id), source
    )


async def signals_of(http: httpx.AsyncClient, query: str, agent_id: str) -> list[dict]:
    return (await http.get(f"{query}/api/v3/signals", params={"agent_id": agent_id})).json()["signals"]


async def test_followed_posts_burst_into_one_signal_with_evidence(
    http: httpx.AsyncClient, control_url: str, query_url: str, admin_db: asyncpg.Pool, infra: Endpoints, tmp_path: Path
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    agent_id = await active_agent(http, control_url, admin_db, accounts=[account], institutes=[])
    posts = [post(account, text) for text in BULLISH_ETH]
    feed = tmp_path / "posts.jsonl"
    feed.write_text("\n".join(p.model_dump_json(exclude={"event_id", "occurred_at"}) for p in posts) + "\n")
    report = await publish_file("posts", feed, infra.bootstrap)  # the producer CLI, against real Kafka
    assert report.published == 5 and not report.invalid

    await eventually(lambda: _count_is(admin_db, agent_id, 5), what="five pieces of evidence")

    async def one_signal() -> list[dict] | None:
        found = await signals_of(http, query_url, agent_id)
        return found or None

    [signal] = await eventually(one_signal, what="the scored signal in the query API")
    assert signal["token_symbol"] == "ETH" and signal["side"] == "LONG" and signal["origin"] == "SCORED"
    assert signal["confidence"] >= 0.6 and signal["score"]["agreement"] == 1.0
    assert set(signal["source_tweets"]) <= {p.post_id for p in posts} and len(signal["source_tweets"]) >= 2
    assert 5 <= signal["size_model"]["value"] <= 25 and signal["risk_model"]["type"] == "trailing-stop"
    timeline = await settled_timeline(http, query_url, signal["id"])
    assert timeline["signal"]["status"] == "EXECUTED"
    # The whole burst is in; still one signal for this agent and instrument in the window.
    assert len(await signals_of(http, query_url, agent_id)) == 1
    assert await admin_db.fetchval("SELECT count(*) FROM signal.signals WHERE agent_id = $1", uuid.UUID(agent_id)) == 1


async def test_unfollowed_accounts_do_not_count(
    http: httpx.AsyncClient, control_url: str, query_url: str, admin_db: asyncpg.Pool, producer: AIOKafkaProducer
) -> None:
    followed, stranger = f"acct-{uuid.uuid4().hex[:8]}", f"acct-{uuid.uuid4().hex[:8]}"
    agent_id = await active_agent(http, control_url, admin_db, accounts=[followed], institutes=[])
    posts = [post(stranger, text) for text in BULLISH_ETH]
    for p in posts:
        await producer.send_and_wait(Post.TOPIC, p.model_dump_json().encode(), key=stranger.encode())

    async def stored() -> bool:
        return await admin_db.fetchval("SELECT count(*) FROM signal.posts WHERE account_id = $1", stranger) == 5

    await eventually(stored, what="the stranger's posts to be stored")
    assert await evidence_count(admin_db, agent_id) == 0
    assert await signals_of(http, query_url, agent_id) == []


async def test_the_same_post_twice_counts_once(
    http: httpx.AsyncClient, control_url: str, query_url: str, admin_db: asyncpg.Pool, producer: AIOKafkaProducer
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    agent_id = await active_agent(http, control_url, admin_db, accounts=[account], institutes=[])
    original = post(account, BULLISH_ETH[0])
    resent = original.model_copy(update={"event_id": uuid.uuid4()})  # a producer re-sending it as a new event
    for event in (original, original, resent):
        await producer.send_and_wait(Post.TOPIC, event.model_dump_json().encode(), key=account.encode())
    marker = post(account, "gm, coffee first")  # no instrument: a marker that the three are through
    await producer.send_and_wait(Post.TOPIC, marker.model_dump_json().encode(), key=account.encode())

    async def marker_stored() -> bool:
        return bool(await admin_db.fetchval("SELECT 1 FROM signal.posts WHERE post_id = $1", marker.post_id))

    await eventually(marker_stored, what="the marker post")
    assert await evidence_count(admin_db, agent_id) == 1
    # Three copies counted three times would have reached the threshold; once is not enough.
    assert await signals_of(http, query_url, agent_id) == []


async def test_conflicting_research_keeps_confidence_below_threshold(
    http: httpx.AsyncClient, control_url: str, query_url: str, admin_db: asyncpg.Pool, producer: AIOKafkaProducer
) -> None:
    account, institute = f"acct-{uuid.uuid4().hex[:8]}", f"inst-{uuid.uuid4().hex[:8]}"
    plain = await active_agent(http, control_url, admin_db, accounts=[account], institutes=[])
    with_research = await active_agent(http, control_url, admin_db, accounts=[account], institutes=[institute])
    note = Research(research_id=f"r-{uuid.uuid4()}", institute_id=institute, text="ETH: supply overhang, we are sellers",
                    instrument="ETH", side="SHORT", conviction=0.9, published_at=utcnow())
    await producer.send_and_wait(Research.TOPIC, note.model_dump_json().encode(), key=institute.encode())
    await eventually(lambda: _count_is(admin_db, with_research, 1, "research"), what="the research as evidence")

    for text in BULLISH_ETH[:3]:
        p = post(account, text)
        await producer.send_and_wait(Post.TOPIC, p.model_dump_json().encode(), key=account.encode())
    await eventually(lambda: _count_is(admin_db, with_research, 3, "x"), what="the posts as evidence")

    [signal] = await eventually(lambda: signals_of(http, query_url, plain), what="the plain agent's signal")
    assert signal["side"] == "LONG"
    assert await signals_of(http, query_url, with_research) == []
    rows = await admin_db.fetch("SELECT direction, strength FROM signal.evidence WHERE agent_id = $1", uuid.UUID(with_research))
    assert sorted(r["direction"] for r in rows) == [-1, 1, 1, 1]


async def _count_is(db: asyncpg.Pool, agent_id: str, n: int, source: str | None = None) -> bool:
    return await evidence_count(db, agent_id, source) == n


