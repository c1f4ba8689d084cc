"""Which adapter places an order: the venue itself when the deployment has an account there,
otherwise PAPER (fills on live ticks, for users without venue accounts)."""

from __future__ import annotations

import httpx

from vprime_shared.contracts import Order
from vprime_shared.reference import reference_prices
from vprime_shared.unit_of_work import Tx

from vprime_executor.adapters.prices import PriceBook
from vprime_executor.adapters.venues.paper import PaperVenue
from vprime_executor.adapters.venues.simulator import SimulatorVenue
from vprime_executor.settings import ExecutorSettings


class VenueRouter:
    def __init__(self, settings: ExecutorSettings, http: httpx.AsyncClient | None) -> None:
        self.settings = settings
        self.http = http
        self.reference_prices = reference_prices(settings.reference_prices_path)

    def paper(self, prices: PriceBook) -> PaperVenue:
        return PaperVenue(prices, self.reference_prices, equity_usd=self.settings.paper_equity_usd,
                          slippage_bps=self.settings.paper_slippage_bps)

    async def for_order(self, tx: Tx, order: Order) -> PaperVenue | SimulatorVenue:
        accounts = await tx.conn.fetchval("SELECT venue_accounts FROM accounts WHERE deployment_id = $1", order.deployment_id)
        if self.http is not None and self.settings.venue_api_url and accounts and order.venue.value in accounts:
            return SimulatorVenue(self.http, self.settings.venue_api_url, equity_usd=self.settings.paper_equity_usd)
        return self.paper(PriceBook(tx.conn))
