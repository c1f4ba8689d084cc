"""Which adapter places an order: the venue itself when the deployment has an account there,
otherwise PAPER (fills on live ticks, for users without venue accounts)."""

from __future__ import annotations

import httpx

from vprime_shared.contracts import Order
from vprime_shared.reference import reference_prices
from vprime_shared.unit_of_work import Tx

from vprime_executor.adapters.credentials import CredentialStore
from vprime_executor.adapters.prices import PriceBook
from vprime_executor.adapters.venues.paper import PaperVenue
from vprime_executor.adapters.venues.simulator import SimulatorVenue
from vprime_executor.settings import ExecutorSettings


class VenueRouter:
    def __init__(self, settings: ExecutorSettings, http: httpx.AsyncClient | None, credentials: CredentialStore) -> None:
        self.settings = settings
        self.http = http
        self.credentials = credentials
        self.reference_prices = reference_prices(settings.reference_prices_path)

    def paper(self, prices: PriceBook) -> PaperVenue:
        return PaperVenue(prices, self.reference_prices, equity_usd=self.settings.paper_equity_usd,
                          slippage_bps=self.settings.paper_slippage_bps)

    async def for_order(self, tx: Tx, order: Order) -> PaperVenue | SimulatorVenue:
        has_key = await self.credentials.address(tx.conn, order.deployment_id, order.venue)
        if self.http is not None and self.settings.venue_api_url and has_key:
            return SimulatorVenue(self.http, self.settings.venue_api_url, equity_usd=self.settings.paper_equity_usd)
        return self.paper(PriceBook(tx.conn))
