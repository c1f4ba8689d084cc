"""Sending orders: a venue call holds one of the limited slots, the resolution that follows does not."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

from vprime_shared.contracts import Order, RiskModel, Side, Venue

from vprime_executor.handlers import send_order
from vprime_executor.venues import PAPER, Route



class PaperVenue:
    async def place_order(self, order: Order) -> tuple[object, str]:
        return SimpleNamespace(price=100.0, qty=1.0, notional_usd=100.0, fee_usd=0.05), f"paper-{order.order_id}"


class HeldResolutions:
    """Resolutions that wait to be released: a shared transaction still running."""

    def __init__(self) -> None:
        self.waiting: list[Order] = []
        self.release = asyncio.Event()

    async def resolve(self, order: Order, outcome: object, route: Route) -> str:
        self.waiting.append(order)
        await self.release.wait()
        return f"resolved {order.order_id}"


def an_order() -> Order:
    return Order(order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(), agent_id=uuid.uuid4(),
                 deployment_id=uuid.uuid4(), venue=Venue.HYPERLIQUID, venue_symbol="ETH", instrument="ETH", side=Side.LONG,
                 size_pct=10, leverage=1, taker_fee_bps=4.5, risk_model=RiskModel(type="none"))


async def test_an_order_waiting_for_its_resolution_leaves_its_venue_call_slot_to_the_next() -> None:
    venues = SimpleNamespace(settings=SimpleNamespace(paper_equity_usd=10_000.0), paper=lambda prices: PaperVenue())
    resolutions, slots = HeldResolutions(), asyncio.Semaphore(1)
    orders = [an_order(), an_order()]
    sends = [asyncio.create_task(send_order(None, o, PAPER, venues, resolutions, prices=object(), venue_calls=slots))  # type: ignore[arg-type]
             for o in orders]

    async with asyncio.timeout(2):  # one slot, and both orders placed while the first resolution is still open
        while len(resolutions.waiting) < 2:
            await asyncio.sleep(0.005)
    assert not slots.locked()

    resolutions.release.set()
    assert await asyncio.gather(*sends) == [f"resolved {o.order_id}" for o in orders]
