"""GMX's Oracle API (docs: api/rest-api: `/ping`, `/tokens`, `/prices/tickers`, `/markets/info`), as the catalog and
the execution adapter read it. Shapes:

- `/tokens`: `{"tokens": [{"symbol", "address", "decimals", "synthetic"}]}` (the SDK's `Oracle.getTokens`).
- `/prices/tickers`: `[{"tokenAddress", "tokenSymbol", "minPrice", "maxPrice", "updatedAt", ...}]`, prices as
  strings in GMX's contract scale (USD x 10^(30 - token decimals) per whole token; the SDK's `parseContractPrice`).
- `/markets/info`: `{"markets": [{"name", "marketToken", "indexToken", "longToken", "shortToken", "isListed",
  "openInterestLong", "openInterestShort", "availableLiquidityLong", "availableLiquidityShort", "fundingRateLong",
  "fundingRateShort", "borrowingRateLong", "borrowingRateShort", ...}]}`, USD amounts x 10^30, rates annual x 10^30.
  Several markets share an index token (`ETH/USD [WETH-USDC]`, `ETH/USD [WETH-WETH]`): the name keeps them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from vprime_shared.contracts import Venue

from vprime_venues.execution import VenueUnavailable, call
from vprime_venues.gmx.constants import ZERO_ADDRESS, from_contract_price


@dataclass(frozen=True)
class TokenInfo:
    symbol: str
    address: str
    decimals: int
    synthetic: bool = False


@dataclass(frozen=True)
class Ticker:
    min_price: int  # contract scale
    max_price: int

    def usd(self, decimals: int) -> tuple[Decimal, Decimal]:
        return from_contract_price(self.min_price, decimals), from_contract_price(self.max_price, decimals)


@dataclass(frozen=True)
class MarketInfo:
    """One `/markets/info` market; `symbol` is its full name (`ETH/USD [WETH-USDC]`), `index_symbol` its index's
    token symbol as `/tokens` names it."""

    symbol: str
    market_token: str
    index_token: str
    long_token: str
    short_token: str
    index_symbol: str
    index_decimals: int
    is_listed: bool
    raw: dict[str, Any]

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0].strip()


class OracleApi:
    venue = Venue.GMX

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http, self.base_url = http, base_url.rstrip("/")

    async def _get(self, path: str) -> Any:
        r = await call(self.http, "GET", f"{self.base_url}{path}", self.venue)
        if r.status_code != 200:
            raise VenueUnavailable(f"GMX oracle {path} answered {r.status_code}: {r.text[:200]}")
        return r.json()

    async def ping(self) -> None:
        await self._get("/ping")

    async def tokens(self) -> dict[str, TokenInfo]:
        """By lower-case address."""
        body = await self._get("/tokens")
        return {t["address"].lower(): TokenInfo(t["symbol"], t["address"], int(t["decimals"]), bool(t.get("synthetic")))
                for t in body["tokens"]}

    async def tickers(self) -> dict[str, Ticker]:
        """By lower-case token address."""
        return {t["tokenAddress"].lower(): Ticker(int(t["minPrice"]), int(t["maxPrice"])) for t in await self._get("/prices/tickers")}

    async def markets(self, tokens: dict[str, TokenInfo] | None = None) -> list[MarketInfo]:
        """Perp markets (swap-only markets, whose index token is the zero address, are left out)."""
        tokens = tokens if tokens is not None else await self.tokens()
        out = []
        for m in (await self._get("/markets/info"))["markets"]:
            index = tokens.get(m["indexToken"].lower())
            if m["indexToken"] == ZERO_ADDRESS or index is None:
                continue
            out.append(MarketInfo(symbol=m["name"], market_token=m["marketToken"], index_token=m["indexToken"],
                                  long_token=m["longToken"], short_token=m["shortToken"], index_symbol=index.symbol,
                                  index_decimals=index.decimals, is_listed=bool(m.get("isListed", True)), raw=m))
        return out
