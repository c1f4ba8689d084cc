"""The trade path: signal → intent → routing decision → order → execution → position."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import Field

from vprime_shared.contracts.base import Contract, Event
from vprime_shared.contracts.common import RequestedVenue, RiskModel, Side, SizeModel, Venue


class SignalOrigin(StrEnum):
    MANUAL = "MANUAL"
    SCORED = "SCORED"


class ScoreBreakdown(Contract):
    """Why Agent What emitted a scored signal: the evidence in its window and how it added up."""

    model: str
    window_minutes: float
    half_life_minutes: float
    bullish: float = Field(ge=0, description="decayed, weighted evidence for LONG")
    bearish: float = Field(ge=0, description="decayed, weighted evidence for SHORT")
    agreement: float = Field(ge=0, le=1, description="|bullish - bearish| / (bullish + bearish)")
    evidence_factor: float = Field(ge=0, le=1, description="1 - exp(-(bullish + bearish)): more evidence, more confidence")
    momentum_factor: float = Field(ge=0, description="market momentum's scaling (never flips the side)")
    confidence: float = Field(ge=0, le=1)
    threshold: float = Field(ge=0, le=1)
    posts: int = Field(ge=0)
    research: int = Field(ge=0)


class Signal(Event):
    """A venue-agnostic trading signal from Agent What (or a user, by hand)."""

    TOPIC: ClassVar[str] = "signals.v1"

    signal_id: uuid.UUID
    agent_id: uuid.UUID
    instrument: str = Field(min_length=1, description="canonical instrument id, e.g. ETH, GOLD, EURUSD")
    side: Side
    size_model: SizeModel
    risk_model: RiskModel
    confidence: float = Field(ge=0, le=1)
    requested_venue: RequestedVenue
    origin: SignalOrigin
    source_tweets: list[str] = Field(default_factory=list)
    source_research: list[str] = Field(default_factory=list)
    drive: int = Field(default=0, ge=0, description="0 for the first run; each re-drive increments it")
    score: ScoreBreakdown | None = Field(default=None, description="for scored signals: the evidence breakdown")

    def partition_key(self) -> str:
        return str(self.agent_id)


class IntentStatus(StrEnum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class RuleOutcome(Contract):
    """One policy rule that fired, with the values it saw."""

    rule: str
    detail: str


class Intent(Event):
    """Agent How's verdict on one signal for one deployment."""

    TOPIC: ClassVar[str] = "intents.v1"

    intent_id: uuid.UUID
    signal_id: uuid.UUID
    agent_id: uuid.UUID
    deployment_id: uuid.UUID | None = Field(description="None when the agent had no active deployment")
    drive: int = 0
    status: IntentStatus
    reasons: list[RuleOutcome] = Field(default_factory=list)
    instrument: str
    side: Side
    size_type: Literal["percentage", "fixed-usdc"] = "percentage"
    size_pct: float = Field(ge=0, description="percentage: % of equity; fixed-usdc: USDC of margin")
    leverage: float = Field(ge=1)
    risk_model: RiskModel
    requested_venue: RequestedVenue
    venue_preference: list[Venue] = Field(default_factory=list)
    excluded_venues: list[Venue] = Field(default_factory=list)
    notional_usd: float = Field(default=0.0, ge=0, description="expected position notional: size x equity x leverage")
    adjustments: list[RuleOutcome] = Field(default_factory=list, description="changes made to an approved intent")

    def partition_key(self) -> str:
        return str(self.deployment_id or self.agent_id)


class VenueCheck(Contract):
    available: bool
    reason: str
    venue_symbol: str | None = None


class VenueCost(Contract):
    """Expected all-in cost of the order on one venue, in basis points of its notional."""

    fee_bps: float
    half_spread_bps: float
    impact_bps: float
    funding_bps: float
    total_bps: float


class RoutingDecision(Event):
    """Agent Where's choice for one intent, with the evidence for it."""

    TOPIC: ClassVar[str] = "routing.decisions.v1"

    decision_id: uuid.UUID
    intent_id: uuid.UUID
    signal_id: uuid.UUID
    agent_id: uuid.UUID
    deployment_id: uuid.UUID
    instrument: str
    side: Side
    requested_venue: RequestedVenue
    selected_venue: Venue | None
    reason: str
    checked_venues: list[Venue]
    venue_availability: dict[str, VenueCheck]
    scores: dict[str, float] = Field(default_factory=dict)
    costs: dict[str, VenueCost] = Field(default_factory=dict, description="BEST_EXECUTION: per venue")
    strategy: str
    attempt: int = 1
    failed_venues: list[Venue] = Field(default_factory=list, description="venues earlier attempts failed on")
    duration_ms: float = Field(ge=0)
    duration_us: float = Field(default=0.0, ge=0)

    def partition_key(self) -> str:
        return str(self.deployment_id)


class Order(Event):
    TOPIC: ClassVar[str] = "orders.v1"

    order_id: uuid.UUID
    intent_id: uuid.UUID
    signal_id: uuid.UUID
    agent_id: uuid.UUID
    deployment_id: uuid.UUID
    venue: Venue
    venue_symbol: str
    contract_multiplier: float = Field(default=1.0, gt=0, description="canonical units per venue unit")
    instrument: str
    side: Side
    size_type: Literal["percentage", "fixed-usdc"] = "percentage"
    size_pct: float
    leverage: float
    taker_fee_bps: float = Field(ge=0)
    risk_model: RiskModel
    attempt: int = 1

    def partition_key(self) -> str:
        return str(self.deployment_id)


class ExecutionStatus(StrEnum):
    FILLED = "FILLED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"


class Execution(Event):
    TOPIC: ClassVar[str] = "executions.v1"

    order_id: uuid.UUID
    intent_id: uuid.UUID
    signal_id: uuid.UUID
    deployment_id: uuid.UUID
    venue: Venue
    status: ExecutionStatus
    fill_price: float | None = None
    qty: float | None = None
    fee: float | None = None
    venue_order_id: str | None = None
    client_order_id: str
    attempt: int = Field(default=0, ge=0, description="the order's attempt for its intent (1 = first venue); 0: not said")
    retryable: bool = False
    venue_specific: bool = Field(default=False, description="the refusal is about this venue; another may take it")
    reason: str = ""

    def partition_key(self) -> str:
        return str(self.deployment_id)


class PositionState(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class Position(Event):
    TOPIC: ClassVar[str] = "positions.v1"

    position_id: uuid.UUID
    order_id: uuid.UUID
    intent_id: uuid.UUID
    signal_id: uuid.UUID
    agent_id: uuid.UUID
    deployment_id: uuid.UUID
    venue: Venue
    venue_symbol: str
    instrument: str
    side: Side
    state: PositionState
    entry_price: float
    exit_price: float | None = None
    qty: float
    notional_usd: float
    size_pct: float = Field(ge=0, description="margin as % of the account's equity at entry")
    equity_usd: float = Field(gt=0, description="the account's equity the size was taken from")
    leverage: float
    fees_usd: float = 0.0
    realized_pnl_usd: float | None = None
    close_reason: str | None = None
    opened_at: datetime
    closed_at: datetime | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def partition_key(self) -> str:
        return str(self.deployment_id)
