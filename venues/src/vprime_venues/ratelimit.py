"""A venue's request budget: a weighted token bucket, and what to do when the venue answers HTTP 429.

Venues limit requests by weight per IP address (Hyperliquid: 1200 per minute, each request weighing what its
docs say). The budget spends that weight before a request leaves, so the venue is not the one to say stop.

One budget per venue per process. The router and the executor each hold their own, so the venue's per-IP limit is
split between the processes that share an address: each gets a share, and the shares (each plus its burst) add
up to less than the venue's limit.

A READ answered 429 is retried with exponential backoff (from 0.5 s, capped, a few tries), then
`VenueUnavailable`. An ORDER answered 429 is `VenueUnavailable` at once: the venue did not take it, and another
venue may.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx

from vprime_venues.execution import VenueUnavailable

READ_TRIES = 4  # one try and three retries
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 4.0


class BudgetExhausted(Exception):
    """The weight would not be available within the wait allowed: the request was not sent."""


class RateBudget:
    """An async weighted token bucket: `weight_per_minute` flows in evenly, up to `burst` held at once (a tenth
    of a minute's weight unless given). So any minute spends at most `weight_per_minute + burst`.

    `await take(weight)` waits until the weight is there and spends it; `async with spend(weight)` does the same
    around a block; `try_take(weight)` spends it only if it is there now. Waiters are served in arrival order.
    A weight larger than the burst waits for a full bucket and leaves it in debt, so one heavy request is never
    stuck. `debit(weight)` spends weight known only afterwards (per-item weights), `exhaust()` empties the bucket
    (the venue answered 429: it is out of weight whatever we counted)."""

    def __init__(self, weight_per_minute: float, *, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        if weight_per_minute <= 0:
            raise ValueError("weight_per_minute must be positive")
        self.weight_per_minute = float(weight_per_minute)
        self.rate = self.weight_per_minute / 60.0  # weight per second
        self.burst = float(burst) if burst is not None else self.weight_per_minute / 10
        if self.burst <= 0:
            raise ValueError("burst must be positive")
        self._clock, self._sleep = clock, sleep
        self._tokens = self.burst
        self._at = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    @property
    def available(self) -> float:
        self._refill()
        return self._tokens

    def _wait_for(self, weight: float) -> float:
        need = min(weight, self.burst)  # a heavy request waits for a full bucket, not for the impossible
        return max(0.0, (need - self._tokens) / self.rate)

    async def take(self, weight: float, *, max_wait_s: float | None = None) -> None:
        """Spend `weight`, waiting for it. With `max_wait_s`, raise `BudgetExhausted` (spending nothing) when the
        wait would be longer."""
        async with self._lock:
            self._refill()
            wait = self._wait_for(weight)
            if max_wait_s is not None and wait > max_wait_s:
                raise BudgetExhausted(f"{weight:g} weight not available within {max_wait_s:g}s (wait {wait:.2f}s)")
            while wait > 0:
                await self._sleep(wait)
                self._refill()
                wait = self._wait_for(weight)
            self._tokens -= weight

    def try_take(self, weight: float) -> bool:
        """Spend `weight` if it is there now (and nobody is waiting ahead); never waits."""
        if self._lock.locked():
            return False
        self._refill()
        if self._tokens < weight:
            return False
        self._tokens -= weight
        return True

    def debit(self, weight: float) -> None:
        self._refill()
        self._tokens -= weight

    def exhaust(self) -> None:
        self._refill()
        self._tokens = min(self._tokens, 0.0)

    @asynccontextmanager
    async def spend(self, weight: float) -> AsyncIterator[None]:
        await self.take(weight)
        yield


def _retry_after_s(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None


async def read_with_backoff(send: Callable[[], Awaitable[httpx.Response]], venue_name: str, *,
                            budget: RateBudget | None = None, weight: float = 1,
                            tries: int = READ_TRIES, first_backoff_s: float = FIRST_BACKOFF_S,
                            max_backoff_s: float = MAX_BACKOFF_S,
                            sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> httpx.Response:
    """One READ: spend `weight` from `budget`, `send()`, and on HTTP 429 empty the budget and try again after
    0.5 s, 1 s, 2 s ... (capped at `max_backoff_s`, or the venue's Retry-After if longer, within the cap). After
    `tries` answers of 429, `VenueUnavailable`. Any other answer is returned as it is."""
    delay = first_backoff_s
    for attempt in range(1, tries + 1):
        if budget is not None:
            await budget.take(weight)
        response = await send()
        if response.status_code != 429:
            return response
        if budget is not None:
            budget.exhaust()
        if attempt == tries:
            break
        await sleep(min(max(delay, _retry_after_s(response) or 0.0), max_backoff_s))
        delay = min(delay * 2, max_backoff_s)
    raise VenueUnavailable(f"{venue_name} throttled the read (HTTP 429) {tries} times")


def refuse_throttled_order(response: httpx.Response, venue_name: str, budget: RateBudget | None = None) -> None:
    """An order answered 429 was not taken: `VenueUnavailable` at once, never retried here."""
    if response.status_code == 429:
        if budget is not None:
            budget.exhaust()
        raise VenueUnavailable(f"{venue_name} throttled the order (HTTP 429); it was not placed")
