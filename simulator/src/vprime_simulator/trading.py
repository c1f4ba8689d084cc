"""The simulator's account admin: Hyperliquid's accounts, as its clearinghouse keeps them (`hyperliquid.py`).

Ostium, GMX and SPOT hold funds and positions on the local chain: their accounts are funded with the chain's faucet
(`POST /admin/chain/faucet`) and connected by transactions, as on the venues (`vprime_local.venue_accounts`).

`POST /admin/accounts` funds a Hyperliquid account (`{"venue": "HYPERLIQUID", "address", "equity_usd"}`) and, with an
optional `"agent"` (and `"agent_name"`, "" by default), approves that API wallet for it, as the venue's approveAgent
would without the account's key. `POST /admin/holdings` sets a position the account holds outside Vprime.
`GET /admin/orders` lists the orders Hyperliquid received (`client_order_id` is the cloid, `venue_order_id` the oid).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from vprime_simulator.exchange import Exchange
from vprime_simulator.hyperliquid import Position, address_ok, wire

HOLDING_ACCOUNT_EQUITY_USD = 10_000.0  # an account a holding is set for before it was funded
ON_CHAIN = "{venue} accounts live on the local chain: fund them with POST /admin/chain/faucet and connect them by transactions"


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


def add_trading_routes(app: FastAPI, exchange: Exchange) -> None:
    hl = exchange.hyperliquid

    def hyperliquid_only(venue: str) -> None:
        if venue.upper() != "HYPERLIQUID":
            raise HTTPException(422, ON_CHAIN.format(venue=venue.upper()))

    @app.post("/admin/accounts")
    async def fund(setup: AccountSetup) -> dict[str, Any]:
        """Fund a Hyperliquid account with `equity_usd` (as a deposit would) and approve `agent` for it."""
        hyperliquid_only(setup.venue)
        if not address_ok(setup.address) or (setup.agent is not None and not address_ok(setup.agent)):
            raise HTTPException(422, "address and agent are 42-character hex addresses")
        if setup.agent is not None and setup.agent.lower() == setup.address.lower():
            raise HTTPException(422, "an API wallet is another address than its account")
        hl_acct = hl.fund(setup.address, setup.equity_usd)
        if setup.agent is not None:
            hl.approve_agent(hl_acct.address, setup.agent, setup.agent_name)
        return {"venue": "HYPERLIQUID", "address": hl_acct.address, "equity_usd": float(hl_acct.usdc),
                "agent": setup.agent.lower() if setup.agent else None}

    @app.post("/admin/holdings")
    async def set_holding(change: HoldingChange) -> dict[str, Any]:
        """A position the account holds that Vprime did not open (trading by hand on the venue, say)."""
        hyperliquid_only(change.venue)
        m = hl.by_coin(change.symbol)
        if m is None or not address_ok(change.address):
            raise HTTPException(422, f"no Hyperliquid coin {change.symbol!r}, or a bad address")
        hl_acct = hl.accounts.get(change.address.lower()) or hl.fund(change.address, HOLDING_ACCOUNT_EQUITY_USD)
        hl_acct.positions[m.symbol] = Position(Decimal(wire(change.size, m.sz_decimals)), Decimal(str(change.entry_px)))
        return {"venue": "HYPERLIQUID", "address": hl_acct.address, "symbol": m.symbol, "size": change.size}

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
        found = [o for o in hl_orders() if (venue is None or o["venue"] == venue.upper())
                 and (client_order_id is None or o["client_order_id"] == client_order_id)]
        return {"count": len(found), "orders": found[-200:]}


__all__ = ["Body", "add_trading_routes"]
