"""SPOT's exact maths and the token list, with hand-computed figures for tokens of 18, 8 and 6 decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vprime_venues.spot.execution import close_amount, minimum_out, to_decimal
from vprime_venues.spot.tokens import parse_token_list
from vprime_venues.spot.uniswap import from_units, swap_fill, to_units, usdc_per_token

# sqrtPriceX96 of USDC/WETH and USDC/WBTC pools (see chain/tests/test_uniswap.py for how they were computed).
WETH_AT_3000_TOKEN0 = 4339505179874779489431521
WETH_AT_3000_USDC0 = 1446501726624926496477173928747177
WBTC_AT_60000_TOKEN0 = 1940685714182491852533977682922


@pytest.mark.parametrize(("sqrt_price", "token_is_token0", "decimals", "price"), [
    (WETH_AT_3000_TOKEN0, True, 18, Decimal(3000)),
    (WETH_AT_3000_USDC0, False, 18, Decimal(3000)),
    (WBTC_AT_60000_TOKEN0, True, 8, Decimal(60000)),
    (2**96, True, 6, Decimal(1)),  # equal decimals, a ratio of one
])
def test_a_pools_price_in_usdc_per_token(sqrt_price: int, token_is_token0: bool, decimals: int, price: Decimal) -> None:
    got = usdc_per_token(sqrt_price, token_is_token0=token_is_token0, token_decimals=decimals, usdc_decimals=6)
    assert abs(got / price - 1) < Decimal("1e-20")


def test_amounts_go_to_units_rounded_down_and_back_exactly() -> None:
    assert to_units(Decimal("1000.0000019"), 6) == 1_000_000_001
    assert to_units(to_decimal(0.1 + 0.2), 6) == 300_000  # 0.30000000000000004 → never a unit more
    assert to_units(Decimal("0.333333333333333333333"), 18) == 333_333_333_333_333_333
    assert from_units(123_456_789, 8) == Decimal("1.23456789")


def test_a_buy_from_its_swap_event() -> None:
    """1,000 USDC in, 0.332 WETH out at a 0.30 % pool: 997 USDC were swapped; 3 USDC was the pool's."""
    fill = swap_fill(1_000_000_000, -332_000_000_000_000_000, fee=3000, token_decimals=18, usdc_decimals=6)
    assert fill.qty == Decimal("0.332")
    assert fill.lp_fee_usd == Decimal(3)
    assert abs(fill.price - Decimal("3003.012048192771084337349397590361445783")) < Decimal("1e-36")  # 997 / 0.332
    assert fill.notional == pytest.approx(Decimal(997), rel=Decimal("1e-30"))


def test_a_sell_from_its_swap_event() -> None:
    """0.01 WBTC in (8 decimals), 598.2 USDC out: 0.00997 WBTC were swapped at 60,000; the pool kept 0.00003 WBTC."""
    fill = swap_fill(-598_200_000, 1_000_000, fee=3000, token_decimals=8, usdc_decimals=6)
    assert fill.qty == Decimal("0.01")
    assert fill.price == Decimal(60000)
    assert fill.lp_fee_usd == Decimal("1.8")
    assert fill.notional - fill.lp_fee_usd == Decimal("598.2")  # what the wallet received


def test_a_swap_event_that_is_not_a_usdc_swap_is_refused() -> None:
    with pytest.raises(ValueError, match="not a USDC/token swap"):
        swap_fill(100, 100, fee=3000, token_decimals=18, usdc_decimals=6)


def test_the_floor_is_the_quote_less_slippage_rounded_down() -> None:
    assert minimum_out(332_000_000_000_000_001, Decimal("0.01")) == 328_680_000_000_000_000
    assert minimum_out(999, Decimal("0.01")) == 989


def test_a_close_sells_the_whole_balance_only_when_it_is_the_positions() -> None:
    assert close_amount(1_000_000_000_000_000_003, 1_000_000_000_000_000_000) == 1_000_000_000_000_000_003  # float dust
    assert close_amount(2_000_000_000_000_000_000, 1_000_000_000_000_000_000) == 1_000_000_000_000_000_000  # another's
    assert close_amount(500, 1_000_000_000_000_000_000) == 500  # never more than held
    assert close_amount(0, 0) == 0


def test_the_token_list_gives_the_chains_tokens_with_their_instruments() -> None:
    body = {"name": "Uniswap Labs Default", "tokens": [
        {"chainId": 42161, "address": "0x82af49447d8a07e3bd95bd0d56f35241523fbab1", "symbol": "WETH", "decimals": 18, "name": "Wrapped Ether"},
        {"chainId": 42161, "address": "0x2f2a2543b76a4166549f7aab2e75bef0aefc5b0f", "symbol": "WBTC", "decimals": 8, "name": "Wrapped BTC"},
        {"chainId": 42161, "address": "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", "symbol": "USDC", "decimals": 6, "name": "USDC"},
        {"chainId": 1, "address": "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "symbol": "WETH", "decimals": 18, "name": "Wrapped Ether"},
        {"chainId": 42161, "address": "0x912CE59144191C1204E64559FE8253a0e49E6548", "symbol": "ARB", "decimals": 18, "name": "Arbitrum",
         "extensions": {"bridgeInfo": {}}},
        {"chainId": 42161, "address": "not an address", "symbol": "BAD", "decimals": 18},
        {"chainId": 42161, "symbol": "NOADDRESS", "decimals": 18},
    ]}
    tokens = parse_token_list(body, 42161, exclude=("0xaf88d065e77c8cC2239327C5EDb3A432268e5831",))
    assert set(tokens) == {"WETH", "WBTC", "ARB"}
    assert tokens["WETH"].address == "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1"  # checksummed, Arbitrum's
    assert (tokens["WETH"].instrument, tokens["WBTC"].instrument, tokens["ARB"].instrument) == ("ETH", "BTC", "ARB")
    assert tokens["WBTC"].decimals == 8
    with pytest.raises(ValueError):
        parse_token_list({"name": "no tokens"}, 42161)
