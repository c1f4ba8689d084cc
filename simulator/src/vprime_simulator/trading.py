"""The simulator's trading side, in each venue's own shape (Hyperliquid's is `hyperliquid_api.py`).

GMX v2 trades on the local chain (`vprime_chain.gmx`), not here.

Accounts start with `default_equity` USDC; positions are kept per account. Each order is known by its client id:
asking again answers the same order.

The admin side, for every venue: `POST /admin/accounts` funds an account (`{"venue", "address", "equity_usd"}`); on
Hyperliquid, `"address"` is the account and an optional `"agent"` (with an optional `"agent_name"`, "" by default)
is an API wallet approved for it, as the venue's approveAgent would without the account's key. `POST /admin/holdings`
sets a position the account holds outside Vprime. `GET /admin/orders` lists placed orders, Hyperliquid's included
(`client_order_id` is the cloid, `venue_order_id` the oid).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from vprime_simulator.exchange import Exchange, Holding, Order
from vprime_simulator.hyperliquid import Position, address_ok, wire



class Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class HoldingChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    venue: str
    address: str
    symbol: str
    size: float
    entry_px: float = Field(gt=0)


class AccountSetup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    venue: str
    address: str
    equity_usd: float = Field(default=10_000, gt=0)
    agent: str | None = Field(default=None, description="Hyperliquid only: an API wallet to approve for the account")
    agent_name: str = Field(default="", max_length=16, description="Hyperliquid only: the API wallet's name")


def add_trading_routes(app: FastAPI, exchange: Exchange, *, keeper_delay_s: float = 0.3) -> None:
    hl = exchange.hyperliquid

    # ---- accounts, for every venue -----------------------------------------------------------
    @app.get("/sim/{venue}/accounts/{address}")
    async def account_state(venue: str, address: str) -> dict[str, Any]:
        if venue.upper() == "HYPERLIQUID":
            raise HTTPException(404, "Hyperliquid accounts are read with its clearinghouseState info request")
        acct = exchange.account(venue.upper(), address)
        assert acct is not None
        holdings = {s: {"size": h.size, "entry_px": h.entry_px} for s, h in acct.holdings.items() if h.size}
        return {"venue": acct.venue, "address": acct.address, "equity_usd": exchange.equity(acct), "cash_usd": acct.cash_usd,
                "fees_usd": acct.fees_usd, "positions": holdings}

    @app.post("/admin/accounts")
    async def fund(setup: AccountSetup) -> dict[str, Any]:
        """Fund an account with `equity_usd` (as a deposit would); on Hyperliquid, also approve `agent` for it."""
        venue = setup.venue.upper()
        if venue == "HYPERLIQUID":
            if not address_ok(setup.address) or (setup.agent is not None and not address_ok(setup.agent)):
                raise HTTPException(422, "address and agent are 42-character hex addresses")
            if setup.agent is not None and setup.agent.lower() == setup.address.lower():
                raise HTTPException(422, "an API wallet is another address than its account")
            hl_acct = hl.fund(setup.address, setup.equity_usd)
            if setup.agent is not None:
                hl.approve_agent(hl_acct.address, setup.agent, setup.agent_name)
            return {"venue": venue, "address": hl_acct.address, "equity_usd": float(hl_acct.usdc),
                    "agent": setup.agent.lower() if setup.agent else None}
        if setup.agent is not None:
            raise HTTPException(422, "API wallets are Hyperliquid's")
        acct = exchange.account(venue, setup.address)
        assert acct is not None
        acct.cash_usd = setup.equity_usd
        return {"venue": acct.venue, "address": acct.address, "equity_usd": acct.cash_usd}

    @app.post("/admin/holdings")
    async def set_holding(change: HoldingChange) -> dict[str, Any]:
        """A position the account holds that Vprime did not open (trading by hand on the venue, say)."""
        if change.venue.upper() == "HYPERLIQUID":
            m = hl.by_coin(change.symbol)
            if m is None or not address_ok(change.address):
                raise HTTPException(422, f"no Hyperliquid coin {change.symbol!r}, or a bad address")
            hl_acct = hl.accounts.get(change.address.lower()) or hl.fund(change.address, exchange.default_equity)
            hl_acct.positions[m.symbol] = Position(Decimal(wire(change.size, m.sz_decimals)), Decimal(str(change.entry_px)))
            return {"venue": "HYPERLIQUID", "address": hl_acct.address, "symbol": m.symbol, "size": change.size}
        acct = exchange.account(change.venue.upper(), change.address)
        assert acct is not None
        acct.holdings[change.symbol] = Holding(change.size, change.entry_px)
        return {"venue": acct.venue, "address": acct.address, "symbol": change.symbol, "size": change.size}

    def hl_orders() -> list[dict[str, Any]]:
        filled: dict[int, tuple[float, float]] = {}  # oid → (size, notional)
        for fills in hl.fills.values():
            for f in fills:
                size, notional = filled.get(f["oid"], (0.0, 0.0))
                filled[f["oid"]] = (size + float(f["sz"]), notional + float(f["sz"]) * float(f["px"]))
        out = []
        for o in hl.orders.values():
            size, notional = filled.get(o.oid, (0.0, 0.0))
            out.append({"client_order_id": o.cloid, "venue": "HYPERLIQUID", "symbol": o.coin, "side": "BUY" if o.is_buy else "SELL",
                        "status": o.status, "avg_px": notional / size if size else None, "size": size, "notional_usd": notional,
                        "venue_order_id": str(o.oid), "account": o.user, "reduce_only": o.reduce_only, "ts": o.timestamp / 1000})
        return out

    @app.get("/admin/orders")
    async def orders(venue: str | None = None, client_order_id: str | None = None) -> dict[str, Any]:
        every = [o.__dict__ for o in exchange.orders.values()] + hl_orders()
        found = [o for o in every if (venue is None or o["venue"] == venue.upper())
                 and (client_order_id is None or o["client_order_id"] == client_order_id)]
        return {"count": len(found), "orders": found[-200:]}


__all__ = ["Body", "Order", "add_trading_routes"]
