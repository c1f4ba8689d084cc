"""The envelope every event shares."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from vprime_shared.ids import new_id


def utcnow() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    """A strict payload: unknown fields are an error, so a producer on a newer schema is noticed (DLQ), not half-read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Event(Contract):
    """Base of every Kafka payload. Subclasses name their topic and partition key."""

    TOPIC: ClassVar[str]

    event_id: uuid.UUID = Field(default_factory=new_id, description="UUIDv7; consumers deduplicate on it")
    occurred_at: datetime = Field(default_factory=utcnow)

    def partition_key(self) -> str:  # pragma: no cover - every concrete event overrides
        raise NotImplementedError


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"
