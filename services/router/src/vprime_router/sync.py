"""Catalog sync: at start and every `sync_interval_s`, each venue's markets (and books for the watched
instruments) are read through its adapter, kept in memory and in the router's schema, and published
on market.catalog.v1. A venue whose sync fails is marked degraded (and its breaker counts a failure);
one whose last good sync is older than `stale_after_s` is not routed on."""

from __future__ import annotations

import asyncio
import logging

import httpx

from vprime_shared.contracts import CatalogStatus, MarketCatalog, Venue
from vprime_shared.contracts.base import utcnow
from vprime_shared.unit_of_work import UnitOfWork

from vprime_venues.catalog import CatalogReader as VenueSync
from vprime_venues.gmx.catalog import GmxSync
from vprime_venues.hyperliquid.catalog import HyperliquidSync
from vprime_venues.ostium.catalog import OstiumSync
from vprime_venues.spot.catalog import SpotSync

from vprime_router.adapters.repository import RouterRepository
from vprime_router.domain.catalog import VenueCatalog
from vprime_router.settings import RouterSettings
from vprime_router.state import RouterState

log = logging.getLogger(__name__)


def venue_adapters(s: RouterSettings) -> list[VenueSync]:
    books = s.url("venue_books_url", "/sim")
    return [
        HyperliquidSync(s.url("hyperliquid_api_url", "/hyperliquid")),
        OstiumSync(s.url("ostium_subgraph_url", "/ostium/subgraph"), s.url("ostium_prices_url", "/ostium/PricePublish/latest-prices"), books),
        GmxSync(s.url("gmx_api_url", "/gmx"), books),
        SpotSync(s.url("spot_api_url", "/spot"), books),
    ]


class CatalogSync:
    def __init__(self, state: RouterState, uow: UnitOfWork, adapters: list[VenueSync]) -> None:
        self.state, self.uow, self.adapters = state, uow, adapters
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0
        # One client for every round: its connections are kept alive, and its TLS context (costly to build) made once.
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(state.settings.sync_timeout_s))

    async def start(self) -> None:
        await self.sync_all()
        self._task = asyncio.create_task(self._loop(), name="catalog-sync")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self.http.aclose()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.state.settings.sync_interval_s)
            try:
                await self.sync_all()
            except Exception:  # a bad round must not end syncing
                log.exception("catalog sync round failed")

    async def sync_all(self) -> None:
        await asyncio.gather(*(self.sync_venue(self.http, adapter) for adapter in self.adapters))
        self.rounds += 1

    async def sync_venue(self, http: httpx.AsyncClient, adapter: VenueSync) -> MarketCatalog:
        venue: Venue = adapter.venue
        now = utcnow()
        try:
            markets = await adapter.markets(http)
            event = MarketCatalog(venue=venue, status=CatalogStatus.OK, synced_at=now, markets=markets)
            catalog = VenueCatalog.from_event(event)
            self.state.catalogs.put(catalog)
            for instrument in self.state.watchlist() & catalog.markets.keys():
                market = catalog.markets[instrument]
                try:
                    self.state.books[(venue, instrument)] = await adapter.book(http, market)
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    log.warning("book for %s %s not read: %s", venue, instrument, exc)
        except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("catalog sync of %s failed: %s", venue, error)
            self.state.catalogs.mark_failed(venue, error)
            self.state.breaker(venue).record_failure(now, f"sync failed: {error}")
            last = self.state.catalogs.get(venue)
            event = MarketCatalog(venue=venue, status=CatalogStatus.DEGRADED, synced_at=last.synced_at if last and last.synced_at else now,
                                  error=error)
        async with self.uow.begin() as tx:
            repo = RouterRepository(tx.conn)
            await repo.save_catalog(event)
            await repo.save_breaker(venue, self.state.breaker(venue))
            await tx.publish(event)
        return event
