"""Which adapter an order goes through: the venue itself when the deployment holds an agent key for it and the
venue is reachable (Hyperliquid at HYPERLIQUID_API_URL or its network's host; the others where VENUE_API_URL
points, the simulator locally), otherwise PAPER standing in for that venue (fills on live ticks, for users without
venue accounts). Every route has an adapter, all of one protocol; `mode` says which of the two it is."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg
import httpx
from web3 import AsyncHTTPProvider, AsyncWeb3

from vprime_shared.contracts import Venue
from vprime_shared.reference import reference_prices

from vprime_venues.evm import EvmClient, MemoryJournal, TransactionJournal
from vprime_venues.execution import ExecutionAdapter as VenueAdapter, Signer
from vprime_venues.gmx.execution import gmx_venue
from vprime_venues.hyperliquid.execution import HyperliquidVenue
from vprime_venues.hyperliquid.nonces import NonceSource
from vprime_venues.ostium.execution import OstiumVenue
from vprime_venues.paper.execution import PaperVenue, Prices
from vprime_venues.ratelimit import RateBudget
from vprime_venues.spot.execution import spot_venue

from vprime_executor.adapters.credentials import CredentialStore
from vprime_executor.adapters.prices import PriceBook

from vprime_executor.settings import ExecutorSettings


@dataclass(frozen=True)
class Route:
    """The adapter an order or a close goes through, and the agent key that signs for it (none on paper)."""

    adapter: VenueAdapter
    signer: Signer | None

    @property
    def paper(self) -> bool:
        return bool(getattr(self.adapter, "paper", False))  # only PAPER sets it (see ExecutionAdapter)

    @property
    def mode(self) -> str:
        """What events, stats and the orders and positions tables say: "venue" or "paper" (whatever the venue)."""
        return "paper" if self.paper else "venue"

    def priced(self, prices: Prices) -> Route:
        """The same route, a paper fill reading `prices` (read once for a batch, or a tick's); a venue's has its own."""
        return Route(self.adapter.at(prices), self.signer) if isinstance(self.adapter, PaperVenue) else self


class VenueRouter:
    def __init__(self, settings: ExecutorSettings, http: httpx.AsyncClient | None, credentials: CredentialStore,
                 nonces: NonceSource | None = None, db: asyncpg.Connection | asyncpg.Pool | None = None) -> None:
        self.settings = settings
        self.http = http
        self.credentials = credentials
        self.nonces = nonces
        self.db = db  # where agent keys are read, and paper fills read the latest prices
        self.reference_prices = reference_prices(settings.reference_prices_path)
        self._adapters: dict[Venue, VenueAdapter] = {}
        self._evm: dict[Venue, EvmClient] = {}
        self.journal: TransactionJournal = MemoryJournal()  # the executor's PostgreSQL journal once it has started

    def paper(self, venue: Venue) -> PaperVenue:
        """PAPER standing in for `venue`, filling at the executor's price book."""
        return PaperVenue(venue, PriceBook(self.db) if self.db is not None else None, self.reference_prices,
                          equity_usd=self.settings.paper_equity_usd, slippage_bps=self.settings.paper_slippage_bps)

    def paper_route(self, venue: Venue) -> Route:
        return Route(self.paper(venue), None)

    def adapter(self, venue: Venue) -> VenueAdapter:
        if venue not in self._adapters:
            assert self.http is not None, "the executor has not started"
            s = self.settings
            self._adapters[venue] = {
                Venue.HYPERLIQUID: lambda: HyperliquidVenue(
                    self.http, s.hyperliquid_url(), mainnet=s.hyperliquid_network == "mainnet", slippage=s.slippage,
                    budget=RateBudget(s.hyperliquid_weight_per_minute), nonces=self.nonces),
                Venue.OSTIUM: lambda: OstiumVenue(self.evm(Venue.OSTIUM), self.http, **s.ostium(), slippage=s.slippage,
                                                  keeper_timeout_s=s.keeper_timeout_s),
                Venue.GMX: lambda: gmx_venue(self.evm(Venue.GMX), self.http, s.gmx(), slippage=s.slippage,
                                             keeper_timeout_s=s.keeper_timeout_s),
                Venue.SPOT: lambda: spot_venue(self.evm(Venue.SPOT), self.http, s.spot(), slippage=s.slippage),
            }[venue]()
        return self._adapters[venue]

    async def route(self, deployment_id: uuid.UUID, venue: Venue) -> Route:
        return (await self.routes([(deployment_id, venue)]))[(deployment_id, venue)]

    async def routes(self, wanted: Iterable[tuple[uuid.UUID, Venue]]) -> dict[tuple[uuid.UUID, Venue], Route]:
        """The route of each (deployment, venue) pair, their keys read in one query."""
        pairs = set(wanted)
        if self.http is None or not any(self.trades_on(v) for _, v in pairs):
            return {(d, v): self.paper_route(v) for d, v in pairs}
        assert self.db is not None, "the executor has not started"
        signers = await self.credentials.signers(self.db, pairs)
        return {(d, v): Route(self.adapter(v), signers[(d, v)]) if (d, v) in signers and self.trades_on(v) else self.paper_route(v)
                for d, v in pairs}

    async def recorded_routes(self, wanted: Iterable[tuple[uuid.UUID, Venue, str]]) -> dict[tuple[uuid.UUID, Venue, str], Route | None]:
        """The routes of orders or positions recorded as in a mode ("venue" or "paper"), their keys read in one query:
        paper stays paper (a key added since trades new orders only); one on the venue goes to the venue, or nowhere
        (None) if its key is gone, never to paper."""
        wanted = set(wanted)
        now = await self.routes((d, v) for d, v, mode in wanted if mode != "paper")
        return {(d, v, mode): self.paper_route(v) if mode == "paper" else None if now[(d, v)].paper else now[(d, v)]
                for d, v, mode in wanted}

    def trades_on(self, venue: Venue) -> bool:
        """Hyperliquid is reached at its own host (or HYPERLIQUID_API_URL); the on-chain venues where ARBITRUM_RPC_URL
        names a chain."""
        return venue is Venue.HYPERLIQUID or bool(self.settings.arbitrum_rpc_url)

    def evm(self, venue: Venue) -> EvmClient:
        """The chain as `venue`'s adapter sends to it: one client per venue (one nonce sequence per agent wallet),
        its transactions journaled in this executor's schema."""
        if venue not in self._evm:
            s = self.settings
            w3 = AsyncWeb3(AsyncHTTPProvider(s.arbitrum_rpc_url, request_kwargs={"timeout": s.venue_timeout_s}))
            self._evm[venue] = EvmClient(w3, venue, journal=self.journal, confirmations=s.evm_confirmations,
                                         receipt_timeout_s=s.evm_receipt_timeout_s)
        return self._evm[venue]

    async def close(self) -> None:
        for client in self._evm.values():
            await client.close()
