"""What a user does on each venue before a deployment trades there, done on the local venues.

- Hyperliquid: an API wallet trades for an account that approved it and holds nothing itself; the account (the
  deployment's wallet) is funded and approves the agent (the simulator's `POST /admin/accounts`).
- Ostium: the trader (the user's wallet) holds USDC, approves it to the trading storage and delegates to the agent
  wallet (`setDelegate`); the agent pays gas.
- GMX: the account (the user's wallet) holds USDC, approves the Router for it and adds the agent as its subaccount
  (`addSubaccount`, an action count and an expiry on the SubaccountRouter); the agent pays gas and execution fees.
- SPOT: the agent wallet is the trading wallet: the user funds it with USDC, and it pays its own gas.

The local chain's faucet (`POST /admin/chain/faucet`) stands in for the user's own funds.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount

from vprime_chain.deploy import ERC20_ABI, Chain
from vprime_venues.gmx import abi as gmx_abi
from vprime_venues.gmx.constants import SUBACCOUNT_ORDER_ACTION
from vprime_venues.ostium import abi as ostium_abi

MAX_UINT256 = 2**256 - 1
GAS_ETH = Decimal(1)
SUBACCOUNT_ACTIONS = 1_000_000
SUBACCOUNT_LIFETIME_S = 365 * 86_400


def account_setup(venue: str, *, account: str, agent: str, equity_usd: float) -> dict[str, Any]:
    """The simulator's `POST /admin/accounts` body that funds Hyperliquid's account and approves `agent`."""
    if venue.upper() != "HYPERLIQUID":
        raise ValueError(f"{venue} is on chain: use connect_venue")
    return {"venue": "HYPERLIQUID", "address": account, "agent": agent, "equity_usd": equity_usd}


async def connect_venue(sim: httpx.AsyncClient, venue: str, *, user: LocalAccount, agent: str,
                        equity_usd: Decimal | float | int) -> None:
    """Connect `user`'s account on `venue` to the deployment's agent wallet `agent`, with `equity_usd` to trade.
    `sim`: a client of the simulator with its admin bearer."""
    venue = venue.upper()
    equity = Decimal(str(equity_usd))
    if venue == "HYPERLIQUID":
        setup = account_setup(venue, account=user.address, agent=agent, equity_usd=float(equity))
        (await sim.post("/admin/accounts", json=setup)).raise_for_status()
        return
    chain_view = (await sim.get("/admin/chain")).raise_for_status().json()
    contracts = chain_view["contracts"]
    trader = agent if venue == "SPOT" else user.address
    await _faucet(sim, trader, usdc=equity, eth=GAS_ETH)
    if venue == "SPOT":
        return
    await _faucet(sim, agent, eth=GAS_ETH)
    chain = Chain(chain_view["rpc_url"])
    try:
        usdc = chain.contract(ERC20_ABI, contracts["usdc"])
        if venue == "OSTIUM":
            trading = chain.contract(ostium_abi.TRADING, contracts["ostium_trading"])
            await chain.transact(usdc.functions.approve(contracts["ostium_trading_storage"], MAX_UINT256), user)
            await chain.transact(trading.functions.setDelegate(chain.w3.to_checksum_address(agent)), user)
        elif venue == "GMX":
            router = chain.contract(gmx_abi.SUBACCOUNT_ROUTER, contracts["gmx_subaccount_router"])
            agent_address = chain.w3.to_checksum_address(agent)
            expires = (await chain.w3.eth.get_block("latest"))["timestamp"] + SUBACCOUNT_LIFETIME_S
            await chain.transact(usdc.functions.approve(contracts["gmx_router"], MAX_UINT256), user)
            await chain.transact(router.functions.addSubaccount(agent_address), user)
            await chain.transact(router.functions.setMaxAllowedSubaccountActionCount(
                agent_address, SUBACCOUNT_ORDER_ACTION, SUBACCOUNT_ACTIONS), user)
            await chain.transact(router.functions.setSubaccountExpiresAt(
                agent_address, SUBACCOUNT_ORDER_ACTION, expires), user)
        else:
            raise ValueError(f"unknown venue {venue}")
    finally:
        await chain.close()


async def _faucet(sim: httpx.AsyncClient, address: str, *, usdc: Decimal = Decimal(0), eth: Decimal = Decimal(0)) -> None:
    r = await sim.post("/admin/chain/faucet", json={"address": address, "usdc": str(usdc), "eth": str(eth)})
    r.raise_for_status()


def connect_venue_blocking(simulator: str, headers: dict[str, str], venue: str, *, user: LocalAccount, agent: str,
                           equity_usd: Decimal | float | int) -> None:
    """`connect_venue` for callers without an event loop (the demo)."""

    async def connect() -> None:
        async with httpx.AsyncClient(base_url=simulator, headers=headers, timeout=30) as sim:
            await connect_venue(sim, venue, user=user, agent=agent, equity_usd=equity_usd)

    asyncio.run(connect())


