from pathlib import Path
from typing import Literal

from pydantic import Field

from vprime_shared.reference import REFERENCE_PRICES as SHIPPED_REFERENCE_PRICES
from vprime_shared.settings import PlanCacheMode, ServiceSettings
from vprime_venues.hyperliquid import constants as HL
from vprime_venues.spot import constants as SPOT
from vprime_venues.gmx import constants as GMX
from vprime_venues.ostium import constants as OSTIUM


class ExecutorSettings(ServiceSettings):
    service_name: str = "executor"
    # Its statements are planned once when prepared, and prepared again every 10 s: a plan made while the tables were
    # small is not kept once they have grown (`db.create_pool`).
    pg_plan_cache_mode: PlanCacheMode = "force_generic_plan"
    pg_plan_lifetime_s: float = 10.0
    # Equity a paper account starts with; a signal's size_pct is a share of it (as margin).
    paper_equity_usd: float = 10_000.0
    # Paper fills cross half a spread plus this much slippage.
    paper_slippage_bps: float = 2.0
    reference_prices_path: Path = SHIPPED_REFERENCE_PRICES
    # Where deployments with a venue account trade; empty: everything is paper. No default venue: the local stack
    # and compose point it at the venue simulator themselves.
    venue_api_url: str = ""
    # Hyperliquid: the base URL of /info and /exchange (default: <VENUE_API_URL>/hyperliquid when VENUE_API_URL is set,
    # else the network's own host) and the network orders are signed for. `make up` points it at the simulator.
    hyperliquid_api_url: str = ""
    hyperliquid_network: Literal["mainnet", "testnet"] = "testnet"
    hyperliquid_weight_per_minute: float = Field(default=HL.EXECUTOR_WEIGHT_PER_MINUTE, gt=0)  # this process's share
    venue_timeout_s: float = 3.0
    # Ostium, GMX and SPOT trade on Arbitrum: the JSON-RPC endpoint their transactions go to (empty: they trade on
    # paper), how many blocks a receipt waits for, and how long a transaction may take to be mined before its outcome
    # is unknown and looked up. `make up` points it at the local chain.
    arbitrum_rpc_url: str = ""
    evm_confirmations: int = Field(default=1, ge=1)
    evm_receipt_timeout_s: float = Field(default=30.0, gt=0)
    slippage: float = 0.01  # IoC limits and acceptable prices within 1 % of the mid
    keeper_timeout_s: float = 10.0  # how long an Ostium/GMX keeper may take to execute
    # SPOT (Uniswap V3): its network's factory, QuoterV2, SwapRouter02 and USDC (vprime_venues.spot.constants) unless set
    # (the local chain's), and the Uniswap token list its tokens come from (the simulator's when VENUE_API_URL is set).
    spot_network: Literal["mainnet", "testnet"] = "testnet"
    uniswap_factory_address: str = ""
    uniswap_quoter_address: str = ""
    uniswap_swap_router_address: str = ""
    usdc_address: str = ""
    spot_token_list_url: str = ""
    # Ostium: its network's trading and trading-storage contracts (vprime_venues.ostium.constants) unless set (the
    # local chain's), and where its pairs and prices are read (the simulator's when VENUE_API_URL is set).
    ostium_network: Literal["mainnet", "testnet"] = "testnet"
    ostium_trading_address: str = ""
    ostium_trading_storage_address: str = ""
    ostium_subgraph_url: str = ""
    ostium_prices_url: str = ""
    # GMX v2: its network's SubaccountRouter, OrderVault, Reader, DataStore and EventEmitter (vprime_venues.gmx.constants)
    # unless set (the local chain's), and its Oracle API (the simulator's when VENUE_API_URL is set).
    gmx_network: Literal["arbitrum", "arbitrum-sepolia"] = "arbitrum-sepolia"
    gmx_subaccount_router_address: str = ""
    gmx_order_vault_address: str = ""
    gmx_reader_address: str = ""
    gmx_datastore_address: str = ""
    gmx_event_emitter_address: str = ""
    gmx_api_url: str = ""
    recovery_interval_s: float = 5.0  # look for orders and closes a crash left unresolved
    recovery_grace_s: float = 30.0  # ... once they are this old (a send in flight is never touched)
    send_concurrency: int = Field(default=16, ge=1)  # venue calls under way at once
    # Orders claimed and not yet resolved, at most: beyond this the consumer waits before taking the next batch.
    send_backlog: int = Field(default=1000, ge=1)
    resend_within_s: float = 120.0  # an order a crash kept from the venue is sent on recovery while this young
    reconcile_interval_s: float = 60.0
    # Fault injection for reliability tests only: exit with an order recorded but not sent (`before_send`),
    # or sent with the venue's answer not recorded (`after_send`).
    executor_crash: Literal["", "before_send", "after_send"] = ""
    # The key-encryption key for venue agent keys (AES-256-GCM): base64 in CREDENTIALS_KEY, or a file.
    credentials_key: str = Field(default="", repr=False)
    credentials_key_file: str = ""
    # How long a key import nonce (`POST /internal/key-imports`) may seal agent keys.
    key_import_ttl_s: float = Field(default=900.0, gt=0)
    internal_api_token: str = Field(default="", repr=False)

    def ostium(self) -> dict[str, str]:
        """OstiumVenue's addresses and URLs."""
        contracts, sim = OSTIUM.CONTRACTS[self.ostium_network], self.venue_api_url.rstrip("/")
        return {"trading": self.ostium_trading_address or contracts["trading"],
                "trading_storage": self.ostium_trading_storage_address or contracts["trading_storage"],
                "subgraph_url": self.ostium_subgraph_url or (f"{sim}/ostium/subgraph" if sim else OSTIUM.SUBGRAPH_URL[self.ostium_network]),
                "prices_url": self.ostium_prices_url or (f"{sim}/ostium/PricePublish/latest-prices" if sim else OSTIUM.PRICES_URL)}

    def spot(self) -> dict[str, str]:
        """SpotVenue's contract addresses and token list."""
        contracts, sim = SPOT.CONTRACTS[self.spot_network], self.venue_api_url.rstrip("/")
        return {"factory": self.uniswap_factory_address or contracts["uniswap_factory"],
                "quoter": self.uniswap_quoter_address or contracts["uniswap_quoter"],
                "router": self.uniswap_swap_router_address or contracts["uniswap_swap_router"],
                "usdc": self.usdc_address or contracts["usdc"],
                "token_list_url": self.spot_token_list_url or (f"{sim}/spot/tokenlist.json" if sim else SPOT.DEFAULT_TOKEN_LIST_URL)}

    def gmx(self) -> dict[str, str]:
        """GmxVenue's contract addresses, USDC and Oracle API."""
        n, sim = GMX.NETWORKS[self.gmx_network], self.venue_api_url.rstrip("/")
        return {"subaccount_router": self.gmx_subaccount_router_address or n["subaccount_router"],
                "order_vault": self.gmx_order_vault_address or n["order_vault"], "reader": self.gmx_reader_address or n["reader"],
                "datastore": self.gmx_datastore_address or n["datastore"],
                "event_emitter": self.gmx_event_emitter_address or n["event_emitter"], "usdc": self.usdc_address or n["usdc"],
                "oracle_url": self.gmx_api_url or (f"{sim}/gmx" if sim else n["oracle_url"])}

    def hyperliquid_url(self) -> str:
        """Where Hyperliquid orders go: the configured URL, else the simulator's when VENUE_API_URL names one, else the
        network's own host."""
        return HL.api_url(self.hyperliquid_network, self.hyperliquid_api_url, simulator=self.venue_api_url)
