"""Control-plane state, published in full on every change to compacted topics."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from vprime_shared.contracts.base import Event
from vprime_shared.contracts.common import RequestedVenue, Venue
from vprime_shared.contracts.policy import DeploymentPolicy


class AgentStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"


class AgentState(Event):
    TOPIC: ClassVar[str] = "registry.agents.v1"

    agent_id: uuid.UUID
    creator_wallet: str
    name: str
    venue: RequestedVenue
    status: AgentStatus
    x_account_ids: list[str] = Field(default_factory=list)
    research_institute_ids: list[str] = Field(default_factory=list)
    weights: dict[str, float] = Field(default_factory=dict)
    profit_receiver_address: str
    signal_threshold: float = Field(default=0.6, ge=0, le=1, description="confidence a scored signal must reach")
    created_at: datetime

    def partition_key(self) -> str:
        return str(self.agent_id)


class DeploymentStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"


class DeploymentState(Event):
    """A deployment of an agent to a user's wallet. Carries no secrets: only which venues have credentials."""

    TOPIC: ClassVar[str] = "registry.deployments.v1"

    deployment_id: uuid.UUID
    agent_id: uuid.UUID
    user_wallet: str
    status: DeploymentStatus
    enabled_venues: list[Venue] = Field(min_length=1, description="ordered: the deployment's venue priority")
    venue_accounts: dict[Venue, str] = Field(default_factory=dict, description="public agent address per venue")
    policy: DeploymentPolicy = Field(default_factory=DeploymentPolicy)
    resumed_at: datetime | None = Field(default=None, description="last resume: losses before it no longer halt entries")
    created_at: datetime

    def partition_key(self) -> str:
        return str(self.deployment_id)
