"""The live decision feed: what is published reaches every open stream, a slow client loses its oldest
decisions rather than holding the service up, and with no stream open nothing is rendered."""

from __future__ import annotations

import json

from vprime_query.stream import DecisionFeed


async def test_an_open_stream_receives_what_is_published_and_a_slow_one_keeps_the_newest() -> None:
    feed = DecisionFeed(queue_size=2)
    assert not feed.listening
    stream = feed.stream()
    assert await anext(stream) == ": connected\n\n"
    assert feed.listening

    for n in range(3):  # the client reads nothing meanwhile: the first is dropped
        feed.publish({"decision_id": n})
    received = [json.loads((await anext(stream)).split("data: ", 1)[1]) for _ in range(2)]
    assert received == [{"decision_id": 1}, {"decision_id": 2}]

    await stream.aclose()
    assert not feed.listening
