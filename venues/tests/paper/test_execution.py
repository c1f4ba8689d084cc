"""PAPER speaks the execution protocol of every venue: equity, place, status, close, positions."""

from __future__ import annotations

import uuid

import pytest

from vprime_shared.contracts import Order, Position, PositionState, RiskModel, Side, Venue
from vprime_shared.contracts.base import utcnow
from vprime_venues.execution import VenueRefused
from vprime_venues.paper.execution import NoPrice, PaperVenue


class Ticks:
    """The last mid per (venue, instrument), as the executor's price book answers."""

    def __init__(self, mids: dict[tuple[str, str], float]) -> None:
        self.mids = mids

    async def latest(self, venue: str, instrument: str) -> float | None:
        return self.mids.get((venue, instrument.upper()))


def an_order(instrument: str = "ETH", side: Side = Side.LONG) -> Order:
    return Order(order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(), agent_id=uuid.uuid4(),
                 deployment_id=uuid.uuid4(), venue=Venue.HYPERLIQUID, venue_symbol=instrument, instrument=instrument, side=side,
                 size_pct=10, leverage=2, taker_fee_bps=4.5, risk_model=RiskModel(type="none"))


def paper(prices: Ticks | None, references: dict[str, float] | None = None) -> PaperVenue:
    return PaperVenue(Venue.HYPERLIQUID, prices, references or {}, equity_usd=10_000, slippage_bps=2)


async def test_an_order_fills_at_the_venues_latest_tick_for_its_notional() -> None:
    venue = paper(Ticks({("HYPERLIQUID", "ETH"): 2000.0}))
    assert venue.paper and venue.venue is Venue.HYPERLIQUID
    assert await venue.equity(None) == 10_000
    fill = await venue.place(None, an_order(), 2_000.0, "0x" + "ab" * 16)
    assert fill.price == pytest.approx(2000.4) and fill.qty == pytest.approx(2_000 / 2000.4)
    assert fill.notional_usd == 2_000 and fill.fee_usd == pytest.approx(0.9)
    assert fill.venue_order_id == "paper-" + "ab" * 6


async def test_without_a_tick_the_reference_price_fills_and_without_either_it_is_refused() -> None:
    assert (await paper(None, {"ETH": 1000.0}).place(None, an_order(), 100.0, "0x00")).price == pytest.approx(1000.2)
    with pytest.raises(NoPrice) as refused:
        await paper(Ticks({})).place(None, an_order("NOPE"), 100.0, "0x00")
    assert isinstance(refused.value, VenueRefused) and not refused.value.venue_specific


async def test_a_close_sells_all_of_a_long_at_the_latest_tick_at_its_entry_fee_rate() -> None:
    venue = paper(Ticks({("HYPERLIQUID", "ETH"): 2100.0}))
    position = Position(position_id=uuid.uuid4(), order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(),
                        agent_id=uuid.uuid4(), deployment_id=uuid.uuid4(), venue=Venue.HYPERLIQUID, venue_symbol="ETH",
                        instrument="ETH", side=Side.LONG, state=PositionState.OPEN, entry_price=2000.0, qty=1.0,
                        notional_usd=2000.0, size_pct=10, equity_usd=10_000, leverage=2, fees_usd=0.9, opened_at=utcnow())
    fill = await venue.close(None, position, "0x" + "cd" * 16)
    assert fill.price == pytest.approx(2100 * (1 - 2 / 10_000)) and fill.qty == 1.0
    assert fill.fee_usd == pytest.approx(fill.price * 4.5 / 10_000)


async def test_nothing_is_on_the_venue_to_look_up_or_reconcile() -> None:
    venue = paper(Ticks({("HYPERLIQUID", "ETH"): 2000.0}))
    assert await venue.status(None, an_order(), "0x00") is None
    assert await venue.positions(None) == {}


async def test_a_paper_venue_reads_the_prices_it_is_given() -> None:
    venue = paper(None).at(Ticks({("HYPERLIQUID", "ETH"): 50.0}))
    assert await venue.mid("eth") == 50.0
