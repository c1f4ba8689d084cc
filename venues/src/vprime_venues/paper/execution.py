"""PAPER: orders filled against live ticks (or the shipped reference prices), for deployments without a venue key."""

from __future__ import annotations

from typing import Protocol

from vprime_shared import ids
from vprime_shared.contracts import Order, Position, Side

from vprime_venues.paper.fills import Fill, paper_fill


class Prices(Protocol):
    """Where paper fills read the last price of an instrument on a venue."""

    async def latest(self, venue: str, instrument: str) -> float | None: ...


class NoPrice(LookupError):
    pass


class PaperVenue:
    """Places an order by filling it against the price book, the way a venue would answer."""

    def __init__(self, prices: Prices, reference_prices: dict[str, float], *, equity_usd: float, slippage_bps: float) -> None:
        self.prices = prices
        self.reference_prices = reference_prices
        self.equity_usd = equity_usd
        self.slippage_bps = slippage_bps

    async def mid(self, order: Order) -> float:
        mid = await self.prices.latest(order.venue.value, order.instrument)
        if mid is None:
            mid = self.reference_prices.get(order.instrument.upper())
        if mid is None:
            raise NoPrice(f"no tick and no reference price for {order.instrument}")
        return mid

    def exit_fill(self, position: Position, mid: float) -> tuple[float, float]:
        """Close at mid, worse by the slippage; returns the exit price and its taker fee."""
        direction = -1 if position.side is Side.LONG else 1
        price = mid * (1 + direction * self.slippage_bps / 10_000)
        fee_bps = position.fees_usd / position.notional_usd * 10_000 if position.notional_usd else 0.0
        return price, abs(position.qty * price) * fee_bps / 10_000

    async def place_order(self, order: Order) -> tuple[Fill, str]:
        """Fill the order; returns the fill and the venue order id (derived from the client order id)."""
        fill = paper_fill(
            side=order.side,
            mid=await self.mid(order),
            equity_usd=self.equity_usd,
            size_pct=order.size_pct,
            leverage=order.leverage,
            taker_fee_bps=order.taker_fee_bps,
            slippage_bps=self.slippage_bps,
        )
        return fill, f"paper-{ids.client_order_id(order.order_id)[2:14]}"
