"""Nonces for Hyperliquid actions (docs: for-developers/api/nonces-and-api-wallets).

The venue keeps the highest nonces of each signer (the agent wallet that signs, not the account it trades for).
A new action's nonce must be above the smallest of them, never used before, and within (T - 2 days, T + 1 day)
of the block's time. The docs' advice: an atomic counter per signer, fast-forwarded to the current millisecond.
Two orders signed in the same millisecond with the millisecond as nonce collide; these never do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class NonceSource(Protocol):
    """Unique, increasing nonces per signer. The in-memory one below serves one process; a shared one (the
    executor's, in Postgres) keeps them unique across processes and restarts."""

    async def next(self, signer_address: str) -> int: ...


class MemoryNonces:
    """`max(last + 1, now_ms)` per signer, under a lock: strictly increasing and unique within this process."""

    def __init__(self, clock_ms: Callable[[], int] = now_ms) -> None:
        self._clock_ms = clock_ms
        self._last: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def next(self, signer_address: str) -> int:
        key = signer_address.lower()
        async with self._lock:
            nonce = max(self._last.get(key, 0) + 1, self._clock_ms())
            self._last[key] = nonce
            return nonce
