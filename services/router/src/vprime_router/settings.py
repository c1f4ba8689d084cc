"""The router's settings (environment variables of the same names, upper case).

Venue URLs: each `*_URL` left empty reads that venue from the venue simulator at `VENUE_SIMULATOR_URL`
(`/hyperliquid`, `/ostium/...`, `/gmx`, `/spot`); Uniswap's pools and quotes are read on `ARBITRUM_RPC_URL`. `HYPERLIQUID_API_URL` empty with
`VENUE_SIMULATOR_URL` empty too reads Hyperliquid itself, on `HYPERLIQUID_NETWORK` (`testnet` by default:
https://api.hyperliquid-testnet.xyz; `mainnet`: https://api.hyperliquid.xyz).

Catalog sync: every venue at start and every `SYNC_INTERVAL_S`; a failed sync is tried again after
`SYNC_RETRY_INITIAL_S`, doubling up to `SYNC_RETRY_MAX_S` (never later than the next regular sync), and a venue
that has failed `SYNC_RETRIES` retries in a row is reported down (and still retried at the longest delay).
"""

from typing import Literal

from pydantic import Field

from vprime_shared.reference import VENUE_MARKETS as SHIPPED_CATALOG
from vprime_shared.settings import PlanCacheMode, ServiceSettings

from vprime_venues.hyperliquid import constants as HL
from vprime_venues.spot import constants as SPOT

__all__ = ["SHIPPED_CATALOG", "RouterSettings"]

HyperliquidNetwork = Literal["mainnet", "testnet"]


class RouterSettings(ServiceSettings):
    service_name: str = "router"
    # Its statements are planned once when prepared, and prepared again every 10 s: a plan made while the tables were
    # small is not kept once they have grown (`db.create_pool`).
    pg_plan_cache_mode: PlanCacheMode = "force_generic_plan"
    pg_plan_lifetime_s: float = 10.0
    # "sync": read each venue's catalog from its API (the simulator's by default); "fixture": route on
    # the shipped catalog, never synced (for a router without venue access).
    catalog_source: Literal["sync", "fixture"] = "sync"
    venue_simulator_url: str = "http://127.0.0.1:8010"
    hyperliquid_network: HyperliquidNetwork = "testnet"  # which Hyperliquid, when it is read directly
    hyperliquid_api_url: str = ""  # default: <simulator>/hyperliquid, or Hyperliquid's on `hyperliquid_network`
    hyperliquid_weight_per_minute: float = Field(default=HL.ROUTER_WEIGHT_PER_MINUTE, gt=0)  # this process's share
    ostium_subgraph_url: str = ""  # default: <simulator>/ostium/subgraph
    ostium_prices_url: str = ""  # default: <simulator>/ostium/PricePublish/latest-prices
    gmx_api_url: str = ""  # default: <simulator>/gmx
    # SPOT (Uniswap V3): the Uniswap token list its tokens come from (default: the simulator's), and the chain its pools
    # are read on, with its network's factory, QuoterV2 and USDC unless set (the local chain's).
    spot_token_list_url: str = ""  # default: <simulator>/spot/tokenlist.json
    arbitrum_rpc_url: str = ""
    spot_network: Literal["mainnet", "testnet"] = "testnet"
    uniswap_factory_address: str = ""
    uniswap_quoter_address: str = ""
    usdc_address: str = ""
    sync_interval_s: float = 30.0
    sync_timeout_s: float = 5.0
    # A failed sync is tried again after 1 s, 2 s, 4 s ... up to this (and never after the next regular sync);
    # after `sync_retries` failed retries in a row the venue is reported down, and tried every `sync_retry_max_s`.
    sync_retry_initial_s: float = 1.0
    sync_retry_max_s: float = 15.0
    sync_retries: int = 4
    stale_after_s: float = 120.0  # a catalog older than this is not routed on
    book_watchlist: str = "BTC,ETH,SOL,GOLD,EURUSD"  # books kept fresh besides recently routed instruments
    breaker_failures: int = 3
    breaker_open_s: float = 30.0
    leverage_mode: Literal["clamp", "reject"] = "clamp"
    expected_hold_hours: float = 24.0

    def url(self, name: str, suffix: str) -> str:
        return getattr(self, name) or f"{self.venue_simulator_url.rstrip('/')}{suffix}"

    def spot(self) -> dict[str, str]:
        """SpotSync's token list, chain and contracts."""
        contracts = SPOT.CONTRACTS[self.spot_network]
        return {"token_list_url": self.url("spot_token_list_url", "/spot/tokenlist.json"), "rpc_url": self.arbitrum_rpc_url,
                "factory": self.uniswap_factory_address or contracts["uniswap_factory"],
                "quoter": self.uniswap_quoter_address or contracts["uniswap_quoter"],
                "usdc": self.usdc_address or contracts["usdc"]}

    def hyperliquid_url(self) -> str:
        """`hyperliquid_api_url` when set; else the simulator's Hyperliquid when there is a simulator; else
        Hyperliquid's own API on `hyperliquid_network`."""
        return HL.api_url(self.hyperliquid_network, self.hyperliquid_api_url, simulator=self.venue_simulator_url)
