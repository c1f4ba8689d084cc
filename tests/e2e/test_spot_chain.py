"""SPOT as Uniswap V3 swaps on the stack's chain (Uniswap's own published bytecode), on real Kafka and PostgreSQL: a
signal opens a position whose entry, size and fees are the pool's Swap event; a stop sells it back on chain; a swap
front-run past its slippage floor is REJECTED with SwapRouter02's reason; two signals at once from one agent wallet
both land; every transaction decodes with Uniswap's published ABIs."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.logs import DISCARD

from vprime_chain import uniswap
from vprime_local.stack import ServiceStack
from tests.conftest import eventually
from tests.e2e.helpers import create_agent, deploy, long_signal, set_price, settled_timeline, sim_admin, tick
from venues.tests.spot import frontrun

pytestmark = pytest.mark.integration
FEE = Decimal(3000) / 1_000_000  # the pools' 0.30 % tier


class OnChain:
    """The stack's chain as the tests read it, with Uniswap's published artifacts."""

    def __init__(self, rpc_url: str, view: dict[str, Any]) -> None:
        self.w3 = AsyncWeb3(AsyncHTTPProvider(rpc_url))
        self.view, self.rpc_url = view, rpc_url
        self.tokens = view["tokens"]
        self.router = self.w3.eth.contract(address=view["contracts"]["uniswap_swap_router"], abi=uniswap.swap_router_artifact().abi)
        self.factory = self.w3.eth.contract(address=view["contracts"]["uniswap_factory"], abi=uniswap.factory_artifact().abi)

    def erc20(self, symbol: str) -> Any:
        return self.w3.eth.contract(address=self.tokens[symbol]["address"], abi=uniswap.TOKEN_ABI)

    async def balance(self, symbol: str, owner: str) -> int:
        return await self.erc20(symbol).functions.balanceOf(self.w3.to_checksum_address(owner)).call()

    async def pool(self, symbol: str) -> uniswap.Pool:
        token, usdc = self.tokens[symbol], self.tokens["USDC"]
        address = await self.factory.functions.getPool(token["address"], usdc["address"], 3000).call()
        return uniswap.Pool(symbol, address, uniswap.Token(token["address"], token["decimals"]),
                            uniswap.Token(usdc["address"], usdc["decimals"]))

    async def price(self, symbol: str) -> Decimal:
        pool = await self.pool(symbol)
        slot0 = await self.w3.eth.contract(address=pool.address, abi=uniswap.pool_artifact().abi).functions.slot0().call()
        return pool.price(slot0[0])

    async def swap_of(self, tx_hash: str, symbol: str) -> tuple[Any, Any, uniswap.Pool]:
        """The transaction's receipt and its one Swap event, decoded with the pool's published ABI."""
        pool = await self.pool(symbol)
        receipt = await self.w3.eth.get_transaction_receipt(tx_hash)
        contract = self.w3.eth.contract(address=pool.address, abi=uniswap.pool_artifact().abi)
        [swap] = [e for e in contract.events.Swap().process_receipt(receipt, errors=DISCARD) if e.address == pool.address]
        return receipt, swap, pool

    def usdc_and_token(self, swap: Any, pool: uniswap.Pool) -> tuple[int, int]:
        a0, a1 = swap.args.amount0, swap.args.amount1
        return (a1, a0) if pool.token_is_token0 else (a0, a1)


@pytest.fixture(scope="module")
async def chain(http: httpx.AsyncClient, stack: ServiceStack) -> OnChain:
    r = await http.get(f"{stack.url('simulator')}/admin/chain", headers=sim_admin())
    assert r.status_code == 200, r.text
    return OnChain(stack.url("chain"), r.json())


async def spot_deployment(http: httpx.AsyncClient, control: str, sim: str, name: str, usdc: str = "10000") -> tuple[dict, str]:
    """An agent deployed on SPOT alone, its executor-made agent trading wallet funded with USDC and ether for gas."""
    agent = await create_agent(http, control, name=name)
    deployment = await deploy(http, control, agent["id"], enabled_venues=["SPOT"], user_wallet=Account.create().address)
    r = await http.post(f"{control}/api/v3/deployments/{deployment['id']}/agent-wallets/SPOT")
    assert r.status_code == 201, r.text
    wallet = r.json()["address"]
    r = await http.post(f"{sim}/admin/chain/faucet", json={"address": wallet, "usdc": usdc, "eth": "1"}, headers=sim_admin())
    assert r.status_code == 200, r.text
    return agent, wallet


async def test_a_signal_opens_the_pools_swap_and_a_stop_sells_it_on_chain(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, producer: AIOKafkaProducer, chain: OnChain,
) -> None:
    sim = stack.url("simulator")
    agent, wallet = await spot_deployment(http, control_url, sim, "spot open and stop")
    s = await long_signal(http, control_url, agent["id"], "PENDLE", size_pct=10, leverage=1, stop=0.05)
    t = await settled_timeline(http, query_url, s["id"])
    assert t["signal"]["status"] == "EXECUTED", t["orders"]
    [order], [position] = t["orders"], t["positions"]
    assert order["venue"] == "SPOT" and order["status"] == "FILLED"

    # The transaction: SwapRouter02.multicall(deadline, [exactInputSingle(...)]) by the agent wallet, 10 % of 10,000 USDC.
    tx = await chain.w3.eth.get_transaction(order["venue_order_id"])
    assert tx["from"].lower() == wallet.lower() and tx["to"] == chain.router.address
    fn, args = chain.router.decode_function_input(tx["input"])
    inner, call = chain.router.decode_function_input(args["data"][0])
    assert (fn.fn_name, inner.fn_name) == ("multicall", "exactInputSingle")
    params = call["params"]
    assert params["tokenIn"] == chain.tokens["USDC"]["address"] and params["tokenOut"] == chain.tokens["PENDLE"]["address"]
    assert params["recipient"].lower() == wallet.lower() and params["amountIn"] == 1_000 * 10**6 and params["fee"] == 3000

    # Entry, size and fees are the Swap event's: price before the pool's fee, the fee plus the gas.
    receipt, swap, pool = await chain.swap_of(order["venue_order_id"], "PENDLE")
    usdc_in, token_delta = chain.usdc_and_token(swap, pool)
    decimals = chain.tokens["PENDLE"]["decimals"]
    qty = Decimal(-token_delta) / 10**decimals
    assert usdc_in == 1_000 * 10**6 and swap.args.recipient.lower() == wallet.lower()
    assert position["qty"] == pytest.approx(float(qty), rel=1e-12)
    assert position["entry_price"] == pytest.approx(float(Decimal(usdc_in) * (1 - FEE) / 10**6 / qty), rel=1e-12)
    assert params["amountOutMinimum"] <= -token_delta  # the floor held
    gas_usd = receipt["gasUsed"] * receipt["effectiveGasPrice"] / 10**18 * float(await chain.price("WETH"))
    assert position["fees_usd"] - 3.0 == pytest.approx(gas_usd, rel=0.05)
    assert await chain.balance("PENDLE", wallet) == -token_delta

    # The oracle falls 10 %: the pool follows (the arbitrageur), the tick crosses the 5 % stop, the tokens are sold.
    entry = Decimal(repr(position["entry_price"]))
    lower = entry * Decimal("0.9")
    await set_price(http, sim, "SPOT", "PENDLE", float(lower))

    async def pool_followed() -> bool:
        return abs(await chain.price("PENDLE") / lower - 1) < Decimal("0.002")

    await eventually(pool_followed, timeout=30, what="the arbitrageur to bring the pool to the oracle's price")
    await tick(producer, "SPOT", "PENDLE", float(lower))

    async def closed() -> dict | None:
        p = (await http.get(f"{query_url}/api/v3/signals/{s['id']}/timeline")).json()["positions"][0]
        return p if p["state"] == "CLOSED" else None

    done = await eventually(closed, timeout=60, what="the stop to sell the position on chain")
    assert await chain.balance("PENDLE", wallet) == 0
    assert done["exit_price"] == pytest.approx(float(lower), rel=0.003)
    assert done["realized_pnl_usd"] < 0


async def test_a_swap_front_run_past_its_floor_is_rejected_with_uniswaps_reason(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, chain: OnChain,
) -> None:
    sim = stack.url("simulator")
    agent, wallet = await spot_deployment(http, control_url, sim, "spot front-run")
    first = await long_signal(http, control_url, agent["id"], "CRV", size_pct=1, leverage=1)  # approves USDC once
    assert (await settled_timeline(http, query_url, first["id"]))["signal"]["status"] == "EXECUTED"

    whale = Account.create()
    r = await http.post(f"{sim}/admin/chain/faucet", json={"address": whale.address, "usdc": "2000000", "eth": "10"},
                        headers=sim_admin())
    assert r.status_code == 200, r.text
    approve = await chain.erc20("USDC").functions.approve(chain.router.address, 2**256 - 1).build_transaction(
        {"from": whale.address, "gas": 100_000, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "nonce": 0,
         "chainId": chain.view["chain_id"]})
    await chain.w3.eth.wait_for_transaction_receipt(
        await chain.w3.eth.send_raw_transaction(whale.sign_transaction(approve).raw_transaction))
    buy = await chain.router.functions.exactInputSingle((chain.tokens["USDC"]["address"], chain.tokens["CRV"]["address"], 3000,
                                                         whale.address, 2_000_000 * 10**6, 0, 0)).build_transaction(
        {"from": whale.address, "gas": 400_000, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**10, "nonce": 1})
    anvil = frontrun.Anvil(chain.rpc_url)

    async def keeper(mode: str) -> None:
        r = await http.post(f"{sim}/admin/chain/keepers", json={"venue": "SPOT", "mode": mode}, headers=sim_admin())
        assert r.status_code == 200, r.text

    await keeper("never")  # the arbitrageur would undo the whale's move
    try:
        for _ in range(3):  # the chain's other keepers mine blocks of their own: catching the swap pending can fail
            await anvil.rpc("evm_setAutomine", False)
            s = await long_signal(http, control_url, agent["id"], "CRV", size_pct=10, leverage=1)
            victim = await anvil.front_run(wallet, whale, buy)  # the whale's $2M buy is mined first: CRV up ~8 %
            if victim is not None:
                break
        assert victim is not None, "a keeper's block mined the swap before it could be front-run, three times"
    finally:
        await anvil.rpc("evm_setAutomine", True)
        await keeper("ok")
    t = await settled_timeline(http, query_url, s["id"])
    [order] = t["orders"]
    assert order["status"] == "REJECTED" and "Too little received" in order["reason"], order
    assert t["positions"] == []
    assert (await chain.w3.eth.get_transaction_receipt(victim))["status"] == 0  # reverted on chain, not before it


async def test_two_signals_at_once_from_one_agent_wallet_both_land(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, chain: OnChain,
) -> None:
    agent, wallet = await spot_deployment(http, control_url, stack.url("simulator"), "spot two at once")
    signals = await asyncio.gather(*(long_signal(http, control_url, agent["id"], i, size_pct=10, leverage=1)
                                     for i in ("AAVE", "COMP")))
    timelines = await asyncio.gather(*(settled_timeline(http, query_url, s["id"]) for s in signals))
    assert [t["signal"]["status"] for t in timelines] == ["EXECUTED"] * 2, [t["orders"] for t in timelines]
    txs = [await chain.w3.eth.get_transaction(t["orders"][0]["venue_order_id"]) for t in timelines]
    assert {tx["from"].lower() for tx in txs} == {wallet.lower()} and len({tx["nonce"] for tx in txs}) == 2
    for t, symbol in zip(timelines, ("AAVE", "COMP"), strict=True):
        [position] = t["positions"]
        assert position["qty"] * 10 ** chain.tokens[symbol]["decimals"] == pytest.approx(await chain.balance(symbol, wallet))
