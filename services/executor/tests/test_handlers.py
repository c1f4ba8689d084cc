"""The executor's handlers on in-memory edges (`fakes`): a repository of dicts, a venue that refuses when told.

Sending orders: a venue call holds one of the limited slots, the resolution that follows does not. Paper is a route
like any other. Closes: each attempt has its own client id, so a refused close is retried as a new order, and a close
a crash interrupted is looked up by the id of the attempt in flight before anything is sent."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from types import SimpleNamespace

from vprime_shared.batches import Received
from vprime_shared.contracts import Execution, MarketTick, Order, Position, PositionState, RiskModel, Side, Venue
from vprime_shared.contracts.base import utcnow

from vprime_executor.adapters.credentials import CredentialStore
from vprime_executor.domain.closes import close_client_id
from vprime_executor.handlers import Resolutions, claim_orders, close_positions, send_order, tick_received, tick_prices
from vprime_executor.recovery import recover
from vprime_executor.settings import ExecutorSettings
from vprime_executor.venues import Route, VenueRouter

from services.executor.tests.fakes import FakeVenue, InMemoryRepository, OnlyVenue

SETTINGS = SimpleNamespace(paper_equity_usd=10_000.0)


def paper_only() -> VenueRouter:
    """An executor with no venue API: every order goes to paper."""
    return VenueRouter(ExecutorSettings(venue_api_url=""), None, CredentialStore(None))


class HeldResolutions:
    """Resolutions that wait to be released: a shared transaction still running."""

    def __init__(self) -> None:
        self.waiting: list[Order] = []
        self.release = asyncio.Event()

    async def resolve(self, order: Order, outcome: object, route: Route) -> str:
        self.waiting.append(order)
        await self.release.wait()
        return f"resolved {order.order_id}"


def an_order(*, stop: float | None = None, instrument: str = "ETH") -> Order:
    return Order(order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(), agent_id=uuid.uuid4(),
                 deployment_id=uuid.uuid4(), venue=Venue.HYPERLIQUID, venue_symbol=instrument, instrument=instrument, side=Side.LONG,
                 size_pct=10, leverage=1, taker_fee_bps=4.5,
                 risk_model=RiskModel(type="trailing-stop", stop=stop) if stop else RiskModel(type="none"))


def a_tick(mid: float, instrument: str = "ETH") -> MarketTick:
    return MarketTick(venue="HYPERLIQUID", instrument=instrument, bid=mid, ask=mid, mid=mid, ts=utcnow())


async def test_an_order_waiting_for_its_resolution_leaves_its_venue_call_slot_to_the_next() -> None:
    route = paper_only().paper_route(Venue.HYPERLIQUID).priced(InMemoryRepository().prices_at({("HYPERLIQUID", "ETH"): 100.0}))
    resolutions, slots = HeldResolutions(), asyncio.Semaphore(1)
    orders = [an_order(), an_order()]
    sends = [asyncio.create_task(send_order(InMemoryRepository(), o, route, resolutions, venue_calls=slots))  # type: ignore[arg-type]
             for o in orders]

    async with asyncio.timeout(2):  # one slot, and both orders placed while the first resolution is still open
        while len(resolutions.waiting) < 2:
            await asyncio.sleep(0.005)
    assert not slots.locked()

    resolutions.release.set()
    assert await asyncio.gather(*sends) == [f"resolved {o.order_id}" for o in orders]


async def test_a_paper_order_is_claimed_filled_and_closed_through_the_same_protocol_as_a_venues() -> None:
    repo, venues = InMemoryRepository(), paper_only()
    await repo.record_price(a_tick(2000.0))
    order = an_order(stop=0.05)
    [claimed] = await claim_orders(repo, [Received(order, {})], venues)  # type: ignore[arg-type]
    assert claimed.route.mode == "paper" and claimed.route.adapter.venue is Venue.HYPERLIQUID
    assert repo.orders[order.order_id]["mode"] == "paper"

    execution = await send_order(repo, order, claimed.route, Resolutions(repo, venues))  # type: ignore[arg-type]
    assert isinstance(execution, Execution) and execution.status.value == "FILLED" and execution.reason == "filled on paper"
    [opened] = [e for e in repo.published if isinstance(e, Position)]
    assert opened.venue is Venue.HYPERLIQUID and opened.extra["mode"] == "paper"
    assert opened.entry_price == 2000.0 * (1 + 2 / 10_000) and opened.notional_usd == 1_000.0  # 10 % of 10,000 at 1x

    closing = await tick_received(repo, a_tick(1800.0))  # 10 % down: the 5 % trailing stop closes it, at this tick
    [closed] = await close_positions(repo, venues, closing, at=tick_prices(a_tick(1800.0)))  # type: ignore[arg-type]
    assert closed.state is PositionState.CLOSED and closed.exit_price == 1800.0 * (1 - 2 / 10_000)
    assert closed.close_reason.startswith("trailing_stop")


async def open_on_venue(repo: InMemoryRepository, venue: FakeVenue) -> tuple[Position, OnlyVenue]:
    venues = OnlyVenue(venue, SETTINGS)
    order = an_order(stop=0.05)
    [claimed] = await claim_orders(repo, [Received(order, {})], venues)  # type: ignore[arg-type]
    await send_order(repo, order, claimed.route, Resolutions(repo, venues))  # type: ignore[arg-type]
    [position] = [s.position for s in repo.positions.values()]
    return position, venues


async def test_a_close_the_venue_refuses_is_retried_under_a_new_client_id_and_fills() -> None:
    repo, venue = InMemoryRepository(), FakeVenue(price=100.0, refuse_closes=1)
    position, venues = await open_on_venue(repo, venue)

    closing = await tick_received(repo, a_tick(90.0))
    assert [c.attempt for c in closing] == [1]
    assert await close_positions(repo, venues, closing) == []  # type: ignore[arg-type]
    assert repo.positions[position.position_id].closing_since is None  # refused: open, for the next tick to close

    closing = await tick_received(repo, a_tick(89.0))
    assert [c.attempt for c in closing] == [2]
    [closed] = await close_positions(repo, venues, closing)  # type: ignore[arg-type]
    first, second = close_client_id(position.position_id, 1), close_client_id(position.position_id, 2)
    assert first != second and venue.sent[1:] == [first, second]  # after the opening order: two closes, two ids
    assert closed.state is PositionState.CLOSED and closed in repo.published


async def test_a_close_a_crash_interrupted_is_looked_up_by_its_attempts_id_and_not_sent_again() -> None:
    repo, venue = InMemoryRepository(), FakeVenue(price=100.0, refuse_closes=1)
    position, venues = await open_on_venue(repo, venue)
    await close_positions(repo, venues, await tick_received(repo, a_tick(90.0)))  # type: ignore[arg-type]  # attempt 1 refused
    await tick_received(repo, a_tick(89.0))  # attempt 2 marked CLOSING ...
    in_flight = close_client_id(position.position_id, 2)
    venue.sent.append(in_flight)  # ... sent and filled on the venue, and the executor died before recording it
    venue.filled[in_flight] = await venue.place(None, an_order(), 89.0 * position.qty, "0xunused")
    sent_before = list(venue.sent)

    await recover(repo, venues, set(), grace=timedelta(seconds=-1))  # type: ignore[arg-type]
    assert venue.asked == [in_flight] and venue.sent == sent_before  # looked up, found, not sent again
    assert repo.positions[position.position_id].position.state is PositionState.CLOSED
