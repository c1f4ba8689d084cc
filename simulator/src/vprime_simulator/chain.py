"""The simulator's side of the local chain: it deploys the venues' contracts once (or finds them deployed), runs
each venue's keeper at the simulator's oracle prices, and funds local accounts.

A `Deployment` is written to `SIMULATOR_CHAIN_FILE` for the local stack, which hands the addresses to the router
and the executor as settings (`ARBITRUM_RPC_URL`, `<NAME>_ADDRESS`, `CHAIN_TOKENS_JSON`)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from vprime_chain.deploy import VENUE_MODULES, Chain, Deployment, Faucet, deploy_all, is_deployed

from vprime_shared.addresses import ADDRESS
from vprime_simulator.exchange import Exchange

log = logging.getLogger("vprime.simulator.chain")
KEEPER_VENUES = {"ostium": "OSTIUM", "gmx": "GMX", "uniswap": "SPOT"}


def oracle(exchange: Exchange, venue: str) -> Any:
    """The venue's current mid per venue symbol, as an exact decimal (the keepers' oracle)."""

    def price_of(symbol: str) -> Decimal:
        return Decimal(repr(exchange.mid(exchange.markets[venue][symbol])))

    return price_of


def market_hours(exchange: Exchange, venue: str) -> Any:
    """Whether the venue's market is open now, per venue symbol (`POST /admin/market` closes one): a keeper that is
    given it cancels the orders of a closed market as the venue does (MARKET_CLOSED)."""

    def is_open(symbol: str) -> bool:
        return exchange.markets[venue][symbol].open

    return is_open


@dataclass
class ChainSite:
    chain: Chain
    deployment: Deployment
    keepers: dict[str, Any] = field(default_factory=dict)  # venue -> keeper (attributes `mode`, `delay_s`)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def faucet(self) -> Faucet:
        return Faucet(self.chain, self.deployment)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.chain.close()


async def open_chain(exchange: Exchange, rpc_url: str, deployment_file: Path, *, keepers: bool = True) -> ChainSite:
    """The chain's deployment (made if absent), and its keepers running unless `keepers` is false (a second simulator
    on the same chain: two keepers would race for every order and nonce)."""
    chain = Chain(rpc_url)
    deployment = Deployment.from_json(deployment_file.read_text()) if deployment_file.exists() else None
    if deployment is None or deployment.rpc_url != rpc_url or not await is_deployed(chain, deployment):
        prices = {instrument: Decimal(repr(price)) for instrument, price in exchange.prices.items()}
        spot = sorted(m.symbol for m in exchange.markets["SPOT"].values())
        log.info("deploying the venues' contracts to %s", rpc_url)
        deployment = await deploy_all(chain, prices, spot)
        deployment.save(deployment_file)
    log.info("chain %s: %d contracts, %d tokens", rpc_url, len(deployment.contracts), len(deployment.tokens))
    site = ChainSite(chain, deployment)
    for name in VENUE_MODULES if keepers else ():
        module = _venue_module(name)
        keeper_class = getattr(module, "Keeper", None) if module else None
        if keeper_class is not None:
            venue = KEEPER_VENUES[name]
            hours = {"is_open": market_hours(exchange, venue)} if "is_open" in inspect.signature(keeper_class).parameters else {}
            keeper = keeper_class(chain, deployment, oracle(exchange, venue), **hours)
            site.keepers[venue] = keeper
            site.tasks.append(asyncio.create_task(keeper.run(), name=f"keeper-{name}"))
    return site


def _venue_module(name: str) -> Any:
    try:
        return importlib.import_module(f"vprime_chain.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"vprime_chain.{name}":
            raise
        return None


def chain_view(site: ChainSite) -> dict[str, Any]:
    d = site.deployment
    return {"chain_id": d.chain_id, "rpc_url": d.rpc_url, "contracts": d.contracts,
            "tokens": {s: {"address": t.address, "decimals": t.decimals} for s, t in d.tokens.items()},
            "keepers": {venue: {"mode": getattr(k, "mode", "ok"), "delay_s": getattr(k, "delay_s", None)}
                        for venue, k in site.keepers.items()}}


class FaucetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(pattern=ADDRESS.pattern)
    usdc: Decimal = Field(default=Decimal(0), ge=0, le=Decimal(10**12))
    eth: Decimal = Field(default=Decimal(0), ge=0, le=Decimal(10**6))


class KeeperMode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    venue: str = Field(max_length=16)
    mode: str = Field(pattern="^(ok|delay|never|gap)$")
    delay_s: float | None = Field(default=None, ge=0, le=600)


def add_chain_routes(app: FastAPI) -> None:
    """`GET /admin/chain` (chain id, RPC URL, every contract and token address by name, the keepers' modes),
    `POST /admin/chain/faucet` (ether for gas and test USDC to a local account) and `POST /admin/chain/keepers`
    (a keeper's fault mode: `ok`, `delay` by `delay_s`, `never`, or `gap`: prices moved past
    every order's acceptable price, where the venue's keeper supports it). 503 when the simulator runs without a chain."""
    def site_of(request: Request) -> ChainSite:
        site = getattr(request.app.state, "chain", None)
        if site is None:
            raise HTTPException(503, "the simulator runs without a chain (ARBITRUM_RPC_URL is not set)")
        return site

    @app.get("/admin/chain")
    async def admin_chain(request: Request) -> dict[str, Any]:
        return chain_view(site_of(request))

    @app.post("/admin/chain/faucet")
    async def admin_faucet(body: FaucetRequest, request: Request) -> dict[str, Any]:
        await site_of(request).faucet.fund(body.address, usdc=body.usdc, eth=body.eth)
        return {"address": body.address, "usdc": str(body.usdc), "eth": str(body.eth)}

    @app.post("/admin/chain/keepers")
    async def admin_keepers(body: KeeperMode, request: Request) -> dict[str, Any]:
        site = site_of(request)
        keeper = site.keepers.get(body.venue.upper())
        if keeper is None:
            raise HTTPException(404, f"no keeper for {body.venue}; keepers: {', '.join(sorted(site.keepers)) or 'none'}")
        keeper.mode = body.mode
        if body.delay_s is not None:
            keeper.delay_s = body.delay_s
        return chain_view(site)["keepers"]
