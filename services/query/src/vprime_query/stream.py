"""Live routing decisions for dashboards, as server-sent events.

Every query instance reads `routing.decisions.v1` for itself (`DecisionTail`: no consumer group, from the latest
offset), so each one serves its browsers every decision however many instances run; the read models' consumer
group splits partitions between instances and so cannot feed a browser alone. Each decision is rendered once, to the bytes of one event, and those same bytes are queued for every open
stream. Streams are capped per client address and in total (`DecisionFeed.open`). A stream's queue is bounded: when a
slow client's queue is full, it loses its oldest decision to make room for the newest; the service never waits for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)

CONNECTED = b": connected\n\n"
KEEPALIVE = b": keep-alive\n\n"


class StreamLimit(Exception):
    """Opening a stream would pass a cap; the message says which."""


@dataclass(frozen=True)
class Visible:
    """The agents a reader created (all their decisions) and the deployments it trades for."""

    agents: frozenset[str]
    deployments: frozenset[str]

    def sees(self, decision: dict[str, Any]) -> bool:
        return str(decision.get("agent_id")) in self.agents or str(decision.get("deployment_id")) in self.deployments


class DecisionFeed:
    """Every open stream is counted against its client's cap and the total from `open` until it is closed."""

    def __init__(self, queue_size: int = 256) -> None:
        self._streams: set[DecisionStream] = set()
        self._per_client: Counter[str] = Counter()
        self.queue_size = queue_size

    @property
    def listening(self) -> bool:
        """Whether any stream is open: with none, a decision need not be rendered for it."""
        return bool(self._streams)

    def open(self, client: str, *, max_per_client: int, max_clients: int,
             only: Visible | None = None) -> DecisionStream:
        """A new stream for `client` (its address), or `StreamLimit` when either cap is reached. `only`: the agents
        and deployments whose decisions it carries (READ_ACCESS=token, as they were when it opened); None: all."""
        if len(self._streams) >= max_clients:
            raise StreamLimit(f"{max_clients} decision streams are open, the most this service serves; try again later")
        if self._per_client[client] >= max_per_client:
            raise StreamLimit(f"{client} has {max_per_client} decision streams open, the most one client may have")
        stream = DecisionStream(self, client, only)
        self._streams.add(stream)
        self._per_client[client] += 1
        return stream

    def _close(self, stream: DecisionStream) -> None:
        if stream in self._streams:
            self._streams.discard(stream)
            self._per_client[stream.client] -= 1
            if not self._per_client[stream.client]:
                del self._per_client[stream.client]

    def publish(self, decision: dict[str, Any]) -> None:
        """Render `decision` once; every open stream is handed the same bytes."""
        if not self._streams:
            return
        self._offer(b"event: decision\ndata: " + json.dumps(decision, default=str).encode() + b"\n\n", lambda: decision)

    def publish_raw(self, value: bytes) -> None:
        """A decision as it came from Kafka (one line of JSON): its bytes are the event's data as they are, and it is
        parsed only when a stream shows a reader its own decisions alone."""
        if not self._streams:
            return
        if b"\n" in value or b"\r" in value:  # not one line: would end the event early
            value = json.dumps(json.loads(value)).encode()
        decision: dict[str, Any] | None = None

        def parsed() -> dict[str, Any]:
            nonlocal decision
            if decision is None:
                decision = json.loads(value)
            return decision

        self._offer(b"event: decision\ndata: " + value + b"\n\n", parsed)

    def _offer(self, event: bytes, decision: Callable[[], dict[str, Any]]) -> None:
        for stream in self._streams:
            if stream.only is None or stream.only.sees(decision()):
                stream.offer(event)


class DecisionStream:
    """One client's stream: a bounded queue of rendered events, holding a place in its feed until `close`."""

    def __init__(self, feed: DecisionFeed, client: str, only: Visible | None = None) -> None:
        self.feed = feed
        self.client = client
        self.only = only
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(feed.queue_size)

    def offer(self, event: bytes) -> None:
        if self.queue.full():
            self.queue.get_nowait()  # a slow client loses its oldest decision, not the service its memory
        self.queue.put_nowait(event)

    def close(self) -> None:
        self.feed._close(self)

    async def events(self, keepalive_s: float = 15.0) -> AsyncIterator[bytes]:
        try:
            yield CONNECTED
            while True:
                try:
                    yield await asyncio.wait_for(self.queue.get(), timeout=keepalive_s)
                except TimeoutError:
                    yield KEEPALIVE
        finally:
            self.close()


class EventStreamResponse(StreamingResponse):
    """`stream`'s events; its place in the feed is given up when the response ends, however it ends (also when the
    client leaves before the first event, and the events were never started)."""

    def __init__(self, stream: DecisionStream, keepalive_s: float = 15.0) -> None:
        super().__init__(stream.events(keepalive_s), media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.stream.close()


class DecisionTail:
    """This instance's own reader of the decisions topic, handing each record to `feed`: no group, so no offsets are
    committed and every instance gets every partition; from the latest offset, since a feed shows what happens now.
    A record is handed on as it is; with no stream open it is dropped unread."""

    def __init__(self, bootstrap: str, feed: DecisionFeed, topic: str, *, client_id: str = "vprime-query-feed") -> None:
        self.feed, self.topic, self.bootstrap, self.client_id = feed, topic, bootstrap, client_id
        self.consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(self.topic, bootstrap_servers=self.bootstrap, group_id=None, auto_offset_reset="latest",
                                         enable_auto_commit=False, client_id=self.client_id)
        await self.consumer.start()
        self._task = asyncio.create_task(self._run(), name="decision-tail")

    async def _run(self) -> None:
        while True:
            try:
                assert self.consumer is not None
                batches = await self.consumer.getmany(timeout_ms=1000, max_records=500)
                for records in batches.values():
                    for record in records:
                        if record.value:
                            self.feed.publish_raw(record.value)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the feed is best effort: it never stops reading
                log.warning("live decision feed: %r; reading on", exc)
                await asyncio.sleep(1)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self.consumer is not None:
            await self.consumer.stop()
