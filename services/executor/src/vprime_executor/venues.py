"""Which adapter an order goes through: the venue itself when the deployment holds an agent key for it and the
venue is reachable (Hyperliquid at HYPERLIQUID_API_URL or its network's host; the others where VENUE_API_URL
points, the simulator locally), otherwise PAPER (fills on live ticks, for users without venue accounts)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg
import httpx

from vprime_shared.contracts import Venue
from vprime_shared.reference import reference_prices

from vprime_venues.execution import ExecutionAdapter as VenueAdapter, Signer
from vprime_venues.gmx.execution import GmxVenue
from vprime_venues.hyperliquid.execution import HyperliquidVenue
from vprime_venues.hyperliquid.nonces import NonceSource
from vprime_venues.ostium.execution import OstiumVenue
from vprime_venues.paper.execution import PaperVenue, Prices
from vprime_venues.ratelimit import RateBudget
from vprime_venues.spot.execution import SpotVenue

from vprime_executor.adapters.credentials import CredentialStore

from vprime_executor.settings import ExecutorSettings


@dataclass(frozen=True)
class Route:
    adapter: VenueAdapter | None  # None: paper
    signer: Signer | None

    @property
    def mode(self) -> str:
        return "venue" if self.adapter is not None else "paper"


PAPER = Route(None, None)


class VenueRouter:
    def __init__(self, settings: ExecutorSettings, http: httpx.AsyncClient | None, credentials: CredentialStore,
                 nonces: NonceSource | None = None) -> None:
        self.settings = settings
        self.http = http
        self.credentials = credentials
        self.nonces = nonces
        self.reference_prices = reference_prices(settings.reference_prices_path)
        self._adapters: dict[Venue, VenueAdapter] = {}

    def paper(self, prices: Prices) -> PaperVenue:
        return PaperVenue(prices, self.reference_prices, equity_usd=self.settings.paper_equity_usd,
                          slippage_bps=self.settings.paper_slippage_bps)

    def adapter(self, venue: Venue) -> VenueAdapter:
        if venue not in self._adapters:
            assert self.http is not None, "the executor has not started"
            base, s = self.settings.venue_api_url.rstrip("/"), self.settings
            self._adapters[venue] = {
                Venue.HYPERLIQUID: lambda: HyperliquidVenue(
                    self.http, s.hyperliquid_url(), mainnet=s.hyperliquid_network == "mainnet", slippage=s.slippage,
                    budget=RateBudget(s.hyperliquid_weight_per_minute), nonces=self.nonces),
                Venue.OSTIUM: lambda: OstiumVenue(self.http, f"{base}/ostium", base, slippage_pct=s.slippage * 100,
                                                  keeper_timeout_s=s.keeper_timeout_s),
                Venue.GMX: lambda: GmxVenue(self.http, f"{base}/gmx", base, slippage=s.slippage, keeper_timeout_s=s.keeper_timeout_s),
                Venue.SPOT: lambda: SpotVenue(self.http, f"{base}/spot", base, slippage=s.slippage),
            }[venue]()
        return self._adapters[venue]

    async def route(self, conn: asyncpg.Connection | asyncpg.Pool, deployment_id: uuid.UUID, venue: Venue) -> Route:
        return (await self.routes(conn, [(deployment_id, venue)]))[(deployment_id, venue)]

    async def routes(self, conn: asyncpg.Connection | asyncpg.Pool,
                     wanted: Iterable[tuple[uuid.UUID, Venue]]) -> dict[tuple[uuid.UUID, Venue], Route]:
        """The route of each (deployment, venue) pair, their keys read in one query."""
        pairs = set(wanted)
        if self.http is None or not any(self.trades_on(v) for _, v in pairs):
            return dict.fromkeys(pairs, PAPER)
        signers = await self.credentials.signers(conn, pairs)
        return {(d, v): Route(self.adapter(v), signers[(d, v)]) if (d, v) in signers and self.trades_on(v) else PAPER
                for d, v in pairs}

    def trades_on(self, venue: Venue) -> bool:
        """Hyperliquid is reached at its own host (or HYPERLIQUID_API_URL); the other venues only where VENUE_API_URL
        names one (the simulator)."""
        return venue is Venue.HYPERLIQUID or bool(self.settings.venue_api_url)
