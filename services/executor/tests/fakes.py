"""In-memory stand-ins for the executor's edges: its repository (orders, positions, prices, outbox) and a venue.
Handlers take them as they take the Postgres ones; nothing is patched."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vprime_shared.contracts import MarketTick, Order, Position, PositionState, Venue
from vprime_shared.contracts.base import Event, utcnow
from vprime_venues.execution import Signer, VenueFill, VenueRefused

from vprime_executor.adapters.prices import PriceSnapshot
from vprime_executor.adapters.repository import Resolution, Unresolved, Watched
from vprime_executor.domain.closes import Closing
from vprime_executor.venues import Route


@dataclass
class StoredPosition:
    position: Position
    best_price: float
    mode: str
    watched: bool = True
    closing_since: datetime | None = None
    close_reason: str | None = None
    close_attempt: int = 0


class InMemoryRepository:
    """The executor's tables as dicts. Its transactions are not isolated: a test runs one thing at a time."""

    def __init__(self) -> None:
        self.orders: dict[uuid.UUID, dict[str, Any]] = {}
        self.positions: dict[uuid.UUID, StoredPosition] = {}
        self.mids: dict[tuple[str, str], float] = {}
        self.published: list[Event] = []

    # Store: every repository is this one
    @property
    def outside(self) -> InMemoryRepository:
        return self

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[InMemoryRepository]:
        yield self

    statement = begin

    async def publish(self, event: Event) -> None:
        self.published.append(event)

    # orders
    async def claim(self, orders: list[Order], modes: list[str], instance_id: uuid.UUID | None) -> set[uuid.UUID]:
        new = {o.order_id for o in orders if o.order_id not in self.orders}
        for o, mode in zip(orders, modes, strict=True):
            if o.order_id in new:
                self.orders[o.order_id] = {"order": o, "status": "SENDING", "mode": mode, "claimed_by": instance_id,
                                           "unknown_since": None}
        return new

    async def resolve(self, resolutions: list[Resolution]) -> set[uuid.UUID]:
        resolved = set()
        for r in resolutions:
            row = self.orders.setdefault(r.order.order_id, {"order": r.order, "status": "SENDING", "mode": r.mode})
            if row["status"] != "SENDING":
                continue
            row["status"] = r.execution.status.value
            resolved.add(r.order.order_id)
            self.published.append(r.execution)
            if r.position is not None:
                self.positions[r.position.position_id] = StoredPosition(r.position, r.position.entry_price, r.mode, r.watched)
                self.published.append(r.position)
        return resolved

    async def mark_unknown(self, order_id: uuid.UUID, reason: str) -> None:
        self.orders[order_id]["unknown_since"] = self.orders[order_id].get("unknown_since") or utcnow()

    async def unresolved_orders(self, created_before: datetime, instance_id: uuid.UUID | None,
                                dead_before: datetime) -> list[Unresolved]:
        return [Unresolved(r["order"], r.get("claimed_by"), r.get("unknown_since"), r["mode"])
                for r in self.orders.values() if r["status"] == "SENDING"]

    async def take_over(self, order_id: uuid.UUID, instance_id: uuid.UUID | None, previous: uuid.UUID | None) -> bool:
        self.orders[order_id]["claimed_by"] = instance_id
        return True

    async def heartbeat(self, instance_id: uuid.UUID) -> None:
        pass

    # prices
    async def record_price(self, tick: MarketTick) -> None:
        self.mids[(tick.venue.upper(), tick.instrument.upper())] = tick.mid

    async def prices(self, wanted: Iterable[tuple[str, str]]) -> PriceSnapshot:
        return PriceSnapshot(dict(self.mids))

    @staticmethod
    def prices_at(mids: dict[tuple[str, str], float]) -> PriceSnapshot:
        return PriceSnapshot(mids)

    # positions
    async def watched_positions(self, venue: str, instrument: str) -> list[Watched]:
        return [Watched(s.position, s.best_price) for s in self.positions.values()
                if (s.position.venue.value, s.position.instrument.upper()) == (venue.upper(), instrument.upper())
                and s.position.state is PositionState.OPEN and s.watched and s.closing_since is None]

    async def move_best_price(self, position_id: uuid.UUID, best_price: float) -> None:
        self.positions[position_id].best_price = best_price

    async def start_close(self, position_id: uuid.UUID, best_price: float, reason: str) -> int:
        s = self.positions[position_id]
        s.best_price, s.closing_since, s.close_reason, s.close_attempt = best_price, utcnow(), reason, s.close_attempt + 1
        return s.close_attempt

    async def release_close(self, position_id: uuid.UUID) -> None:
        self.positions[position_id].closing_since = None

    async def close_position(self, closed: Position) -> bool:
        s = self.positions[closed.position_id]
        if s.position.state is not PositionState.OPEN:
            return False
        s.position = closed
        return True

    async def closing_positions(self, before: datetime) -> list[Closing]:
        return [Closing(s.position, s.close_reason or "recovered close", s.close_attempt) for s in self.positions.values()
                if s.position.state is PositionState.OPEN and s.closing_since is not None and s.closing_since < before]

    async def open_positions_by_venue(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.positions.values():
            if s.position.state is PositionState.OPEN:
                counts[s.position.venue.value] = counts.get(s.position.venue.value, 0) + 1
        return counts


SIGNER = Signer("0x" + "a" * 40, None, "0x" + "b" * 40)


@dataclass
class FakeVenue:
    """A venue that fills at `price`, refuses the first `refuse_closes` closes, and remembers each client id it was sent
    (placed or closed) and asked about."""

    venue: Venue = Venue.HYPERLIQUID
    price: float = 100.0
    refuse_closes: int = 0
    sent: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    filled: dict[str, VenueFill] = field(default_factory=dict)

    async def equity(self, signer: Signer | None) -> float:
        return 1_000.0

    async def place(self, signer: Signer | None, order: Order, notional_usd: float, client_id: str) -> VenueFill:
        self.sent.append(client_id)
        self.filled[client_id] = VenueFill(self.price, notional_usd / self.price, notional_usd, 0.0, f"v-{len(self.sent)}")
        return self.filled[client_id]

    async def status(self, signer: Signer | None, order: Order, client_id: str) -> VenueFill | None:
        self.asked.append(client_id)
        return self.filled.get(client_id)

    async def close(self, signer: Signer | None, position: Position, client_id: str) -> VenueFill:
        if client_id in self.sent:
            raise VenueRefused("Duplicate cloid", venue_specific=False)  # as Hyperliquid answers a cloid it has seen
        self.sent.append(client_id)
        if self.refuse_closes:
            self.refuse_closes -= 1
            raise VenueRefused("Order could not immediately match against any resting orders.", venue_specific=False)
        self.filled[client_id] = VenueFill(self.price, position.qty, position.qty * self.price, 0.0, f"v-{len(self.sent)}")
        return self.filled[client_id]

    async def positions(self, signer: Signer | None) -> dict[str, float]:
        return {}


class OnlyVenue:
    """A venue router whose every deployment holds a key for `venue`."""

    def __init__(self, venue: FakeVenue, settings: Any) -> None:
        self.venue = venue
        self.settings = settings

    async def routes(self, wanted: Iterable[tuple[uuid.UUID, Venue]]) -> dict[tuple[uuid.UUID, Venue], Route]:
        return {pair: Route(self.venue, SIGNER) for pair in wanted}  # type: ignore[arg-type]

    async def recorded_routes(self, wanted: Iterable[tuple[uuid.UUID, Venue, str]]) -> dict[tuple[uuid.UUID, Venue, str], Route | None]:
        return {key: Route(self.venue, SIGNER) for key in wanted}  # type: ignore[arg-type]
