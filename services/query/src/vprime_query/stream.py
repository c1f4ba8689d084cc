"""Live routing decisions for dashboards: each projected decision is fanned out to every open
server-sent-events stream (bounded queues: a slow client loses old decisions, never the service)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any


class DecisionFeed:
    def __init__(self, queue_size: int = 256) -> None:
        self._clients: set[asyncio.Queue[dict[str, Any]]] = set()
        self.queue_size = queue_size

    @property
    def listening(self) -> bool:
        """Whether any stream is open: with none, a decision need not be rendered for it."""
        return bool(self._clients)

    def publish(self, decision: dict[str, Any]) -> None:
        for queue in list(self._clients):
            if queue.full():
                queue.get_nowait()  # drop the oldest for this slow client
            queue.put_nowait(decision)

    async def stream(self, keepalive_s: float = 15.0) -> AsyncIterator[str]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self.queue_size)
        self._clients.add(queue)
        try:
            yield ": connected\n\n"
            while True:
                try:
                    decision = await asyncio.wait_for(queue.get(), timeout=keepalive_s)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: decision\ndata: {json.dumps(decision, default=str)}\n\n"
        finally:
            self._clients.discard(queue)
