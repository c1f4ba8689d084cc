"""SPOT's execution adapter against Uniswap V3's own bytecode on a real anvil: fills are the pool's Swap event to the
token unit, the slippage floor is the quote's, reverts carry the contract's reason, one wallet's concurrent swaps
all land, and a lost answer is found by its client id."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from eth_account import Account
from web3.logs import DISCARD

from vprime_chain import uniswap
from vprime_chain.deploy import Faucet
from vprime_shared.contracts import Position, PositionState, Side, Venue
from vprime_shared.contracts.base import utcnow
from vprime_venues.evm import MemoryJournal
from vprime_venues.execution import Signer, VenueRefused, VenueUnknown
from vprime_venues.spot.execution import SpotVenue, minimum_out

from venues.tests.spot import frontrun
from venues.tests.spot.conftest import PRICES, an_order, cid, evm_client, funded_signer, spot_venue


def a_position(symbol: str, qty: float, entry: float, fees: float) -> Position:
    return Position(position_id=uuid.uuid4(), order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(),
                    agent_id=uuid.uuid4(), deployment_id=uuid.uuid4(), venue=Venue.SPOT, venue_symbol=symbol,
                    instrument=symbol.removeprefix("W"), side=Side.LONG, state=PositionState.OPEN, entry_price=entry,
                    qty=qty, notional_usd=qty * entry, size_pct=10, equity_usd=10_000, leverage=1, fees_usd=fees,
                    opened_at=utcnow())


async def balance(chain, symbol: str, owner: str) -> int:
    c, d = chain
    return await c.contract(uniswap.TOKEN_ABI, d.tokens[symbol].address).functions.balanceOf(owner).call()


async def pool_of(chain, symbol: str) -> uniswap.Pool:
    return next(p for p in await uniswap.pools(*chain) if p.symbol == symbol)


# ---- a buy, to the unit --------------------------------------------------------------------------
async def test_a_buy_fills_what_the_pools_swap_event_says(chain, venue: SpotVenue, signer: Signer) -> None:
    c, d = chain
    fill = await venue.place(signer, an_order("WETH"), 1_000.0, cid())

    weth_units = await balance(chain, "WETH", signer.address)
    assert await balance(chain, "USDC", signer.address) == 9_000 * 10**6  # exactly 1,000 USDC in
    assert Decimal(repr(fill.qty)) == pytest.approx(Decimal(weth_units) / 10**18, rel=Decimal("1e-15"))
    receipt = await c.w3.eth.get_transaction_receipt(fill.venue_order_id)
    pool = await pool_of(chain, "WETH")
    [swap] = c.contract(uniswap.pool_artifact(), pool.address).events.Swap().process_receipt(receipt, errors=DISCARD)
    usdc_in, weth_out = (swap.args.amount1, -swap.args.amount0) if pool.token_is_token0 else (swap.args.amount0, -swap.args.amount1)
    assert (usdc_in, weth_out) == (1_000 * 10**6, weth_units)
    # The price is before the pool's 0.30 %: 997 USDC bought `qty`; the fee is 3 USDC plus the gas at the WETH price.
    assert fill.price == pytest.approx(997 / (weth_units / 10**18), rel=1e-12)
    assert fill.price == pytest.approx(3000, rel=0.0005)
    assert fill.notional_usd == pytest.approx(997, rel=1e-12)
    gas_usd = receipt["gasUsed"] * receipt["effectiveGasPrice"] / 10**18 * float(pool.price(swap.args.sqrtPriceX96))
    assert fill.fee_usd == pytest.approx(3 + gas_usd, rel=1e-6)
    assert gas_usd > 0


async def test_the_transaction_decodes_with_swaprouter02s_published_abi(chain, venue: SpotVenue, signer: Signer) -> None:
    c, d = chain
    fill = await venue.place(signer, an_order("WBTC"), 600.0, cid())
    tx = await c.w3.eth.get_transaction(fill.venue_order_id)
    router = c.contract(uniswap.swap_router_artifact(), d.contracts["uniswap_swap_router"])
    fn, args = router.decode_function_input(tx["input"])
    assert fn.fn_name == "multicall" and set(args) == {"deadline", "data"}
    inner_fn, inner = router.decode_function_input(args["data"][0])
    params = inner["params"]
    assert inner_fn.fn_name == "exactInputSingle"
    assert (params["tokenIn"], params["tokenOut"], params["fee"]) == (d.tokens["USDC"].address, d.tokens["WBTC"].address, 3000)
    assert params["recipient"] == signer.address and params["amountIn"] == 600 * 10**6 and params["sqrtPriceLimitX96"] == 0
    # The floor is the quote less 1 %: the quote was what the swap got (nothing moved between them).
    got = await balance(chain, "WBTC", signer.address)
    assert params["amountOutMinimum"] == minimum_out(got, Decimal("0.01"))
    assert fill.qty == pytest.approx(got / 10**8) and fill.price == pytest.approx(60000, rel=0.0005)


async def test_a_close_sells_the_whole_position_back_to_usdc(chain, venue: SpotVenue, signer: Signer) -> None:
    opened = await venue.place(signer, an_order("LINK"), 500.0, cid())
    position = a_position("LINK", opened.qty, opened.price, opened.fee_usd)
    closed = await venue.close(signer, position, cid())
    assert await balance(chain, "LINK", signer.address) == 0  # no dust left behind
    assert closed.qty == pytest.approx(opened.qty, rel=1e-15)
    assert closed.price == pytest.approx(14.25, rel=0.0005)
    usdc_back = await balance(chain, "USDC", signer.address) - 9_500 * 10**6
    # A sell's price is before the fee: proceeds = notional − the pool's fee on it.
    lp_fee = closed.notional_usd * 0.003
    assert usdc_back / 10**6 == pytest.approx(closed.notional_usd - lp_fee, rel=1e-9)
    assert await venue.positions(signer) == {}


async def test_a_token_priced_far_below_a_cent_trades_exactly(chain, venue: SpotVenue, signer: Signer) -> None:
    fill = await venue.place(signer, an_order("PEPE"), 250.0, cid())
    units = await balance(chain, "PEPE", signer.address)
    assert units > 24_000_000 * 10**18
    assert fill.qty == pytest.approx(units / 10**18) and fill.price == pytest.approx(0.00001, rel=0.0005)


# ---- refusals ------------------------------------------------------------------------------------
async def test_a_short_a_dust_order_and_an_unfunded_one_are_refused_before_sending(venue: SpotVenue, signer: Signer) -> None:
    with pytest.raises(VenueRefused, match="cannot open a short") as short:
        await venue.place(signer, an_order("WETH", Side.SHORT), 100.0, cid())
    assert short.value.venue_specific
    with pytest.raises(VenueRefused, match="below the minimum"):
        await venue.place(signer, an_order("WETH"), 0.5, cid())
    with pytest.raises(VenueRefused, match="holds 10000 USDC, the swap needs 20000"):
        await venue.place(signer, an_order("WETH"), 20_000.0, cid())
    with pytest.raises(VenueRefused, match="not in the token list"):
        await venue.place(signer, an_order("NOPE"), 100.0, cid())
    assert venue.evm.journal.rows == []


async def test_a_floor_above_what_the_pool_gives_is_refused_with_uniswaps_reason(chain, http, signer: Signer) -> None:
    """A floor 1 % above the quote (a negative slippage bound): SwapRouter02 says "Too little received" when the gas
    is estimated, so nothing is sent; another venue may take the order."""
    greedy = spot_venue(chain, http, slippage=-0.01)
    with pytest.raises(VenueRefused, match="SPOT: Too little received") as refused:
        await greedy.place(signer, an_order("WETH"), 100.0, cid())
    assert refused.value.venue_specific
    assert [r for r in greedy.evm.journal.rows if not r.client_id.endswith(":approve")] == []


async def test_a_swap_front_run_past_its_floor_reverts_on_chain_with_uniswaps_reason(chain, http) -> None:
    """The swap is sent with a floor 1 % under its quote; a whale's $2M buy is mined first (the price up ~8 %), so
    the mined swap reverts: refused with SwapRouter02's "Too little received", venue-specific."""
    c, d = chain
    signer = await funded_signer(chain)
    venue = spot_venue(chain, http)
    await venue.place(signer, an_order("LINK"), 10.0, cid())  # USDC approved: the next order sends the swap alone
    whale = Account.create()
    await Faucet(c, d).fund(whale.address, usdc=Decimal(2_000_000), eth=Decimal(10))
    router = c.contract(uniswap.swap_router_artifact(), d.contracts["uniswap_swap_router"])
    usdc = c.contract(uniswap.TOKEN_ABI, d.tokens["USDC"].address)
    await c.transact(usdc.functions.approve(router.address, 2**256 - 1), whale)
    buy = await router.functions.exactInputSingle((d.tokens["USDC"].address, d.tokens["LINK"].address, 3000, whale.address,
                                                   2_000_000 * 10**6, 0, 0)).build_transaction(
        {"from": whale.address, "gas": 400_000, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**10, "nonce": 0})
    anvil = frontrun.Anvil(d.rpc_url)
    await anvil.rpc("evm_setAutomine", False)
    try:
        swap = asyncio.create_task(venue.place(signer, an_order("LINK"), 500.0, cid()))
        victim = await anvil.front_run(signer.address, whale, buy)
        with pytest.raises(VenueRefused, match="SPOT: Too little received") as refused:
            await swap
    finally:
        await anvil.rpc("evm_setAutomine", True)
    assert refused.value.venue_specific
    assert (await c.w3.eth.get_transaction_receipt(victim))["status"] == 0


# ---- one wallet, many orders; answers lost -------------------------------------------------------
async def test_two_swaps_at_once_from_one_wallet_both_land_and_usdc_is_approved_once(chain, http) -> None:
    signer = await funded_signer(chain)
    venue = spot_venue(chain, http)
    fills = await asyncio.gather(venue.place(signer, an_order("WETH"), 300.0, cid()),
                                 venue.place(signer, an_order("WBTC"), 300.0, cid()),
                                 venue.place(signer, an_order("LINK"), 300.0, cid()))
    assert len({f.venue_order_id for f in fills}) == 3
    assert await balance(chain, "USDC", signer.address) == 9_100 * 10**6
    swaps = [r for r in venue.evm.journal.rows if not r.client_id.endswith(":approve")]
    approvals = [r for r in venue.evm.journal.rows if r.client_id.endswith(":approve")]
    assert len({r.nonce for r in venue.evm.journal.rows}) == len(venue.evm.journal.rows)
    assert len(swaps) == 3 and 1 <= len(approvals) <= 3  # concurrent first orders may each approve; later ones never
    await venue.place(signer, an_order("WETH"), 10.0, cid())
    assert len([r for r in venue.evm.journal.rows if r.client_id.endswith(":approve")]) == len(approvals)


async def test_a_swap_whose_answer_is_lost_is_unknown_then_found_by_its_client_id(chain, http) -> None:
    signer = await funded_signer(chain)
    journal = MemoryJournal()
    evm = evm_client(chain[1].rpc_url, journal)
    venue = spot_venue(chain, http, evm)
    await venue.place(signer, an_order("WETH"), 10.0, cid())  # approved: the next send is the swap alone
    real_send = evm.w3.eth.send_raw_transaction

    async def send_then_lose_the_answer(raw: bytes) -> bytes:
        await real_send(raw)
        raise ConnectionResetError("answer lost")

    evm.w3.eth.send_raw_transaction = send_then_lose_the_answer
    client_id = cid()
    with pytest.raises(VenueUnknown):
        await venue.place(signer, an_order("WETH"), 400.0, client_id)
    evm.w3.eth.send_raw_transaction = real_send

    restarted = spot_venue(chain, http, evm_client(chain[1].rpc_url, journal))  # a new process, the same journal
    found = await restarted.status(signer, an_order("WETH"), client_id)
    assert found is not None and found.notional_usd == pytest.approx(400 * 0.997)
    assert await restarted.status(signer, an_order("WETH"), cid()) is None  # never sent


# ---- the wallet ----------------------------------------------------------------------------------
async def test_equity_is_usdc_plus_tokens_at_the_pools_price(chain, venue: SpotVenue) -> None:
    signer = await funded_signer(chain, usdc="5000")
    assert await venue.equity(signer) == pytest.approx(5000)
    fill = await venue.place(signer, an_order("WBTC"), 1_000.0, cid())
    positions = await venue.positions(signer)
    assert positions == {"WBTC": pytest.approx(fill.qty)}
    price = (await pool_of(chain, "WBTC")).price((await chain[0].contract(
        uniswap.pool_artifact(), (await pool_of(chain, "WBTC")).address).functions.slot0().call())[0])
    assert await venue.equity(signer) == pytest.approx(4000 + fill.qty * float(price), rel=1e-12)
    assert await venue.equity(signer) == pytest.approx(5000 - 3, rel=0.001)  # less the fee and the impact


async def test_a_wallet_without_usdc_has_none_to_trade(chain, venue: SpotVenue) -> None:
    empty = Account.create()
    await Faucet(*chain).fund(empty.address, eth=Decimal(1))
    assert await venue.equity(Signer(address=empty.address, account=empty)) == 0
    assert PRICES["WETH"] == 3000
