"""What upstream producers publish: posts, research notes, market ticks."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from vprime_shared.contracts.base import Event
from vprime_shared.contracts.common import Side


class Post(Event):
    TOPIC: ClassVar[str] = "context.posts.v1"

    post_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    author_handle: str
    text: str = Field(max_length=10_000)
    posted_at: datetime

    def partition_key(self) -> str:
        return self.account_id


class Research(Event):
    TOPIC: ClassVar[str] = "context.research.v1"

    research_id: str = Field(min_length=1)
    institute_id: str = Field(min_length=1)
    text: str = Field(max_length=100_000)
    instrument: str | None = None
    side: Side | None = None
    conviction: float = Field(ge=0, le=1)
    published_at: datetime

    def partition_key(self) -> str:
        return self.institute_id


class MarketTick(Event):
    TOPIC: ClassVar[str] = "market.ticks.v1"

    venue: str
    instrument: str
    bid: float = Field(gt=0)
    ask: float = Field(gt=0)
    mid: float = Field(gt=0)
    ts: datetime

    def partition_key(self) -> str:
        return self.instrument
