"""PAPER: the execution protocol of every venue (`ExecutionAdapter`), filled against live ticks (or the shipped
reference prices) for deployments without a venue key. Nothing is sent anywhere: a paper fill on HYPERLIQUID is
reported as on HYPERLIQUID (`venue`), and `paper` says it was simulated."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from vprime_shared.contracts import Order, Position, Venue

from vprime_venues.execution import Signer, VenueFill, VenueRefused, entry_fee_bps
from vprime_venues.paper.fills import exit_fill, paper_fill


class Prices(Protocol):
    """Where paper fills read the last price of an instrument on a venue."""

    async def latest(self, venue: str, instrument: str) -> float | None: ...


class NoPrice(VenueRefused):
    """No tick and no reference price: nothing to fill at. A refusal about the instrument, not the venue."""

    def __init__(self, instrument: str) -> None:
        super().__init__(f"no tick and no reference price for {instrument}", venue_specific=False)


@dataclass(frozen=True)
class PaperVenue:
    """PAPER standing in for `venue`. Fills at the latest mid worse by `slippage_bps`, taker fee on the notional; the
    account's equity is `equity_usd`. Paper positions live only in our books, so the venue holds none (`positions`)
    and no order is ever on it to look up (`status`): an order a crash left unresolved was never placed."""

    venue: Venue
    prices: Prices | None  # None: the reference prices alone
    reference_prices: dict[str, float]
    equity_usd: float
    slippage_bps: float
    paper: bool = True
    lookup_window_s: float = 0.0  # nothing is sent, so nothing can land later

    def at(self, prices: Prices) -> PaperVenue:
        """The same venue filling at `prices` (a batch's prices read at once, or a tick's)."""
        return replace(self, prices=prices)

    async def mid(self, instrument: str) -> float:
        mid = await self.prices.latest(self.venue.value, instrument) if self.prices is not None else None
        if mid is None:
            mid = self.reference_prices.get(instrument.upper())
        if mid is None:
            raise NoPrice(instrument)
        return mid

    async def equity(self, signer: Signer | None) -> float:
        return self.equity_usd

    async def place(self, signer: Signer | None, order: Order, notional_usd: float, client_id: str) -> VenueFill:
        fill = paper_fill(side=order.side, mid=await self.mid(order.instrument), notional_usd=notional_usd,
                          taker_fee_bps=order.taker_fee_bps, slippage_bps=self.slippage_bps)
        return VenueFill(fill.price, fill.qty, fill.notional_usd, fill.fee_usd, venue_order_id(client_id))

    async def status(self, signer: Signer | None, order: Order, client_id: str) -> VenueFill | None:
        return None

    async def close(self, signer: Signer | None, position: Position, client_id: str) -> VenueFill:
        """All of the position, at the latest mid, paying the fee rate it paid on entry."""
        fill = exit_fill(side=position.side, mid=await self.mid(position.instrument), qty=position.qty,
                         fee_bps=entry_fee_bps(position), slippage_bps=self.slippage_bps)
        return VenueFill(fill.price, fill.qty, fill.notional_usd, fill.fee_usd, venue_order_id(client_id))

    async def positions(self, signer: Signer | None) -> dict[str, float]:
        return {}


def venue_order_id(client_id: str) -> str:
    return f"paper-{client_id[2:14]}"
