"""The live decision feed: what is published reaches every open stream, rendered once; a slow client loses its oldest
decisions rather than holding the service up; with no stream open nothing is rendered; streams are capped per client
address and in total, and the route answers 429 in the error envelope over a cap."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from fastapi import FastAPI

from vprime_shared.runtime import install_error_handlers
from vprime_query import api, stream as stream_module
from vprime_query.settings import QuerySettings
from vprime_query.stream import DecisionFeed, StreamLimit

CAPS = {"max_per_client": 4, "max_clients": 200}


async def test_an_open_stream_receives_what_is_published_and_a_slow_one_keeps_the_newest() -> None:
    feed = DecisionFeed(queue_size=2)
    assert not feed.listening
    events = feed.open("10.0.0.1", **CAPS).events()
    assert await anext(events) == b": connected\n\n"
    assert feed.listening

    for n in range(3):  # the client reads nothing meanwhile: the first is dropped
        feed.publish({"decision_id": n})
    received = [json.loads((await anext(events)).split(b"data: ", 1)[1]) for _ in range(2)]
    assert received == [{"decision_id": 1}, {"decision_id": 2}]

    await events.aclose()
    assert not feed.listening


async def test_a_decision_is_rendered_once_and_every_stream_gets_the_same_bytes(monkeypatch) -> None:
    feed = DecisionFeed()
    streams = [feed.open(f"10.0.0.{n}", **CAPS) for n in range(5)]
    rendered: list[object] = []
    dumps = json.dumps
    monkeypatch.setattr(stream_module.json, "dumps", lambda *a, **k: rendered.append(a[0]) or dumps(*a, **k))

    feed.publish({"decision_id": 7})

    assert rendered == [{"decision_id": 7}]
    queued = [s.queue.get_nowait() for s in streams]
    assert queued[0] == b'event: decision\ndata: {"decision_id": 7}\n\n'
    assert all(q is queued[0] for q in queued), "one bytes object, fanned out"


async def test_nothing_is_rendered_with_no_stream_open(monkeypatch) -> None:
    feed = DecisionFeed()
    monkeypatch.setattr(stream_module.json, "dumps", lambda *a, **k: pytest.fail("rendered for nobody"))
    feed.publish({"decision_id": 1})


async def test_a_record_from_kafka_is_queued_as_it_came_and_parsed_once_only_for_a_restricted_stream(monkeypatch) -> None:
    feed = DecisionFeed()
    everything = feed.open("10.0.0.1", **CAPS)
    mine = feed.open("10.0.0.2", **CAPS, only=stream_module.Visible(frozenset({"a1"}), frozenset()))
    theirs = feed.open("10.0.0.3", **CAPS, only=stream_module.Visible(frozenset({"a2"}), frozenset()))
    parsed: list[bytes] = []
    loads = json.loads
    monkeypatch.setattr(stream_module.json, "loads", lambda v: parsed.append(v) or loads(v))

    record = b'{"decision_id":"d1","agent_id":"a1","deployment_id":"x"}'
    feed.publish_raw(record)

    assert everything.queue.get_nowait() == b"event: decision\ndata: " + record + b"\n\n"
    assert mine.queue.get_nowait() == b"event: decision\ndata: " + record + b"\n\n"
    assert theirs.queue.empty() and parsed == [record]
    feed.publish_raw(b'{"agent_id": "a1",\n "reason": "pretty-printed"}')  # kept to one line, or the event would end early
    assert b"\n" not in everything.queue.get_nowait().removeprefix(b"event: decision\n").removesuffix(b"\n\n")


def test_streams_are_capped_per_client_and_in_total_and_a_closed_one_frees_its_place() -> None:
    feed = DecisionFeed()
    first = [feed.open("10.0.0.1", max_per_client=2, max_clients=3) for _ in range(2)]
    with pytest.raises(StreamLimit, match="10.0.0.1 has 2 decision streams open, the most one client may have"):
        feed.open("10.0.0.1", max_per_client=2, max_clients=3)

    feed.open("10.0.0.2", max_per_client=2, max_clients=3)  # another client still may
    with pytest.raises(StreamLimit, match="3 decision streams are open, the most this service serves"):
        feed.open("10.0.0.3", max_per_client=2, max_clients=3)

    first[0].close()
    first[0].close()  # closing twice frees one place, once
    feed.open("10.0.0.1", max_per_client=2, max_clients=3)
    with pytest.raises(StreamLimit):
        feed.open("10.0.0.3", max_per_client=2, max_clients=3)


def stream_app(**caps: int) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(api.router)
    app.state.feed = DecisionFeed()
    app.state.runtime = SimpleNamespace(settings=QuerySettings(**caps))
    return app


class Client:
    """One GET of the stream at the ASGI level (httpx's ASGITransport waits for a whole body, and a stream has none)."""

    def __init__(self, app: FastAPI, host: str) -> None:
        self.sent: list[dict] = []
        self.started = asyncio.Event()
        self.gone = asyncio.Event()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": "/api/v3/stream/decisions", "raw_path": b"/api/v3/stream/decisions", "root_path": "",
                 "query_string": b"", "headers": [], "server": ("test", 80), "client": (host, 40000)}
        self.task = asyncio.create_task(app(scope, self.receive, self.send))

    async def receive(self) -> dict:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.start":
            self.started.set()

    async def status(self) -> int:
        await asyncio.wait_for(self.started.wait(), 5)
        return self.sent[0]["status"]

    def body(self) -> dict:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent[1:]))

    async def leave(self) -> None:
        self.gone.set()
        await asyncio.wait_for(self.task, 5)


async def test_the_route_answers_429_over_either_cap_and_a_client_that_leaves_frees_its_place() -> None:
    app = stream_app(stream_max_per_client=2, stream_max_clients=3)
    feed: DecisionFeed = app.state.feed
    mine = [Client(app, "10.0.0.1") for _ in range(2)]
    assert [await c.status() for c in mine] == [200, 200]

    refused = Client(app, "10.0.0.1")
    assert await refused.status() == 429
    await asyncio.wait_for(refused.task, 5)
    assert refused.body() == {"success": False,
                              "error": "10.0.0.1 has 2 decision streams open, the most one client may have"}

    other = Client(app, "10.0.0.2")
    assert await other.status() == 200
    full = Client(app, "10.0.0.3")
    assert await full.status() == 429
    await asyncio.wait_for(full.task, 5)
    assert "the most this service serves" in full.body()["error"]

    await mine[0].leave()
    again = Client(app, "10.0.0.1")
    assert await again.status() == 200
    feed.publish({"decision_id": 1})
    await asyncio.sleep(0.05)
    assert b'"decision_id": 1' in again.sent[-1]["body"]

    for c in (mine[1], other, again):
        await c.leave()
    assert not feed.listening
