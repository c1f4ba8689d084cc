"""Every event that crosses a service boundary, one module per topic family.

`EVENT_TYPES` maps a topic to its payload model; `topic_of` and `key_of` say where
an event goes and how it is partitioned.
"""

from vprime_shared.contracts.base import Event, dead_letter_topic
from vprime_shared.contracts.common import MULTI, RequestedVenue, Side, SizeModel, RiskModel, Venue, GLOBAL_VENUE_PRIORITY
from vprime_shared.contracts.context import MarketTick, Post, Research
from vprime_shared.contracts.policy import DeploymentPolicy, TradingWindow, VenueBias
from vprime_shared.contracts.routing import (
    CatalogMarket,
    CatalogStatus,
    MarketCatalog,
    RoutingConfig,
    RoutingConfigBody,
    RoutingStrategy,
)
from vprime_shared.contracts.registry import (
    AgentState,
    AgentStatus,
    DeploymentState,
    DeploymentStatus,
)
from vprime_shared.contracts.trading import (
    Execution,
    ExecutionStatus,
    Intent,
    IntentStatus,
    Order,
    Position,
    PositionState,
    RoutingDecision,
    RuleOutcome,
    ScoreBreakdown,
    Signal,
    SignalOrigin,
    VenueCheck,
    VenueCost,
)

EVENT_TYPES: dict[str, type[Event]] = {
    model.TOPIC: model
    for model in (
        Post,
        Research,
        MarketTick,
        MarketCatalog,
        AgentState,
        RoutingConfig,
        DeploymentState,
        Signal,
        Intent,
        RoutingDecision,
        Order,
        Execution,
        Position,
    )
}

__all__ = [
    "EVENT_TYPES",
    "GLOBAL_VENUE_PRIORITY",
    "MULTI",
    "AgentState",
    "AgentStatus",
    "CatalogMarket",
    "CatalogStatus",
    "MarketCatalog",
    "RoutingConfig",
    "RoutingConfigBody",
    "RoutingStrategy",
    "VenueCost",
    "DeploymentPolicy",
    "DeploymentState",
    "DeploymentStatus",
    "Event",
    "Execution",
    "ExecutionStatus",
    "Intent",
    "IntentStatus",
    "MarketTick",
    "Order",
    "Position",
    "PositionState",
    "Post",
    "RequestedVenue",
    "Research",
    "RiskModel",
    "RoutingDecision",
    "RuleOutcome",
    "ScoreBreakdown",
    "Side",
    "Signal",
    "SignalOrigin",
    "SizeModel",
    "TradingWindow",
    "Venue",
    "VenueBias",
    "VenueCheck",
    "dead_letter_topic",
]
