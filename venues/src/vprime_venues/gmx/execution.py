"""GMX v2: `createOrder` (MarketIncrease / MarketDecrease with `sizeDeltaUsd` at 10^30, an
`acceptablePrice` at 10^12 within the slippage bound, an `executionFee` for the keeper), then the
keeper's execution followed until Executed, Cancelled or the timeout."""

from __future__ import annotations

import httpx

from vprime_shared.contracts import Order, Position, Side, Venue

from vprime_venues.execution import (
    Signer,
    VenueFill,
    VenueRefused,
    await_keeper,
    call,
    entry_fee_bps,
    refusal,
    sim_account_equity,
    sim_positions,
)
from vprime_venues.gmx.constants import MIN_NOTIONAL_USD, PRICE_SCALE, USD_SCALE

EXECUTION_FEE_WEI = 200_000_000_000_000  # 0.0002 ETH for the keeper


class GmxVenue:
    venue = Venue.GMX

    def __init__(self, http: httpx.AsyncClient, base_url: str, sim_url: str, *, slippage: float = 0.01,
                 keeper_timeout_s: float = 10.0) -> None:
        self.http, self.base_url, self.sim_url = http, base_url.rstrip("/"), sim_url.rstrip("/")
        self.slippage, self.keeper_timeout_s = slippage, keeper_timeout_s
        self._markets: dict[str, tuple[str, str]] = {}

    async def market(self, symbol: str) -> tuple[str, str]:
        """(market token, index token symbol) for `ETH/USD`."""
        if symbol not in self._markets:
            r = await call(self.http, "GET", f"{self.base_url}/markets/info", self.venue)
            r.raise_for_status()
            self._markets = {m["name"].split(" ")[0]: (m["marketToken"], m["name"].split("/")[0]) for m in r.json()["markets"]}
        if symbol not in self._markets:
            raise VenueRefused(f"GMX has no market {symbol}", venue_specific=True)
        return self._markets[symbol]

    async def _price(self, token: str, buying: bool) -> float:
        r = await call(self.http, "GET", f"{self.base_url}/prices/tickers", self.venue)
        ticker = next(t for t in r.json() if t["tokenSymbol"] == token)
        return int(ticker["maxPrice" if buying else "minPrice"]) / PRICE_SCALE

    async def equity(self, signer: Signer) -> float:
        return await sim_account_equity(self.http, self.sim_url, self.venue, signer.address)

    async def _submit(self, signer: Signer, symbol: str, is_long: bool, increase: bool, size_usd: float, client_id: str,
                      fee_bps: float) -> VenueFill:
        market, token = await self.market(symbol)
        buying = is_long == increase
        price = await self._price(token, buying)
        acceptable = price * (1 + self.slippage if buying else 1 - self.slippage)
        body = {"account": signer.address, "market": market, "isLong": is_long,
                "orderType": "MarketIncrease" if increase else "MarketDecrease",
                "sizeDeltaUsd": str(int(size_usd * USD_SCALE)), "initialCollateralDeltaAmount": str(int(size_usd * 1e6)),
                "acceptablePrice": str(int(acceptable * PRICE_SCALE)), "executionFee": str(EXECUTION_FEE_WEI), "clientId": client_id}
        r = await call(self.http, "POST", f"{self.base_url}/orders", self.venue, json=body)
        if r.status_code >= 400:
            raise refusal(self.venue, r.json())
        return await self._follow(r.json()["key"], fee_bps)

    async def _follow(self, key: str, fee_bps: float) -> VenueFill:
        body = await await_keeper(self.http, f"{self.base_url}/orders/{key}", self.venue, self.keeper_timeout_s,
                                  executed="Executed", cancelled="Cancelled")
        price = int(body["executionPrice"]) / PRICE_SCALE
        qty = float(body["sizeInTokens"])
        return VenueFill(price, qty, price * qty, price * qty * fee_bps / 10_000, key)

    async def place(self, signer: Signer, order: Order, notional_usd: float, client_id: str) -> VenueFill:
        if notional_usd < MIN_NOTIONAL_USD:
            raise VenueRefused(f"GMX: size {notional_usd:.2f} USD is below the minimum {MIN_NOTIONAL_USD:g} USD", venue_specific=True)
        return await self._submit(signer, order.venue_symbol, order.side is Side.LONG, True, notional_usd, client_id, order.taker_fee_bps)

    async def status(self, signer: Signer, order: Order, client_id: str) -> VenueFill | None:
        r = await call(self.http, "GET", f"{self.base_url}/orders", self.venue, params={"clientId": client_id})
        if r.status_code == 404:
            return None
        return await self._follow(r.json()["orderId"], order.taker_fee_bps)

    async def close(self, signer: Signer, position: Position, client_id: str) -> VenueFill:
        price = await self._price((await self.market(position.venue_symbol))[1], position.side is Side.SHORT)
        return await self._submit(signer, position.venue_symbol, position.side is Side.LONG, False, position.qty * price, client_id,
                                  entry_fee_bps(position))

    async def positions(self, signer: Signer) -> dict[str, float]:
        return await sim_positions(self.http, self.sim_url, self.venue, signer.address)
