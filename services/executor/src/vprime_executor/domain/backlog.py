"""The orders being sent, and backpressure on them: the consumer claims the next batch while earlier orders
are still with their venues, up to a limit past which it waits for sends to end."""

from __future__ import annotations

import asyncio


class SendBacklog:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.tasks: set[asyncio.Task[None]] = set()
        # Set when a send ends with the backlog within its limit. Waiting on it costs the same however many sends
        # are under way; asyncio.wait over them all would add a callback to each task and take it off again, per wait.
        self._room = asyncio.Event()

    def __len__(self) -> int:
        return len(self.tasks)

    def add(self, task: asyncio.Task[None]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self._ended)

    async def room(self) -> None:
        """Return once the backlog is within its limit."""
        while len(self.tasks) > self.limit:
            self._room.clear()
            await self._room.wait()

    def _ended(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if len(self.tasks) <= self.limit:
            self._room.set()
