"""Uniswap V3 from its published builds on a real anvil: pools at the prices asked (exact sqrtPriceX96 for tokens of
different decimals), QuoterV2 quotes that the swap then pays to the unit, and an arbitrageur that moves pools to the
oracle's price exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account import Account
from web3.logs import DISCARD

from vprime_chain import uniswap
from vprime_chain.anvil import DEV_KEYS, Anvil
from vprime_chain.deploy import Chain, Deployment, deploy_tokens
from vprime_chain.uniswap import FEE, Arbitrageur, Pool, sqrt_price_x96

PORT = 18601
PRICES = {"WETH": Decimal(3000), "WBTC": Decimal(60000), "LINK": Decimal("14.25")}
INSTRUMENT_PRICES = {"ETH": Decimal(3000), "BTC": Decimal(60000), "LINK": Decimal("14.25")}  # as the simulator gives them


# ---- exact prices, by hand -----------------------------------------------------------------------
# sqrt(USDC units per token unit) * 2^96 when the token is token0, sqrt(token units per USDC unit) * 2^96 when USDC is:
#   WETH (18) at 3,000 USDC (6): 3000e6 / 1e18 = 3e-9,        sqrt = 5.4772e-5 -> 4.3395e24
#                                1e18 / 3000e6 = 333,333,333.3, sqrt = 18257.4 -> 1.4465e33 (tick 196,256, as on mainnet)
#   WBTC (8) at 60,000 USDC (6): 60000e6 / 1e8 = 600,          sqrt = 24.4949 -> 1.9407e30 (tick 63,972)
#                                1e8 / 60000e6 = 1/600,         sqrt = 0.040825 -> 3.2345e27
# The digits below come from a 100-digit Decimal square root, rounded down.
@pytest.mark.parametrize(("price", "token_decimals", "token_is_token0", "expected"), [
    (Decimal(3000), 18, True, 4339505179874779489431521),
    (Decimal(3000), 18, False, 1446501726624926496477173928747177),
    (Decimal(60000), 8, True, 1940685714182491852533977682922),
    (Decimal(60000), 8, False, 3234476190304153087556629471),
])
def test_sqrt_price_x96_for_tokens_of_different_decimals(price: Decimal, token_decimals: int, token_is_token0: bool,
                                                         expected: int) -> None:
    got = sqrt_price_x96(price, token_is_token0=token_is_token0, token_decimals=token_decimals, usdc_decimals=6)
    assert got == expected
    token, usdc = ("0x01", "0x02") if token_is_token0 else ("0x02", "0x01")
    pool = Pool("X", "0x00", uniswap.Token(token, token_decimals), uniswap.Token(usdc, 6))
    assert abs(pool.price(got) / price - 1) < Decimal("1e-20")  # and back


def test_pools_are_priced_by_symbol_or_by_the_instrument_the_simulator_prices() -> None:
    tokens = {s: uniswap.Token(f"0x{i:040x}", 18) for i, s in enumerate(("USDC", "WETH", "WBTC", "LINK", "DOLO"))}
    prices = {"ETH": Decimal(3000), "BTC": Decimal(60000), "LINK": Decimal(14), "USDC": Decimal(1)}
    assert uniswap.pool_prices(Deployment(31337, "", {}, tokens), prices) == {
        "WETH": Decimal(3000), "WBTC": Decimal(60000), "LINK": Decimal(14)}  # no price, no pool; no USDC/USDC pool


def test_equal_units_sit_at_two_to_the_96() -> None:
    """1 USDC per token with equal decimals: a ratio of 1, sqrtPriceX96 = 2^96 (Uniswap SDK's encodeSqrtRatioX96(1, 1))."""
    assert sqrt_price_x96(Decimal(1), token_is_token0=True, token_decimals=6, usdc_decimals=6) == 2**96


# ---- on a real anvil -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def anvil():
    with Anvil(PORT) as node:
        yield node


@pytest.fixture(scope="module")
async def deployed(anvil: Anvil) -> tuple[Chain, Deployment]:
    chain = Chain(anvil.rpc_url)
    deployment = Deployment(await chain.chain_id(), anvil.rpc_url)
    await deploy_tokens(chain, deployment, list(PRICES))
    await uniswap.deploy(chain, deployment, INSTRUMENT_PRICES)
    return chain, deployment


async def _slot0(chain: Chain, pool: Pool) -> list:
    return await chain.contract(uniswap.pool_artifact(), pool.address).functions.slot0().call()


async def test_every_pool_starts_at_the_simulators_price_with_deep_full_range_liquidity(deployed) -> None:
    chain, deployment = deployed
    assert set(uniswap.CONTRACT_NAMES) <= set(deployment.contracts)
    found = {p.symbol: p for p in await uniswap.pools(chain, deployment)}
    assert set(found) == set(PRICES)
    for symbol, price in PRICES.items():
        pool = found[symbol]
        sqrt_price, tick, *_ = await _slot0(chain, pool)
        assert sqrt_price == pool.sqrt_price_x96(price)
        assert abs(pool.price(sqrt_price) / price - 1) < Decimal("1e-15")
        contract = chain.contract(uniswap.pool_artifact(), pool.address)
        assert await contract.functions.fee().call() == FEE
        assert await contract.functions.liquidity().call() > 0
        if symbol == "WETH":
            assert tick == (-196257 if pool.token_is_token0 else 196256)
    # $50M a side: the pool holds the depth in USDC, less what the liquidity's rounding leaves (under a cent).
    usdc = chain.contract(uniswap.TOKEN_ABI, deployment.tokens["USDC"].address)
    balance = await usdc.functions.balanceOf(chain.w3.to_checksum_address(found["WBTC"].address)).call()
    assert 50_000_000 * 10**6 - 10_000 <= balance <= 50_000_000 * 10**6


async def test_a_quote_is_what_the_swap_pays_to_the_unit(deployed) -> None:
    chain, deployment = deployed
    trader = Account.from_key(DEV_KEYS[5])
    usdc, weth = deployment.tokens["USDC"], deployment.tokens["WETH"]
    router = chain.contract(uniswap.swap_router_artifact(), deployment.contracts["uniswap_swap_router"])
    quoter = chain.contract(uniswap.quoter_artifact(), deployment.contracts["uniswap_quoter"])
    usdc_contract = chain.contract(uniswap.TOKEN_ABI, usdc.address)
    weth_contract = chain.contract(uniswap.TOKEN_ABI, weth.address)
    amount_in = 1_000 * 10**6
    await chain.transact(usdc_contract.functions.mint(trader.address, amount_in), trader)
    await chain.transact(usdc_contract.functions.approve(router.address, 2**256 - 1), trader)

    amount_out, sqrt_after, ticks_crossed, gas_estimate = await quoter.functions.quoteExactInputSingle(
        (usdc.address, weth.address, amount_in, FEE, 0)).call()
    # 1,000 USDC less the 0.30 % fee at 3,000: 0.3323 WETH, less 2 · 997/50M of impact.
    expected = Decimal(997) / 3000
    assert abs(Decimal(amount_out) / 10**18 / expected - 1) < Decimal("0.0001")
    assert ticks_crossed == 0 and gas_estimate > 0

    receipt = await chain.transact(router.functions.exactInputSingle(
        (usdc.address, weth.address, FEE, trader.address, amount_in, amount_out, 0)), trader)
    assert await weth_contract.functions.balanceOf(trader.address).call() == amount_out
    assert await usdc_contract.functions.balanceOf(trader.address).call() == 0
    pool = next(p for p in await uniswap.pools(chain, deployment) if p.symbol == "WETH")
    pool_contract = chain.contract(uniswap.pool_artifact(), pool.address)
    [swap] = pool_contract.events.Swap().process_receipt(receipt, errors=DISCARD)
    weth_delta, usdc_delta = ((swap.args.amount0, swap.args.amount1) if pool.token_is_token0
                              else (swap.args.amount1, swap.args.amount0))
    assert (usdc_delta, weth_delta) == (amount_in, -amount_out)
    assert swap.args.sqrtPriceX96 == sqrt_after and swap.args.recipient == trader.address


async def test_the_arbitrageur_moves_a_pool_to_the_oracle_price_exactly(deployed) -> None:
    chain, deployment = deployed
    oracle = dict(PRICES)
    arbitrageur = Arbitrageur(chain, deployment, oracle.__getitem__)
    oracle["WBTC"], oracle["LINK"] = Decimal(66000), Decimal("12.5")  # up 10 %, down 12 %
    moved = await arbitrageur.step()
    assert {"WBTC", "LINK"} <= set(moved)
    for pool in await uniswap.pools(chain, deployment):
        sqrt_price, *_ = await _slot0(chain, pool)
        if pool.symbol in ("WBTC", "LINK"):
            assert sqrt_price == pool.sqrt_price_x96(oracle[pool.symbol])  # the limit stops it there
    assert "WBTC" not in await arbitrageur.step()  # at the oracle's price: nothing to do
