"""The same event delivered twice has one effect, at each consuming service (inbox + derived ids).

Each step re-publishes, byte for byte, an event a service really published (taken from its
outbox), so the duplicate is indistinguishable from a Kafka redelivery.
"""

from __future__ import annotations

import json
import uuid

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from tests.conftest import eventually
from tests.e2e.helpers import create_agent, deploy, settled_timeline, signal

pytestmark = pytest.mark.integration


async def outbox_rows(db: asyncpg.Pool, schema: str, topic: str, field: str, value: str) -> list[asyncpg.Record]:
    return await db.fetch(
        f"SELECT event_id, key, payload FROM {schema}.outbox WHERE topic = $1 AND convert_from(payload, 'UTF8')::jsonb ->> $2 = $3",
        topic, field, value,
    )


async def inbox_count(db: asyncpg.Pool, schema: str, event_id: uuid.UUID) -> int:
    return await db.fetchval(f"SELECT count(*) FROM {schema}.inbox WHERE event_id = $1", event_id)


async def redeliver(producer: AIOKafkaProducer, topic: str, row: asyncpg.Record) -> None:
    await producer.send_and_wait(topic, bytes(row["payload"]), key=row["key"].encode())


async def test_duplicates_have_one_effect_everywhere(
    http: httpx.AsyncClient, control_url: str, query_url: str, admin_db: asyncpg.Pool, producer: AIOKafkaProducer
) -> None:
    agent = await create_agent(http, control_url, name="duplicate deliveries")
    deployment = await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID"])
    s = await signal(http, control_url, agent["id"], "ETH")
    await settled_timeline(http, query_url, s["id"])

    [signal_row] = await outbox_rows(admin_db, "control", "signals.v1", "signal_id", s["id"])
    [intent_row] = await outbox_rows(admin_db, "policy", "intents.v1", "signal_id", s["id"])
    [decision_row] = await outbox_rows(admin_db, "router", "routing.decisions.v1", "signal_id", s["id"])
    [order_row] = await outbox_rows(admin_db, "router", "orders.v1", "signal_id", s["id"])
    [position_row] = await outbox_rows(admin_db, "executor", "positions.v1", "signal_id", s["id"])

    await redeliver(producer, "signals.v1", signal_row)
    await redeliver(producer, "intents.v1", intent_row)
    await redeliver(producer, "orders.v1", order_row)
    await redeliver(producer, "positions.v1", position_row)
    await redeliver(producer, "routing.decisions.v1", decision_row)

    # A marker signal sent after the duplicates: once it is through, so are they (same partitions, in order).
    marker = await signal(http, control_url, agent["id"], "BTC")
    await settled_timeline(http, query_url, marker["id"])
    await eventually(lambda: _query_saw(admin_db, marker["id"]), what="query to project the marker's position")

    signal_event = json.loads(bytes(signal_row["payload"]))["event_id"]
    assert await inbox_count(admin_db, "policy", uuid.UUID(signal_event)) == 1
    # Control records signals without an inbox (an upsert keyed by the signal): the duplicate rewrote the same row.
    assert await admin_db.fetchval("SELECT count(*) FROM control.signals WHERE signal_id = $1", uuid.UUID(s["id"])) == 1
    assert await inbox_count(admin_db, "control", uuid.UUID(signal_event)) == 0
    assert len(await outbox_rows(admin_db, "policy", "intents.v1", "signal_id", s["id"])) == 1
    assert await admin_db.fetchval("SELECT count(*) FROM policy.decisions WHERE signal_id = $1", uuid.UUID(s["id"])) == 1
    assert len(await outbox_rows(admin_db, "router", "routing.decisions.v1", "signal_id", s["id"])) == 1
    assert len(await outbox_rows(admin_db, "router", "orders.v1", "signal_id", s["id"])) == 1
    assert len(await outbox_rows(admin_db, "executor", "executions.v1", "signal_id", s["id"])) == 1
    assert len(await outbox_rows(admin_db, "executor", "positions.v1", "signal_id", s["id"])) == 1
    assert await admin_db.fetchval("SELECT count(*) FROM executor.orders WHERE intent_id = $1",
                                   uuid.UUID(json.loads(bytes(intent_row["payload"]))["intent_id"])) == 1
    # Query keeps no inbox (its projections are upserts keyed by the fact's id): a duplicate rewrites the same row.
    for table in ("signals", "intents", "routing_decisions", "orders", "positions"):
        assert await admin_db.fetchval(f"SELECT count(*) FROM query.{table} WHERE signal_id = $1", uuid.UUID(s["id"])) == 1, table
    assert await inbox_count(admin_db, "query", uuid.UUID(signal_event)) == 0
    # Policy keeps no inbox for positions either: the duplicate left the deployment's risk totals as they were. Its
    # projection of positions is a consumer of its own: the marker's position may reach it after query. The totals
    # and the positions are read in one statement, one snapshot.
    d = uuid.UUID(deployment["id"])
    assert await inbox_count(admin_db, "policy", uuid.UUID(json.loads(bytes(position_row["payload"]))["event_id"])) == 0
    await eventually(lambda: admin_db.fetchval("SELECT count(*) = 2 FROM policy.positions WHERE deployment_id = $1", d),
                     what="policy to project the marker's position")
    totals = await admin_db.fetchrow(
        "SELECT (SELECT open_positions FROM policy.exposure WHERE deployment_id = $1) AS exposure_open, "
        "(SELECT count(*) FROM policy.positions WHERE deployment_id = $1 AND state = 'OPEN') AS open, "
        "(SELECT n FROM policy.pending_settled WHERE deployment_id = $1) AS settled, "
        "(SELECT count(*) FROM policy.positions WHERE deployment_id = $1) AS positions", d)
    assert totals["exposure_open"] == totals["open"] > 0, dict(totals)
    assert totals["settled"] == totals["positions"] == 2, dict(totals)

    timeline = (await http.get(f"{query_url}/api/v3/signals/{s['id']}/timeline")).json()
    assert len(timeline["positions"]) == 1 and timeline["positions"][0]["deployment_id"] == deployment["id"]


async def test_signal_service_stores_a_redelivered_post_once(admin_db: asyncpg.Pool, producer: AIOKafkaProducer, stack) -> None:  # type: ignore[no-untyped-def]
    from vprime_shared.contracts import Post
    from vprime_shared.contracts.base import utcnow

    post = Post(post_id=f"p-{uuid.uuid4()}", account_id="42", author_handle="@trader", text="$ETH looks strong", posted_at=utcnow())
    for _ in range(2):
        await producer.send_and_wait(Post.TOPIC, post.model_dump_json().encode(), key=b"42")

    async def stored() -> bool:
        return await inbox_count(admin_db, "signal", post.event_id) == 1

    await eventually(stored, what="the signal service to store the post")
    assert await admin_db.fetchval("SELECT count(*) FROM signal.posts WHERE post_id = $1", post.post_id) == 1


async def _query_saw(db: asyncpg.Pool, signal_id: str) -> bool:
    return bool(await db.fetchval("SELECT count(*) FROM query.positions WHERE signal_id = $1", uuid.UUID(signal_id)))
