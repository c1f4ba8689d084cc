"""Catalog sync: at start and every `sync_interval_s`, each venue's markets (and books for the watched
instruments) are read through its adapter, kept in memory and in the router's schema, and published
on market.catalog.v1. A venue whose sync fails is marked degraded (and its breaker counts a failure);
one whose last good sync is older than `stale_after_s` is not routed on.

Each venue is synced on its own: a failed sync is tried again after `backoff_s` (about 1 s, 2 s, 4 s ...), not at
the next regular sync, so that a venue that was not up yet when the router started is routed on about as soon as
it is; after `sync_retries` failed retries the venue is down (readiness stops waiting for it) and is tried at the
longest delay."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

import httpx

from vprime_shared.contracts import CatalogStatus, MarketCatalog, Venue
from vprime_shared.contracts.base import utcnow
from vprime_shared.unit_of_work import UnitOfWork

from vprime_venues.catalog import CatalogReader as VenueSync
from vprime_venues.gmx.catalog import GmxSync
from vprime_venues.gmx.constants import ARBITRUM as GMX_ARBITRUM
from vprime_venues.hyperliquid.catalog import HyperliquidSync
from vprime_venues.ostium.catalog import OstiumSync
from vprime_venues.ratelimit import RateBudget
from vprime_venues.spot.catalog import SpotSync

from vprime_router.adapters.repository import RouterRepository
from vprime_router.domain.catalog import VenueCatalog
from vprime_router.settings import RouterSettings
from vprime_router.state import RouterState, SyncRecord

log = logging.getLogger(__name__)

JITTER = 0.1  # ± this share of a retry's delay, so that venues failing together do not retry in step


def backoff_s(failures: int, s: RouterSettings, draw: float) -> float:
    """The wait before the next try after `failures` failed syncs in a row (≥ 1): `sync_retry_initial_s` doubled per
    further failure, at most `sync_retry_max_s`, ± `JITTER` (`draw` in [0, 1)); never after the next regular sync."""
    delay = min(s.sync_retry_initial_s * 2 ** min(failures - 1, 32), s.sync_retry_max_s)  # a long outage's count stays a float
    return min(delay * (1 + JITTER * (2 * draw - 1)), s.sync_interval_s)


def venue_adapters(s: RouterSettings) -> list[VenueSync]:
    return [
        HyperliquidSync(s.hyperliquid_url(), budget=RateBudget(s.hyperliquid_weight_per_minute)),
        OstiumSync(s.url("ostium_subgraph_url", "/ostium/subgraph"), s.url("ostium_prices_url", "/ostium/PricePublish/latest-prices")),
        GmxSync(s.url("gmx_api_url", "/gmx"), usdc=s.usdc_address or GMX_ARBITRUM["usdc"]),
        SpotSync(**s.spot(), timeout_s=s.sync_timeout_s),
    ]


class CatalogSync:
    def __init__(self, state: RouterState, uow: UnitOfWork, adapters: list[VenueSync], *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, rng: random.Random | None = None) -> None:
        self.state, self.uow, self.adapters = state, uow, adapters
        self.sleep, self.rng = sleep, rng or random.Random()
        self._tasks: list[asyncio.Task[None]] = []
        for adapter in adapters:  # readiness waits for every venue synced here
            state.syncing(adapter.venue)
        # One client for every sync: its connections are kept alive, and its TLS context (costly to build) made once.
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(state.settings.sync_timeout_s))

    async def start(self) -> None:
        """Try every venue once (routing starts on what that found), then keep each one synced on its own."""
        await asyncio.gather(*(self._try(adapter) for adapter in self.adapters))
        self._tasks = [asyncio.create_task(self._keep_synced(a), name=f"catalog-sync-{a.venue.value}") for a in self.adapters]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.aclose()

    def next_delay(self, syncs: SyncRecord) -> float:
        s = self.state.settings
        return backoff_s(syncs.failures, s, self.rng.random()) if syncs.failures else s.sync_interval_s

    async def _keep_synced(self, adapter: VenueSync) -> None:
        syncs = self.state.syncing(adapter.venue)
        while True:
            await self.sleep(self.next_delay(syncs))
            await self._try(adapter)

    async def _try(self, adapter: VenueSync) -> None:
        try:
            await self.sync_venue(self.http, adapter)
        except Exception:  # a sync that could not be recorded must not end syncing
            log.exception("catalog sync of %s not recorded", adapter.venue)

    async def sync_venue(self, http: httpx.AsyncClient, adapter: VenueSync) -> MarketCatalog:
        venue: Venue = adapter.venue
        syncs = self.state.syncing(venue)
        now = utcnow()
        try:
            event = MarketCatalog(venue=venue, status=CatalogStatus.OK, synced_at=now, markets=await adapter.markets(http))
            catalog = VenueCatalog.from_event(event)
        except Exception as exc:  # whatever the venue's reader raises, the venue did not sync
            error = f"{type(exc).__name__}: {exc}"[:500]
            syncs.failed(error)
            log.warning("catalog sync of %s failed (%d in a row): %s", venue, syncs.failures, error)
            if syncs.failures == self.state.settings.sync_retries + 1:
                log.error("%s is down: its catalog sync failed %d times in a row; tried again every %.0f s",
                          venue, syncs.failures, backoff_s(syncs.failures, self.state.settings, 0.5))
            self.state.catalogs.mark_failed(venue, error)
            # Retries are more tries, not more evidence: the breaker counts a failing venue at most once per regular
            # sync, as it did before failed syncs were retried.
            counted = syncs.breaker_counted_at
            if counted is None or (now - counted).total_seconds() >= self.state.settings.sync_interval_s:
                self.state.breaker(venue).record_failure(now, f"sync failed: {error}")
                syncs.breaker_counted_at = now
            last = self.state.catalogs.get(venue)
            event = MarketCatalog(venue=venue, status=CatalogStatus.DEGRADED, synced_at=last.synced_at if last and last.synced_at else now,
                                  error=error)
        else:
            self.state.catalogs.put(catalog)
            if syncs.failures or syncs.synced_at is None:
                log.info("catalog of %s synced (%d markets) after %d failed tries", venue, len(catalog.markets), syncs.failures)
            syncs.succeeded(now)
            for instrument in self.state.watchlist() & catalog.markets.keys():
                market = catalog.markets[instrument]
                try:
                    self.state.books[(venue, instrument)] = await adapter.book(http, market)
                except Exception as exc:  # the catalog stands without this book
                    log.warning("book for %s %s not read: %s", venue, instrument, exc)
        async with self.uow.begin() as tx:
            repo = RouterRepository(tx.conn)
            await repo.save_catalog(event)
            await repo.save_breaker(venue, self.state.breaker(venue))
            await tx.publish(event)
        return event
