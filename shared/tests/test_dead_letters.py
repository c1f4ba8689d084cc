"""The dead-letter middleware, on FastStream's in-memory broker (one handler; the real thing is in tests/e2e)."""

from __future__ import annotations

import asyncpg
import pytest
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from vprime_shared.contracts import Post
from vprime_shared.contracts.base import utcnow
from vprime_shared.kafka import DeadLetters, PoisonEvent, consumer_options, make_broker


def valid_post(text: str = "gm") -> Post:
    return Post(post_id="p1", account_id="a1", author_handle="@a", text=text, posted_at=utcnow())


@pytest.fixture
def setup():  # type: ignore[no-untyped-def]
    dead_letters = DeadLetters("unit")
    broker = make_broker("localhost:9092", "unit", dead_letters)
    handled: list[Post] = []
    dead: list[tuple[bytes, dict[str, str]]] = []
    attempts = {"n": 0}

    @broker.subscriber(Post.TOPIC, **consumer_options("unit", Post.TOPIC))
    async def on_post(event: Post) -> None:
        if event.text == "poison":
            raise PoisonEvent("account a1 is unknown")
        if event.text == "flaky" and attempts["n"] < 2:
            attempts["n"] += 1
            raise asyncpg.CannotConnectNowError("database is starting up")
        handled.append(event)

    @broker.subscriber(f"{Post.TOPIC}.dlq")
    async def on_dead(message: KafkaMessage) -> None:
        dead.append((message.body, dict(message.headers)))

    return broker, handled, dead, attempts


async def test_invalid_payload_goes_to_dlq_with_reason(setup) -> None:  # type: ignore[no-untyped-def]
    broker, handled, dead, _ = setup
    async with TestKafkaBroker(broker):
        await broker.publish(b'{"post_id": "p1", "surprise": true}', Post.TOPIC)
        await broker.publish(valid_post().model_dump_json().encode(), Post.TOPIC)
    assert [p.post_id for p in handled] == ["p1"]
    [(body, headers)] = dead
    assert body == b'{"post_id": "p1", "surprise": true}'
    assert "surprise" in headers["x-dlq-error"] and headers["x-dlq-service"] == "unit"


async def test_poison_event_goes_to_dlq(setup) -> None:  # type: ignore[no-untyped-def]
    broker, handled, dead, _ = setup
    async with TestKafkaBroker(broker):
        await broker.publish(valid_post("poison").model_dump_json().encode(), Post.TOPIC)
    assert handled == []
    assert "account a1 is unknown" in dead[0][1]["x-dlq-error"]


async def test_transient_failures_are_retried_not_dead_lettered(setup) -> None:  # type: ignore[no-untyped-def]
    broker, handled, dead, attempts = setup
    async with TestKafkaBroker(broker):
        await broker.publish(valid_post("flaky").model_dump_json().encode(), Post.TOPIC)
    assert attempts["n"] == 2 and [p.text for p in handled] == ["flaky"] and dead == []
