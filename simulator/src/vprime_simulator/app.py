"""The simulator's HTTP surface.

Venue shapes (what the router's sync adapters read):
- Hyperliquid  `POST /hyperliquid/info` and `POST /hyperliquid/exchange`, the venue's own API: see
               `hyperliquid_api.py` (HTTP, signatures, rate limits) and `hyperliquid.py` (the clearinghouse).
- Ostium       `POST /ostium/subgraph` (GraphQL `pairs` in the venue's shape and scales: `vprime_venues.ostium`),
               `GET /ostium/PricePublish/latest-prices` (bid, mid, ask, isMarketOpen per pair). Its trades are
               on the local chain (`vprime_chain.ostium`), not here.
- GMX v2       its Oracle API for the local chain's markets (`vprime_chain.gmx`): `GET /gmx/ping`, `/gmx/tokens`,
               `/gmx/markets/info`, `/gmx/prices/tickers` (min/max at the keeper's prices, x 10^(30 - token
               decimals)); the venue itself trades on that chain.
- SPOT         `GET /spot/tokenlist.json`: a Uniswap token list (tokenlists.org schema) of the local chain's tokens;
               the venue itself is Uniswap V3 on that chain (`vprime_chain.uniswap`), quoted and swapped there.

No route of the simulator's own serves venue data: every venue-facing route answers what the venue answers. The
admin API: `POST /admin/book`, `POST /admin/market`, `POST /admin/faults`, Hyperliquid's accounts (`trading.py`:
`POST /admin/accounts`, `POST /admin/holdings`, `GET /admin/orders`), the local chain (`chain.py`: `GET /admin/chain`,
`POST /admin/chain/faucet`, `POST /admin/chain/keepers`) and `GET /admin/state`. Every `/admin/*` call needs
`Authorization: Bearer <SIMULATOR_ADMIN_TOKEN>`; with no token configured the admin API is off (503). The
venue-facing routes need none, as the venues' public endpoints need none.

Faults, per venue, for every endpoint (`scope: "all"`) or only order placement (`"orders"`; on Hyperliquid the
`/exchange` requests whose action is `order`): `ok`, `down` (503),
`timeout` (hangs, then 504), `reject` (orders refused), and, on Hyperliquid only, `lose_answer`: the request is
carried out in full (an order is placed and filled) and its answer replaced by HTTP 500, plain text, until the
mode is set back to `ok`.
"""

from __future__ import annotations

import asyncio
import json
import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from vprime_shared.runtime import BodyLimit
from vprime_simulator.exchange import FAULT_MODES, Exchange, SimMarket
from vprime_simulator.chain import add_chain_routes
from vprime_chain import gmx as gmx_chain
from vprime_venues.gmx import constants as gmx_constants
from vprime_simulator.hyperliquid_api import DEFAULT_WEIGHT_PER_MINUTE, add_hyperliquid_routes
from vprime_simulator.trading import add_trading_routes
from vprime_venues.ostium import constants as OSTIUM_C

VENUE_PREFIXES = {"hyperliquid": "HYPERLIQUID", "ostium": "OSTIUM", "gmx": "GMX", "spot": "SPOT"}
OSTIUM_GROUPS = {"fx": "forex", "crypto": "crypto", "commodity": "commodities", "index": "indices", "stocks": "stocks"}


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BookChange(Body):
    venue: Literal["HYPERLIQUID", "OSTIUM", "GMX", "SPOT"]
    instrument: str
    mid: float | None = Field(default=None, gt=0, description="per canonical unit; omit to follow the random walk")
    spread_bps: float | None = Field(default=None, ge=0)
    depth_usd: float | None = Field(default=None, gt=0, description="per book level")
    funding_hourly: float | None = None


class MarketChange(Body):
    venue: Literal["HYPERLIQUID", "OSTIUM", "GMX", "SPOT"]
    instrument: str
    open: bool | None = None
    delisted: bool | None = None


class Fault(Body):
    venue: Literal["HYPERLIQUID", "OSTIUM", "GMX", "SPOT"]
    mode: Literal["ok", "down", "timeout", "reject", "lose_answer"]
    scope: Literal["all", "orders"] = Field(default="all", description="every endpoint, or only order placement")

    @model_validator(mode="after")
    def lose_answer_on_hyperliquid(self) -> Fault:
        if self.mode == "lose_answer" and self.venue != "HYPERLIQUID":
            raise ValueError("lose_answer is simulated on HYPERLIQUID only")
        return self


ORDER_PATHS = ("/orders", "/hyperliquid/exchange")  # what the "orders" fault scope covers


def is_order_path(path: str) -> bool:
    return any(p in path for p in ORDER_PATHS)


async def places_orders(request: Request) -> bool:
    """Whether a request places orders: a venue's order path; on Hyperliquid's `/exchange`, an `order` action."""
    if not is_order_path(request.url.path):
        return False
    if not request.url.path.endswith("/hyperliquid/exchange"):
        return True
    try:
        body = json.loads(await request.body())
    except ValueError:
        return True
    return isinstance(body, dict) and isinstance(body.get("action"), dict) and body["action"].get("type") == "order"


def address(*parts: str) -> str:
    """A stable, made-up 20-byte address."""
    return "0x" + hashlib.sha256("/".join(parts).encode()).hexdigest()[:40]


ADMIN_PREFIX = "/admin"
ADMIN_DISABLED = "admin API disabled: SIMULATOR_ADMIN_TOKEN is not set"


def is_admin_path(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def admin_allowed(authorization: str, token: str) -> bool:
    """True only for `Bearer <token>` with the configured, non-empty token (compared in constant time)."""
    scheme, _, given = authorization.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def create_app(exchange: Exchange, *, admin_token: str = "", timeout_s: float = 30.0,
               hyperliquid_network: str = "testnet",
               hyperliquid_weight_per_minute: int = DEFAULT_WEIGHT_PER_MINUTE) -> FastAPI:
    """Every `/admin/*` route answers 401 unless the request's bearer is `admin_token`, and 503 when `admin_token`
    is empty; the venue-facing routes answer anyone. Hyperliquid verifies signatures for `hyperliquid_network`
    (mainnet or testnet) and allows each client address `hyperliquid_weight_per_minute` of request weight."""
    app = FastAPI(title="Vprime venue simulator", description=__doc__)
    app.state.exchange = exchange
    add_trading_routes(app, exchange)
    add_hyperliquid_routes(app, exchange, network=hyperliquid_network, weight_per_minute=hyperliquid_weight_per_minute)

    # By path rather than per route, so an admin route added later is covered without being told to be.
    @app.middleware("http")
    async def admin_auth(request: Request, call_next: Any) -> Any:
        if not is_admin_path(request.scope["path"]):
            return await call_next(request)
        if not admin_token:
            return JSONResponse({"error": ADMIN_DISABLED}, status_code=503)
        if not admin_allowed(request.headers.get("authorization", ""), admin_token):
            return JSONResponse({"error": "the simulator's admin API needs its bearer token"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    def venue_of(path: str) -> str | None:
        parts = path.strip("/").split("/")
        if parts and parts[0] in VENUE_PREFIXES:
            return VENUE_PREFIXES[parts[0]]
        if len(parts) > 1 and parts[0] == "sim":
            return parts[1].upper()
        return None

    @app.middleware("http")
    async def faults(request: Request, call_next: Any) -> Any:
        venue = venue_of(request.url.path)
        mode = exchange.faults.get(venue or "", "ok")
        if exchange.fault_scope.get(venue or "") == "orders" and not await places_orders(request):
            mode = "ok"  # the venue's market data, and on Hyperliquid its other actions (leverage, approvals), still answer
        if mode == "down":
            return JSONResponse({"error": f"{venue} is down (simulated)"}, status_code=503)
        if mode == "timeout":
            await asyncio.sleep(timeout_s)
            return JSONResponse({"error": f"{venue} timed out (simulated)"}, status_code=504)
        if mode == "lose_answer":
            response = await call_next(request)
            async for _ in response.body_iterator:  # the request runs to its end; its answer is lost
                pass
            return PlainTextResponse("Internal Server Error", status_code=500)
        return await call_next(request)

    def market(venue: str, symbol: str) -> SimMarket:
        try:
            return exchange.market(venue, symbol)
        except KeyError as exc:
            raise HTTPException(404, str(exc)) from exc

    # ---- Ostium --------------------------------------------------------------------------------
    fees = exchange.fees

    @app.post("/ostium/subgraph")
    async def ostium_subgraph(body: dict[str, Any]) -> Any:
        if "pairs" not in str(body.get("query", "")):
            raise HTTPException(422, "only the pairs query is simulated")
        taker = int(fees["OSTIUM"]["taker_bps"] / 100 * 1_000_000)
        maker = int(fees["OSTIUM"]["maker_bps"] / 100 * 1_000_000)
        pairs = []
        for m in sorted(exchange.markets["OSTIUM"].values(), key=lambda m: m.index):
            if m.delisted:
                continue  # the venue's list has no delisted flag: a delisted pair is not listed
            base, quote = m.symbol.split("-")
            # curFundingLong (crypto) or curRollover (the rest): an annualised percentage, PRECISION_9 (ostium.catalog).
            carry = str(int(Decimal(str(m.funding_hourly)) * OSTIUM_C.HOURS_PER_YEAR * 100 * OSTIUM_C.PRECISION_9))
            crypto = m.asset_class == "crypto"
            pairs.append({
                "id": str(m.index), "from": base, "to": quote, "feed": f"0x{m.index:064x}",
                "group": {"id": m.asset_class, "name": OSTIUM_GROUPS.get(m.asset_class, m.asset_class), "maxLeverage": "0"},
                "maxLeverage": str(int(m.max_leverage * 100)), "makerFeeP": str(maker), "takerFeeP": str(taker),
                "fee": {"minLevPos": str(int(Decimal(str(OSTIUM_C.MIN_NOTIONAL_USD)) * OSTIUM_C.PRECISION_6))},
                "curFundingLong": carry if crypto else "0", "curRollover": "0" if crypto else carry,
                # open interest: none held outside the chain; the cap is ten levels of the simulated book
                "longOI": "0", "shortOI": "0", "maxOI": str(int(m.depth_usd * 10 * 1_000_000)),
            })
        return {"data": {"pairs": pairs}}

    @app.get("/ostium/PricePublish/latest-prices")
    async def ostium_prices() -> list[dict[str, Any]]:
        out = []
        for m in exchange.markets["OSTIUM"].values():
            base, quote = m.symbol.split("-")
            book = exchange.book(m, levels=1)
            out.append({"feed_id": f"0x{m.index:064x}", "from": base, "to": quote, "bid": book["bids"][0][0],
                        "mid": exchange.mid(m), "ask": book["asks"][0][0], "isMarketOpen": m.open,
                        "isDayTradingClosed": False, "timestampSeconds": int(time.time())})
        return out

    # ---- GMX -----------------------------------------------------------------------------------
    @app.get("/gmx/ping")
    async def gmx_ping() -> dict[str, bool]:
        return {"ok": True}

    def gmx_site(request: Request) -> Any:
        site = getattr(request.app.state, "chain", None)
        if site is None or "gmx_datastore" not in site.deployment.contracts:
            raise HTTPException(503, "the simulator runs without a chain (ARBITRUM_RPC_URL is not set): no GMX markets")
        return site

    def gmx_markets_of(site: Any) -> list[tuple[Any, SimMarket]]:
        """The chain's GMX markets with the simulator's market of their index token."""
        by_base = {m.symbol.split("/")[0]: m for m in exchange.markets["GMX"].values()}
        return [(lm, by_base[lm.symbol]) for lm in gmx_chain.local_markets(site.deployment, list(by_base)) if lm.symbol in by_base]

    @app.get("/gmx/tokens")
    async def gmx_tokens(request: Request) -> dict[str, Any]:
        """The Oracle API's /tokens: every index and collateral token with its decimals."""
        site = gmx_site(request)
        tokens = {t.address.lower(): {"symbol": s, "address": t.address, "decimals": t.decimals, "synthetic": False}
                  for s, t in site.deployment.tokens.items() if s in ("USDC", "WETH", "WBTC")}
        for lm, _ in gmx_markets_of(site):
            tokens.setdefault(lm.index_token.lower(), {"symbol": lm.symbol, "address": lm.index_token,
                                                       "decimals": lm.index_decimals, "synthetic": True})
        return {"tokens": list(tokens.values())}

    @app.get("/gmx/markets/info")
    async def gmx_markets(request: Request) -> dict[str, Any]:
        """The Oracle API's /markets/info: USD amounts x 10^30, funding and borrowing as annual rates x 10^30."""
        out = []
        for lm, m in gmx_markets_of(gmx_site(request)):
            annual = Decimal(repr(m.funding_hourly)) * 24 * 365
            liquidity = str(int(Decimal(repr(m.depth_usd)) * 20 * 10**30))  # what the pool's reserve leaves to open
            out.append({
                "name": lm.name, "marketToken": lm.market_token, "indexToken": lm.index_token, "longToken": lm.long_token,
                "shortToken": lm.short_token, "isListed": not m.delisted, "listingDate": "2024-01-01T00:00:00.000Z",
                "openInterestLong": "0", "openInterestShort": "0", "availableLiquidityLong": liquidity,
                "availableLiquidityShort": liquidity, "poolAmountLong": "0", "poolAmountShort": "0",
                "fundingRateLong": str(int(annual * 10**30)), "fundingRateShort": str(int(-annual * 10**30)),
                "borrowingRateLong": "0", "borrowingRateShort": "0", "netRateLong": str(int(-annual * 10**30)),
                "netRateShort": str(int(annual * 10**30)),
            })
        return {"markets": out}

    @app.get("/gmx/prices/tickers")
    async def gmx_tickers(request: Request) -> list[dict[str, Any]]:
        """The Oracle API's /prices/tickers at the keeper's prices, in GMX's scale (x 10^(30 - token decimals))."""
        site = gmx_site(request)
        keeper = site.keepers.get("GMX")
        out = []
        for lm, m in gmx_markets_of(site):
            if keeper is not None:
                low, high = keeper.prices(lm)
            else:
                mid = Decimal(repr(exchange.mid(m)))
                low = high = gmx_constants.to_contract_price(mid, lm.index_decimals)
            out.append({"tokenAddress": lm.index_token, "tokenSymbol": lm.symbol, "minPrice": str(low), "maxPrice": str(high),
                        "updatedAt": int(time.time() * 1000)})
        return out

    # ---- SPOT ----------------------------------------------------------------------------------
    @app.get("/spot/tokenlist.json")
    async def spot_tokens(request: Request) -> dict[str, Any]:
        site = getattr(request.app.state, "chain", None)
        if site is None:
            raise HTTPException(503, "the simulator runs without a chain (ARBITRUM_RPC_URL is not set): no SPOT tokens")
        d = site.deployment
        listed = {m.symbol: m.instrument for m in exchange.markets["SPOT"].values() if not m.delisted}
        tokens = [{"chainId": d.chain_id, "address": t.address, "name": listed.get(s, s), "symbol": s, "decimals": t.decimals,
                   **({"extensions": {"canonical": listed[s]}} if s in listed else {})}
                  for s, t in sorted(d.tokens.items()) if s in listed or s == "USDC"]
        return {"name": "Vprime local chain", "timestamp": "2026-01-01T00:00:00Z", "version": {"major": 1, "minor": 0, "patch": 0},
                "tokens": tokens}

    # ---- admin -------------------------------------------------------------------------------
    def target(venue: str, instrument: str) -> SimMarket:
        m = exchange.by_instrument(venue, instrument)
        if m is None:
            raise HTTPException(404, f"{venue} does not list {instrument}")
        return m

    @app.post("/admin/book")
    async def admin_book(change: BookChange) -> dict[str, Any]:
        m = target(change.venue, change.instrument)
        if change.mid is not None:
            m.mid_override = change.mid
        for field in ("spread_bps", "depth_usd", "funding_hourly"):
            if (value := getattr(change, field)) is not None:
                setattr(m, field, value)
        return {"venue": m.venue, "symbol": m.symbol, "mid": exchange.mid(m), "spread_bps": m.spread_bps, "depth_usd": m.depth_usd}

    @app.post("/admin/market")
    async def admin_market(change: MarketChange) -> dict[str, Any]:
        m = target(change.venue, change.instrument)
        if change.open is not None:
            m.open = change.open
        if change.delisted is not None:
            m.delisted = change.delisted
        return {"venue": m.venue, "symbol": m.symbol, "open": m.open, "delisted": m.delisted}

    @app.post("/admin/faults")
    async def admin_faults(fault: Fault) -> dict[str, str]:
        assert fault.mode in FAULT_MODES
        exchange.faults[fault.venue] = fault.mode
        exchange.fault_scope[fault.venue] = fault.scope
        return {venue: f"{mode} ({exchange.fault_scope[venue]})" for venue, mode in exchange.faults.items()}

    @app.get("/admin/state")
    async def admin_state() -> dict[str, Any]:
        return exchange.snapshot()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"service": "simulator", "status": "ok"}

    app.state.chain = None  # the local chain (`chain.ChainSite`), when the simulator runs with one
    add_chain_routes(app)

    app.add_middleware(BodyLimit)  # last, so outermost: a body over 64 KiB is refused before anything reads it
    return app
