"""Backpressure on orders being sent: room once the backlog is within its limit, and not before."""

from __future__ import annotations

import asyncio

from vprime_executor.domain.backlog import SendBacklog


async def test_room_waits_for_a_send_to_end_once_past_the_limit_and_no_longer() -> None:
    backlog = SendBacklog(limit=2)
    ends = [asyncio.Event() for _ in range(4)]
    for end in ends:
        backlog.add(asyncio.create_task(end.wait()))  # type: ignore[arg-type]
    room = asyncio.create_task(backlog.room())

    ends[0].set()
    await asyncio.sleep(0.01)
    assert not room.done(), "three sends under way, the limit is two"

    ends[1].set()
    await asyncio.wait_for(room, 1)
    assert len(backlog) == 2

    await asyncio.wait_for(backlog.room(), 1)  # within the limit: at once
    for end in ends[2:]:
        end.set()
    await asyncio.sleep(0.01)
    assert len(backlog) == 0 and not backlog.tasks
