"""Hyperliquid: the `/exchange` `order` action, signed as the venue signs L1 actions (EIP-712 over the
msgpack action hash, by the deployment's agent wallet), with the asset index from `meta`, size rounded
down to `szDecimals`, an IoC limit price within `slippage` of the mid at five significant figures, a
`cloid` derived from our order id, `orderStatus` by cloid, equity from `clearinghouseState`, and
reduce-only closes."""

from __future__ import annotations

import math
import time

import httpx
from hyperliquid.utils.signing import float_to_wire, order_wires_to_order_action, sign_l1_action

from vprime_shared.contracts import Order, Position, Side, Venue

from vprime_venues.execution import Signer, VenueFill, VenueRefused, VenueUnavailable, call, entry_fee_bps
from vprime_venues.hyperliquid.constants import MIN_NOTIONAL_USD



def round_size(size: float, sz_decimals: int) -> float:
    factor = 10**sz_decimals
    return math.floor(size * factor + 1e-9) / factor


def round_price(px: float, sz_decimals: int) -> float:
    """Five significant figures and at most 6 - szDecimals decimals, as the venue accepts."""
    if px <= 0:
        return px
    sig = round(px, 4 - int(math.floor(math.log10(px))))
    return round(sig, max(6 - sz_decimals, 0))


def fill(avg_px: float, size: float, oid: str, multiplier: float, fee_bps: float) -> VenueFill:
    notional = avg_px * size
    return VenueFill(price=avg_px / multiplier, qty=size * multiplier, notional_usd=notional, fee_usd=notional * fee_bps / 10_000,
                     venue_order_id=oid)


class HyperliquidVenue:
    venue = Venue.HYPERLIQUID

    def __init__(self, http: httpx.AsyncClient, base_url: str, *, slippage: float = 0.01, mainnet: bool = False) -> None:
        self.http, self.base_url, self.slippage, self.mainnet = http, base_url.rstrip("/"), slippage, mainnet
        self._assets: dict[str, tuple[int, int]] = {}

    async def _info(self, body: dict) -> object:
        r = await call(self.http, "POST", f"{self.base_url}/info", self.venue, json=body)
        r.raise_for_status()
        return r.json()

    async def asset(self, symbol: str) -> tuple[int, int]:
        if symbol not in self._assets:
            meta = await self._info({"type": "meta"})
            self._assets = {a["name"]: (i, a["szDecimals"]) for i, a in enumerate(meta["universe"])}  # type: ignore[index]
        if symbol not in self._assets:
            raise VenueRefused(f"HYPERLIQUID has no asset {symbol}", venue_specific=True)
        return self._assets[symbol]

    async def equity(self, signer: Signer) -> float:
        state = await self._info({"type": "clearinghouseState", "user": signer.address})
        return float(state["marginSummary"]["accountValue"])  # type: ignore[index]

    async def _mid(self, symbol: str) -> float:
        mids = await self._info({"type": "allMids"})
        return float(mids[symbol])  # type: ignore[index]

    async def _send(self, signer: Signer, symbol: str, is_buy: bool, size: float, client_id: str, reduce_only: bool,
                    multiplier: float, fee_bps: float) -> VenueFill:
        asset, sz_decimals = await self.asset(symbol)
        mid = await self._mid(symbol)
        limit = round_price(mid * (1 + self.slippage if is_buy else 1 - self.slippage), sz_decimals)
        wire = {"a": asset, "b": is_buy, "p": float_to_wire(limit), "s": float_to_wire(size), "r": reduce_only,
                "t": {"limit": {"tif": "Ioc"}}, "c": client_id}
        action = order_wires_to_order_action([wire])
        nonce = int(time.time() * 1000)
        signature = sign_l1_action(signer.account, action, None, nonce, None, self.mainnet)
        r = await call(self.http, "POST", f"{self.base_url}/exchange", self.venue,
                       json={"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None})
        body = r.json()
        if body.get("status") != "ok":
            raise VenueRefused(f"HYPERLIQUID: {body.get('response')}", venue_specific=False)
        status = body["response"]["data"]["statuses"][0]
        if "filled" in status:
            f = status["filled"]
            return fill(float(f["avgPx"]), float(f["totalSz"]), str(f["oid"]), multiplier, fee_bps)
        error = status.get("error", "refused")
        raise VenueRefused(f"HYPERLIQUID: {error}", venue_specific="could not immediately match" in error)

    async def place(self, signer: Signer, order: Order, notional_usd: float, client_id: str) -> VenueFill:
        _, sz_decimals = await self.asset(order.venue_symbol)
        mid = await self._mid(order.venue_symbol)
        size = round_size(notional_usd / mid, sz_decimals)
        if size * mid < MIN_NOTIONAL_USD:
            raise VenueRefused(f"HYPERLIQUID: order value {size * mid:.2f} USD is below the minimum {MIN_NOTIONAL_USD:g} USD",
                               venue_specific=True)
        return await self._send(signer, order.venue_symbol, order.side is Side.LONG, size, client_id, False,
                                order.contract_multiplier, order.taker_fee_bps)

    async def status(self, signer: Signer, order: Order, client_id: str) -> VenueFill | None:
        found = await self._info({"type": "orderStatus", "user": signer.address, "oid": client_id})
        if found.get("status") != "order":  # type: ignore[union-attr]
            return None  # the order never reached the venue
        o = found["order"]  # type: ignore[index]
        if o["status"] != "filled":
            raise VenueRefused(f"HYPERLIQUID: order {client_id} {o['status']}", venue_specific=False)
        return fill(float(o["order"]["avgPx"]), float(o["order"]["totalSz"]), str(o["order"]["oid"]), order.contract_multiplier,
                    order.taker_fee_bps)

    async def close(self, signer: Signer, position: Position, client_id: str) -> VenueFill:
        multiplier = float(position.extra.get("contract_multiplier", 1.0))
        _, sz_decimals = await self.asset(position.venue_symbol)
        size = round_size(position.qty / multiplier, sz_decimals)
        return await self._send(signer, position.venue_symbol, position.side is Side.SHORT, size, client_id, True, multiplier,
                                entry_fee_bps(position))

    async def positions(self, signer: Signer) -> dict[str, float]:
        state = await self._info({"type": "clearinghouseState", "user": signer.address})
        return {p["position"]["coin"]: float(p["position"]["szi"]) for p in state["assetPositions"]}  # type: ignore[index]


__all__ = ["HyperliquidVenue", "VenueUnavailable"]
