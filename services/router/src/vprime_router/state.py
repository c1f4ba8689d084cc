"""What the router keeps in memory to decide in microseconds: catalogs, books, breakers, routing
configuration. Loaded from the router's schema at start, kept current by sync and events. Besides, how this
process's catalog syncs went, per venue: what its readiness reports."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from vprime_shared.contracts import RoutingConfigBody, Venue

from vprime_shared.orderbook import Book
from vprime_router.domain.catalog import Catalogs
from vprime_router.domain.health import CircuitBreaker
from vprime_router.domain.routing import DEFAULT_CONFIG, RoutingContext
from vprime_router.settings import RouterSettings

VENUES = tuple(Venue)


class Freshness(StrEnum):
    PENDING = "pending"  # not tried yet
    FRESH = "fresh"  # its last sync succeeded, within STALE_AFTER_S
    DEGRADED = "degraded"  # its last sync failed (or is older than STALE_AFTER_S); being retried
    DOWN = "down"  # failed SYNC_RETRIES retries in a row; still retried, at the longest delay


@dataclass
class SyncRecord:
    """How this process's syncs of one venue went. The catalog loaded from the schema at start does not count: a
    venue is synced once this process has read it."""

    synced_at: datetime | None = None  # this process's last good sync
    failures: int = 0  # failed syncs in a row since then
    error: str | None = None  # the last failure's
    breaker_counted_at: datetime | None = None  # when a failure of this run last counted on the venue's breaker

    def succeeded(self, now: datetime) -> None:
        self.synced_at, self.failures, self.error, self.breaker_counted_at = now, 0, None, None

    def failed(self, error: str) -> None:
        self.failures += 1
        self.error = error

    def down(self, retries: int) -> bool:
        """The first try and every retry failed."""
        return self.failures > retries

    def settled(self, retries: int) -> bool:
        """Synced once by this process, or down: all readiness waits for."""
        return self.synced_at is not None or self.down(retries)

    def freshness(self, now: datetime, stale_after: timedelta, retries: int) -> Freshness:
        if self.down(retries):
            return Freshness.DOWN
        if self.failures:
            return Freshness.DEGRADED
        if self.synced_at is None:
            return Freshness.PENDING
        return Freshness.FRESH if now - self.synced_at <= stale_after else Freshness.DEGRADED

    def describe(self, now: datetime, stale_after: timedelta, retries: int) -> dict[str, Any]:
        status = self.freshness(now, stale_after, retries)
        error = self.error
        if error is None and status is Freshness.DEGRADED and self.synced_at is not None:
            error = f"stale: last sync {(now - self.synced_at).total_seconds():.0f}s ago"
        return {"status": status.value, "synced_at": self.synced_at.isoformat() if self.synced_at else None,
                "error": error, "failures": self.failures}


@dataclass
class RouterState:
    settings: RouterSettings
    catalogs: Catalogs = field(default_factory=Catalogs)
    books: dict[tuple[Venue, str], Book] = field(default_factory=dict)
    breakers: dict[Venue, CircuitBreaker] = field(default_factory=dict)
    global_config: RoutingConfigBody = DEFAULT_CONFIG
    agent_configs: dict[uuid.UUID, RoutingConfigBody] = field(default_factory=dict)
    recently_routed: dict[str, float] = field(default_factory=dict)  # instrument → monotonic time
    syncs: dict[Venue, SyncRecord] = field(default_factory=dict)  # the venues this process syncs

    def __post_init__(self) -> None:
        self.stale_after = timedelta(seconds=self.settings.stale_after_s)

    def breaker(self, venue: Venue) -> CircuitBreaker:
        if venue not in self.breakers:
            self.breakers[venue] = CircuitBreaker(self.settings.breaker_failures, timedelta(seconds=self.settings.breaker_open_s))
        return self.breakers[venue]

    def syncing(self, venue: Venue) -> SyncRecord:
        if venue not in self.syncs:
            self.syncs[venue] = SyncRecord()
        return self.syncs[venue]

    def catalog_readiness(self, now: datetime) -> tuple[bool, dict[str, Any]]:
        """Ready once every synced venue has synced once or is down; per venue, its freshness. A router on the shipped
        catalog (`CATALOG_SOURCE=fixture`) syncs nothing and is ready with every venue fresh."""
        retries = self.settings.sync_retries
        if self.settings.catalog_source == "fixture":
            venues = {}
            for venue in VENUES:
                catalog = self.catalogs.get(venue)
                synced_at = catalog.synced_at.isoformat() if catalog and catalog.synced_at else None
                venues[venue.value] = {"status": Freshness.FRESH.value, "synced_at": synced_at, "error": None, "failures": 0}
            return True, {"source": "fixture", "venues": venues}
        ready = bool(self.syncs) and all(s.settled(retries) for s in self.syncs.values())
        venues = {venue.value: s.describe(now, self.stale_after, retries) for venue, s in self.syncs.items()}
        return ready, {"source": "sync", "venues": venues}

    def config_for(self, agent_id: uuid.UUID) -> tuple[RoutingConfigBody | None, RoutingConfigBody]:
        """(the agent's config if it has one, the global config)."""
        return self.agent_configs.get(agent_id), self.global_config

    def effective_config(self, agent_id: uuid.UUID) -> RoutingConfigBody:
        return self.agent_configs.get(agent_id) or self.global_config

    def context(self, now: datetime) -> RoutingContext:
        """What a decision reads (asked once per decision, so kept to references)."""
        if len(self.breakers) < len(VENUES):  # every venue has a breaker before a decision reads them
            for venue in VENUES:
                self.breaker(venue)
        return RoutingContext(
            catalogs=self.catalogs, books=self.books, breakers=self.breakers, now=now,
            stale_after=self.stale_after, leverage_mode=self.settings.leverage_mode,
            expected_hold_hours=self.settings.expected_hold_hours,
        )

    def watch(self, instrument: str) -> None:
        self.recently_routed[instrument.upper()] = time.monotonic()

    def watchlist(self, horizon_s: float = 3600) -> set[str]:
        now = time.monotonic()
        recent = {i for i, t in self.recently_routed.items() if now - t < horizon_s}
        return recent | {i.strip().upper() for i in self.settings.book_watchlist.split(",") if i.strip()}
