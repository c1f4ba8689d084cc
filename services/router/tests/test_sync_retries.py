"""A failed catalog sync is retried within seconds (about 1 s, 2 s, 4 s ...), per venue, not at the next regular sync;
a venue that keeps failing is reported down and still retried."""

from __future__ import annotations

import asyncio
import heapq
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from vprime_shared.contracts import CatalogMarket, CatalogStatus, MarketCatalog, Venue
from vprime_shared.contracts.base import utcnow
from vprime_shared.orderbook import Book

from vprime_router.domain.catalog import fixture_catalogs
from vprime_router.settings import RouterSettings
from vprime_router.state import RouterState
from vprime_router.sync import JITTER, CatalogSync, backoff_s


class FlakyReader:
    """A `CatalogReader` whose venue refuses connections `fails` times, then lists BTC."""

    def __init__(self, venue: Venue, fails: int | float) -> None:
        self.venue, self.fails, self.calls = venue, fails, 0

    async def markets(self, http: httpx.AsyncClient) -> list[CatalogMarket]:
        self.calls += 1
        if self.calls <= self.fails:
            raise httpx.ConnectError("All connection attempts failed")
        return [CatalogMarket(venue_symbol="BTC", instrument="BTC", asset_class="crypto", max_leverage=40, taker_fee_bps=4.5)]

    async def book(self, http: httpx.AsyncClient, market: CatalogMarket) -> Book:
        return Book([(99.0, 1.0)], [(101.0, 1.0)])


class RecordingUow:
    """Stands in for the router's schema and outbox: keeps what a sync would write and publish."""

    def __init__(self) -> None:
        self.published: list[MarketCatalog] = []

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Any]:
        uow = self

        class Conn:
            async def execute(self, *_: object) -> None:
                return None

        class Tx:
            conn = Conn()

            async def publish(self, event: MarketCatalog, **_: object) -> None:
                uow.published.append(event)

        yield Tx()


class VirtualClock:
    """`sleep` for `CatalogSync` on a clock the test moves: time passes wake by wake, at once."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: dict[str, list[float]] = {}  # by sleeping task (one per venue)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.setdefault(asyncio.current_task().get_name(), []).append(seconds)  # type: ignore[union-attr]
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, id(future), future))
        await future

    async def run_until(self, condition: Callable[[], bool], limit_s: float) -> float:
        """Let time pass until `condition` holds, within `limit_s` from the start; the time then."""
        while True:
            for _ in range(20):  # what the woken tasks do takes a few turns of the loop, no real time
                await asyncio.sleep(0)
            if condition():
                return self.now
            if not self._sleepers or self._sleepers[0][0] > limit_s:
                raise AssertionError(f"not reached within {limit_s} s (at {self.now} s; waits {self.waits})")
            self.now, _, future = heapq.heappop(self._sleepers)
            future.set_result(None)


def settings(**overrides: Any) -> RouterSettings:
    values: dict[str, Any] = {"sync_interval_s": 30, "sync_retry_initial_s": 1, "sync_retry_max_s": 15, "sync_retries": 4,
                              "book_watchlist": "BTC", **overrides}
    return RouterSettings(**values)


@asynccontextmanager
async def syncing(state: RouterState, readers: list[FlakyReader], clock: VirtualClock) -> AsyncIterator[CatalogSync]:
    sync = CatalogSync(state, RecordingUow(), readers, sleep=clock.sleep, rng=random.Random(7))  # type: ignore[arg-type]
    await sync.start()
    try:
        yield sync
    finally:
        await sync.stop()


def test_the_schedule_doubles_from_a_second_and_stays_below_the_interval() -> None:
    s = settings()
    assert [backoff_s(n, s, 0.5) for n in range(1, 8)] == [1, 2, 4, 8, 15, 15, 15]
    for n in range(1, 8):
        exact = backoff_s(n, s, 0.5)
        assert backoff_s(n, s, 0.0) == pytest.approx(exact * (1 - JITTER))
        assert backoff_s(n, s, 0.999999) == pytest.approx(exact * (1 + JITTER), rel=1e-5)
        assert backoff_s(n, s, 0.999999) < s.sync_interval_s
    # A fast regular sync bounds the retries: a retry never comes after the sync that would have come anyway.
    fast = settings(sync_interval_s=1.0)
    assert all(backoff_s(n, fast, d) <= 1.0 for n in range(1, 6) for d in (0.0, 0.5, 0.999))
    assert backoff_s(100_000, s, 0.5) == 15  # a days-long outage keeps the longest delay


async def test_a_venue_that_was_not_up_at_start_is_synced_within_seconds() -> None:
    state = RouterState(settings())
    reader = FlakyReader(Venue.GMX, fails=3)
    clock = VirtualClock()
    async with syncing(state, [reader], clock):
        assert state.syncs[Venue.GMX].failures == 1  # the try at start
        synced_after_s = await clock.run_until(lambda: state.syncs[Venue.GMX].synced_at is not None, limit_s=60)
        assert reader.calls == 4
        waits = clock.waits["catalog-sync-GMX"]
        assert [round(w) for w in waits[:3]] == [1, 2, 4]
        assert synced_after_s == pytest.approx(7, rel=JITTER)  # not the 30 s of the next regular sync
        assert waits[3:] == [state.settings.sync_interval_s]  # synced: back to the regular interval
        catalog = state.catalogs.get(Venue.GMX)
        assert catalog is not None and catalog.status is CatalogStatus.OK and "BTC" in catalog.markets
        assert (Venue.GMX, "BTC") in state.books
        # Three failed tries within seconds counted once on the breaker: retries are more tries, not more evidence.
        assert state.breaker(Venue.GMX).failures == 1


async def test_readiness_waits_for_the_first_sync_of_every_venue() -> None:
    state = RouterState(settings())
    slow, quick = FlakyReader(Venue.HYPERLIQUID, fails=2), FlakyReader(Venue.GMX, fails=0)
    clock = VirtualClock()
    async with syncing(state, [slow, quick], clock):
        await clock.run_until(lambda: slow.calls == 2, limit_s=60)
        ready, detail = state.catalog_readiness(utcnow())
        assert not ready
        assert detail["venues"]["GMX"]["status"] == "fresh"
        assert detail["venues"]["HYPERLIQUID"] == {"status": "degraded", "synced_at": None, "failures": 2,
                                                   "error": "ConnectError: All connection attempts failed"}
        await clock.run_until(lambda: state.syncs[Venue.HYPERLIQUID].synced_at is not None, limit_s=60)
        ready, detail = state.catalog_readiness(utcnow())
        assert ready and {v["status"] for v in detail["venues"].values()} == {"fresh"}
        assert detail["venues"]["HYPERLIQUID"]["error"] is None and detail["venues"]["HYPERLIQUID"]["synced_at"]


async def test_a_venue_down_after_its_retries_no_longer_holds_readiness_back() -> None:
    state = RouterState(settings())
    up, down = FlakyReader(Venue.OSTIUM, fails=0), FlakyReader(Venue.SPOT, fails=float("inf"))
    clock = VirtualClock()
    retries = state.settings.sync_retries
    async with syncing(state, [up, down], clock):
        await clock.run_until(lambda: down.calls == retries, limit_s=60)
        assert not state.catalog_readiness(utcnow())[0]  # one retry to go
        down_after_s = await clock.run_until(lambda: down.calls == 1 + retries, limit_s=60)
        assert down_after_s == pytest.approx(1 + 2 + 4 + 8, rel=JITTER)
        ready, detail = state.catalog_readiness(utcnow())
        assert ready
        assert detail["venues"]["OSTIUM"]["status"] == "fresh"
        assert detail["venues"]["SPOT"] == {"status": "down", "synced_at": None, "failures": 1 + retries,
                                            "error": "ConnectError: All connection attempts failed"}
        # Still tried, at the longest delay, and fresh again as soon as it answers.
        down.fails = down.calls + 1
        await clock.run_until(lambda: state.syncs[Venue.SPOT].synced_at is not None, limit_s=120)
        waits = clock.waits["catalog-sync-SPOT"]
        assert waits[-3:-1] == [pytest.approx(state.settings.sync_retry_max_s, rel=JITTER)] * 2  # the two tries since it was down
        assert waits[-1] == state.settings.sync_interval_s
        assert state.catalog_readiness(utcnow())[1]["venues"]["SPOT"]["status"] == "fresh"


def test_a_fixture_router_syncs_nothing_and_is_ready() -> None:
    state = RouterState(settings(catalog_source="fixture"))
    state.catalogs = fixture_catalogs(utcnow())
    ready, detail = state.catalog_readiness(utcnow())
    assert ready and detail["source"] == "fixture"
    assert {v["status"] for v in detail["venues"].values()} == {"fresh"} and set(detail["venues"]) == {v.value for v in Venue}


def test_a_router_with_no_venue_synced_yet_is_not_ready() -> None:
    assert not RouterState(settings()).catalog_readiness(utcnow())[0]
