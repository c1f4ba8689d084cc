"""SPOT: quote, then swap USDC into the token with a minimum out from the quote and the slippage
bound; long only (a close swaps the tokens back)."""

from __future__ import annotations

import httpx

from vprime_shared.contracts import Order, Position, Side, Venue

from vprime_venues.execution import Signer, VenueFill, VenueRefused, call, entry_fee_bps, refusal, sim_account_equity, sim_positions
from vprime_venues.spot.constants import MIN_NOTIONAL_USD



class SpotVenue:
    venue = Venue.SPOT

    def __init__(self, http: httpx.AsyncClient, base_url: str, sim_url: str, *, slippage: float = 0.01) -> None:
        self.http, self.base_url, self.sim_url, self.slippage = http, base_url.rstrip("/"), sim_url.rstrip("/"), slippage

    async def equity(self, signer: Signer) -> float:
        return await sim_account_equity(self.http, self.sim_url, self.venue, signer.address)

    async def _swap(self, signer: Signer, token_in: str, token_out: str, amount_in: float, min_out: float, client_id: str,
                    fee_bps: float, buying: bool) -> VenueFill:
        r = await call(self.http, "POST", f"{self.base_url}/swap", self.venue, json={
            "account": signer.address, "tokenIn": token_in, "tokenOut": token_out, "amountIn": amount_in, "minAmountOut": min_out,
            "clientId": client_id})
        body = r.json()
        if r.status_code >= 400 or body.get("status") != "success":
            raise refusal(self.venue, body)
        return self._fill(body, fee_bps, buying, amount_in)

    @staticmethod
    def _fill(body: dict, fee_bps: float, buying: bool, amount_in: float | None = None) -> VenueFill:
        price = float(body["price"])
        qty = float(body["amountOut"]) if buying else float(amount_in or body["amountOut"] / price)
        return VenueFill(price, qty, price * qty, price * qty * fee_bps / 10_000, body.get("txHash", ""))

    async def place(self, signer: Signer, order: Order, notional_usd: float, client_id: str) -> VenueFill:
        if order.side is Side.SHORT:
            raise VenueRefused("SPOT: a swap cannot open a short", venue_specific=True)
        if notional_usd < MIN_NOTIONAL_USD:
            raise VenueRefused(f"SPOT: {notional_usd:.2f} USD is below the minimum swap", venue_specific=True)
        q = await call(self.http, "GET", f"{self.base_url}/quote", self.venue,
                       params={"tokenIn": "USDC", "tokenOut": order.venue_symbol, "amountIn": notional_usd})
        if q.status_code >= 400:
            raise VenueRefused(f"SPOT: no quote for {order.venue_symbol}", venue_specific=True)
        min_out = float(q.json()["amountOut"]) * (1 - self.slippage)
        return await self._swap(signer, "USDC", order.venue_symbol, notional_usd, min_out, client_id, order.taker_fee_bps, True)

    async def status(self, signer: Signer, order: Order, client_id: str) -> VenueFill | None:
        r = await call(self.http, "GET", f"{self.base_url}/swaps", self.venue, params={"clientId": client_id})
        if r.status_code == 404:
            return None
        body = r.json()
        if body["status"] != "success":
            raise refusal(self.venue, body)
        return self._fill(body, order.taker_fee_bps, True)

    async def close(self, signer: Signer, position: Position, client_id: str) -> VenueFill:
        fill = await self._swap(signer, position.venue_symbol, "USDC", position.qty, 0.0, client_id, entry_fee_bps(position), False)
        return fill

    async def positions(self, signer: Signer) -> dict[str, float]:
        return await sim_positions(self.http, self.sim_url, self.venue, signer.address)
