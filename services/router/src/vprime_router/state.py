"""What the router keeps in memory to decide in microseconds: catalogs, books, breakers, routing
configuration. Loaded from the router's schema at start, kept current by sync and events."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vprime_shared.contracts import RoutingConfigBody, Venue

from vprime_shared.orderbook import Book
from vprime_router.domain.catalog import Catalogs
from vprime_router.domain.health import CircuitBreaker
from vprime_router.domain.routing import DEFAULT_CONFIG, RoutingContext
from vprime_router.settings import RouterSettings

VENUES = tuple(Venue)


@dataclass
class RouterState:
    settings: RouterSettings
    catalogs: Catalogs = field(default_factory=Catalogs)
    books: dict[tuple[Venue, str], Book] = field(default_factory=dict)
    breakers: dict[Venue, CircuitBreaker] = field(default_factory=dict)
    global_config: RoutingConfigBody = DEFAULT_CONFIG
    agent_configs: dict[uuid.UUID, RoutingConfigBody] = field(default_factory=dict)
    recently_routed: dict[str, float] = field(default_factory=dict)  # instrument → monotonic time

    def __post_init__(self) -> None:
        self.stale_after = timedelta(seconds=self.settings.stale_after_s)

    def breaker(self, venue: Venue) -> CircuitBreaker:
        if venue not in self.breakers:
            self.breakers[venue] = CircuitBreaker(self.settings.breaker_failures, timedelta(seconds=self.settings.breaker_open_s))
        return self.breakers[venue]

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
