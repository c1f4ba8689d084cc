from typing import Literal

from vprime_shared.reference import VENUE_MARKETS as SHIPPED_CATALOG
from vprime_shared.settings import PlanCacheMode, ServiceSettings

__all__ = ["SHIPPED_CATALOG", "RouterSettings"]


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
    hyperliquid_api_url: str = ""  # default: <simulator>/hyperliquid
    ostium_subgraph_url: str = ""  # default: <simulator>/ostium/subgraph
    ostium_prices_url: str = ""  # default: <simulator>/ostium/PricePublish/latest-prices
    gmx_api_url: str = ""  # default: <simulator>/gmx
    spot_api_url: str = ""  # default: <simulator>/spot
    venue_books_url: str = ""  # depth for oracle venues and pools; default: <simulator>/sim
    sync_interval_s: float = 30.0
    sync_timeout_s: float = 5.0
    stale_after_s: float = 120.0  # a catalog older than this is not routed on
    book_watchlist: str = "BTC,ETH,SOL,GOLD,EURUSD"  # books kept fresh besides recently routed instruments
    breaker_failures: int = 3
    breaker_open_s: float = 30.0
    leverage_mode: Literal["clamp", "reject"] = "clamp"
    expected_hold_hours: float = 24.0

    def url(self, name: str, suffix: str) -> str:
        return getattr(self, name) or f"{self.venue_simulator_url.rstrip('/')}{suffix}"
