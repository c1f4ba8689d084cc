"""Ostium: `openTrade` as the Ostium SDK shapes it (collateral in USDC, leverage, pair index, long or
short, slippage %), executed asynchronously by a keeper and followed until EXECUTED, CANCELLED or
`keeper_timeout_s`; positions are trades, closed by trade id (never "the first trade of that symbol")."""

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
from vprime_venues.ostium.constants import MIN_NOTIONAL_USD



class OstiumVenue:
    venue = Venue.OSTIUM

    def __init__(self, http: httpx.AsyncClient, base_url: str, sim_url: str, *, slippage_pct: float = 1.0,
                 keeper_timeout_s: float = 10.0) -> None:
        self.http, self.base_url, self.sim_url = http, base_url.rstrip("/"), sim_url.rstrip("/")
        self.slippage_pct, self.keeper_timeout_s = slippage_pct, keeper_timeout_s
        self._pairs: dict[str, int] = {}

    async def pair_index(self, symbol: str) -> int:
        if symbol not in self._pairs:
            r = await call(self.http, "POST", f"{self.base_url}/subgraph", self.venue, json={"query": "{ pairs { id from to } }"})
            r.raise_for_status()
            self._pairs = {f"{p['from']}-{p['to']}": int(p["id"]) for p in r.json()["data"]["pairs"]}
        if symbol not in self._pairs:
            raise VenueRefused(f"OSTIUM has no pair {symbol}", venue_specific=True)
        return self._pairs[symbol]

    async def equity(self, signer: Signer) -> float:
        return await sim_account_equity(self.http, self.sim_url, self.venue, signer.address)

    async def _follow(self, order_id: str, fee_bps: float) -> VenueFill:
        body = await await_keeper(self.http, f"{self.base_url}/orders/{order_id}", self.venue, self.keeper_timeout_s,
                                  executed="EXECUTED", cancelled="CANCELLED")
        price = float(body.get("openPrice") or body.get("closePrice"))
        notional = price * float(body["size"])
        return VenueFill(price, float(body["size"]), notional, notional * fee_bps / 10_000, order_id, body.get("tradeId"))

    async def place(self, signer: Signer, order: Order, notional_usd: float, client_id: str) -> VenueFill:
        if notional_usd < MIN_NOTIONAL_USD:
            raise VenueRefused(f"OSTIUM: position size {notional_usd:.2f} USD is below the minimum {MIN_NOTIONAL_USD:g} USD",
                               venue_specific=True)
        body = {"trader": signer.address, "pairIndex": await self.pair_index(order.venue_symbol),
                "collateral": round(notional_usd / order.leverage, 6), "leverage": order.leverage,
                "isLong": order.side is Side.LONG, "slippageP": self.slippage_pct, "clientId": client_id}
        r = await call(self.http, "POST", f"{self.base_url}/trades", self.venue, json=body)
        if r.status_code >= 400:
            raise refusal(self.venue, r.json())
        return await self._follow(r.json()["orderId"], order.taker_fee_bps)

    async def status(self, signer: Signer, order: Order, client_id: str) -> VenueFill | None:
        r = await call(self.http, "GET", f"{self.base_url}/orders", self.venue, params={"clientId": client_id})
        if r.status_code == 404:
            return None
        return await self._follow(r.json()["orderId"], order.taker_fee_bps)

    async def close(self, signer: Signer, position: Position, client_id: str) -> VenueFill:
        trade_id = position.extra.get("trade_id")
        if not trade_id:
            raise VenueRefused(f"OSTIUM: position {position.position_id} has no trade id to close", venue_specific=False)
        r = await call(self.http, "POST", f"{self.base_url}/trades/{trade_id}/close", self.venue,
                       json={"trader": signer.address, "closePercentage": 100, "clientId": client_id})
        if r.status_code >= 400:
            raise refusal(self.venue, r.json())
        return await self._follow(r.json()["orderId"], entry_fee_bps(position))

    async def positions(self, signer: Signer) -> dict[str, float]:
        return await sim_positions(self.http, self.sim_url, self.venue, signer.address)
