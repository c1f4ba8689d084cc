"""Routing's inputs from outside the trade path: venue market catalogs and routing configuration."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, field_validator

from vprime_shared.contracts.base import Contract, Event
from vprime_shared.contracts.common import Venue


class CatalogMarket(Contract):
    venue_symbol: str
    instrument: str = Field(description="canonical instrument id")
    asset_class: str
    max_leverage: float = Field(ge=1)
    sz_decimals: int | None = None
    contract_multiplier: float = Field(default=1.0, gt=0, description="canonical units per venue unit (kPEPE: 1000)")
    min_notional_usd: float = Field(default=0.0, ge=0)
    supports_short: bool = True
    is_delisted: bool = False
    is_open: bool = True
    keeps_market_hours: bool = False
    only_isolated: bool = Field(default=False, description="the venue takes isolated margin only on this market")
    taker_fee_bps: float = Field(ge=0)
    maker_fee_bps: float = Field(default=0.0, ge=0)
    funding_rate_hourly: float = Field(default=0.0, description="fraction per hour longs pay (negative: shorts pay)")
    mark_price: float | None = Field(default=None, gt=0, description="per canonical unit")
    bid: float | None = Field(default=None, gt=0)
    ask: float | None = Field(default=None, gt=0)


class CatalogStatus(StrEnum):
    OK = "OK"
    DEGRADED = "DEGRADED"


class MarketCatalog(Event):
    """One venue's full market list as the router last synced it (or why it could not)."""

    TOPIC: ClassVar[str] = "market.catalog.v1"

    venue: Venue
    status: CatalogStatus
    synced_at: datetime
    markets: list[CatalogMarket] = Field(default_factory=list)
    error: str | None = None

    def partition_key(self) -> str:
        return self.venue.value


class RoutingStrategy(StrEnum):
    FIRST_AVAILABLE = "FIRST_AVAILABLE"
    BEST_EXECUTION = "BEST_EXECUTION"


class RoutingConfigBody(Contract):
    venue_priority: list[Venue] = Field(min_length=1, description="ordered; used when a deployment names no order")
    routing_strategy: RoutingStrategy = RoutingStrategy.FIRST_AVAILABLE
    failover_enabled: bool = True
    max_attempts: int = Field(default=3, ge=1, le=10, description="venues tried for one intent, failovers included")

    @field_validator("venue_priority")
    @classmethod
    def _distinct(cls, venues: list[Venue]) -> list[Venue]:
        if len(set(venues)) != len(venues):
            raise ValueError("venue_priority lists a venue twice")
        return venues


class RoutingConfig(RoutingConfigBody, Event):
    """The global routing configuration (agent_id None) or one agent's, in full."""

    TOPIC: ClassVar[str] = "registry.routing-config.v1"

    agent_id: uuid.UUID | None = None

    def partition_key(self) -> str:
        return str(self.agent_id or "global")

    def body(self) -> RoutingConfigBody:
        return RoutingConfigBody.model_validate(self.model_dump(include=set(RoutingConfigBody.model_fields)))
