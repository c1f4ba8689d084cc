from __future__ import annotations

import httpx

from vprime_shared import ids
from vprime_shared.contracts import Order, Side

from vprime_executor.adapters.venues import VenueRefused, VenueUnavailable
from vprime_executor.domain.fills import Fill

# Refusals that are about this venue's market, not about the order or the account.
VENUE_SPECIFIC_CODES = frozenset({"MARKET_CLOSED", "DELISTED", "NO_SHORT", "MIN_NOTIONAL", "LIQUIDITY"})


class SimulatorVenue:
    def __init__(self, http: httpx.AsyncClient, base_url: str, *, equity_usd: float) -> None:
        self.http, self.base_url, self.equity_usd = http, base_url.rstrip("/"), equity_usd

    async def place_order(self, order: Order) -> tuple[Fill, str]:
        cid = ids.client_order_id(order.order_id)
        notional = self.equity_usd * order.size_pct / 100 * order.leverage
        body = {"client_order_id": cid, "symbol": order.venue_symbol, "side": "BUY" if order.side is Side.LONG else "SELL",
                "notional_usd": round(notional, 2)}
        url = f"{self.base_url}/sim/{order.venue.value}/orders"
        try:
            r = await self.http.post(url, json=body)
        except httpx.TimeoutException:
            # The outcome is unknown: ask by client order id before calling it a failure.
            answer = await self._status(order, cid)
            if answer is None:
                raise VenueUnavailable(f"{order.venue.value} timed out") from None
            return self._fill(order, answer)
        except httpx.HTTPError as exc:
            raise VenueUnavailable(f"{order.venue.value} unreachable: {type(exc).__name__}") from exc
        if r.status_code >= 500:
            raise VenueUnavailable(f"{order.venue.value} answered {r.status_code}: {r.text[:200]}")
        answer = r.json()
        return self._fill(order, answer)

    async def _status(self, order: Order, cid: str) -> dict | None:
        try:
            r = await self.http.get(f"{self.base_url}/sim/{order.venue.value}/orders/{cid}")
        except httpx.HTTPError:
            return None
        return r.json() if r.status_code == 200 else None

    def _fill(self, order: Order, answer: dict) -> tuple[Fill, str]:
        if answer.get("status") != "filled":
            code = answer.get("code", "")
            raise VenueRefused(f"{order.venue.value}: {answer.get('reason', 'refused')}", venue_specific=code in VENUE_SPECIFIC_CODES)
        m = order.contract_multiplier
        price, qty = float(answer["avg_px"]) / m, float(answer["size"]) * m
        notional = price * qty
        return Fill(price=price, qty=qty, notional_usd=notional, fee_usd=notional * order.taker_fee_bps / 10_000), answer["venue_order_id"]
