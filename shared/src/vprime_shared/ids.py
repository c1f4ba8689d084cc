"""Identifiers.

Fresh ids are UUIDv7 (time-ordered, index friendly). Ids of things derived from
other things are UUIDv5 over the parent ids, so a redelivered or re-run step
computes the same id and cannot create a second intent, order or position.
"""

from __future__ import annotations

import uuid

from uuid_utils.compat import uuid5 as _uuid5  # the standard's algorithm, in Rust: half the cost of uuid.uuid5
from uuid_utils.compat import uuid7 as _uuid7

# Fixed namespace for every derived id in Vprime; changing it would break idempotency.
VPRIME_NAMESPACE = uuid.UUID("6f1d7a3e-2b7c-5b61-9c1e-7a55e0c1d2a4")


def new_id() -> uuid.UUID:
    return _uuid7()


def derived_id(kind: str, *parts: object) -> uuid.UUID:
    """A deterministic id for `kind` derived from `parts` (e.g. an intent from signal + deployment)."""
    return _uuid5(VPRIME_NAMESPACE, "/".join([kind, *(str(p) for p in parts)]))


def intent_id(signal_id: uuid.UUID, deployment_id: uuid.UUID | None, drive: int) -> uuid.UUID:
    return derived_id("intent", signal_id, deployment_id or "no-deployment", drive)


def order_id(intent_id_: uuid.UUID, attempt: int) -> uuid.UUID:
    return derived_id("order", intent_id_, attempt)


def decision_id(intent_id_: uuid.UUID, attempt: int) -> uuid.UUID:
    return derived_id("decision", intent_id_, attempt)


def position_id(order_id_: uuid.UUID) -> uuid.UUID:
    return derived_id("position", order_id_)


def client_order_id(order_id_: uuid.UUID) -> str:
    """The venue-side client order id (Hyperliquid `cloid`: 16 bytes as 0x-hex) derived from our order id."""
    return "0x" + order_id_.hex
