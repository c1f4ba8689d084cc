"""Uniswap V3 as the SPOT venue reads and trades it: our ABI fragments (only the functions and events Vprime calls,
each checked against the published ABIs of @uniswap/v3-core 1.0.1, v3-periphery 1.4.4 and swap-router-contracts
1.3.1 by `venues/tests/spot/test_abi.py`), and the exact maths between a pool's `sqrtPriceX96` and a price in USDC
per token.

A pool's price is token1 per token0 in the tokens' smallest units (docs: concepts/protocol/concentrated-liquidity,
"sqrtPriceX96"): `sqrtPriceX96 = sqrt(token1 units / token0 units) * 2**96`, and token0 is the token whose address
sorts lower. A USDC/token pool therefore reads differently by which of the two sorts first, and by the tokens'
decimals (USDC 6, WBTC 8, WETH 18)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Context, Decimal
from fractions import Fraction
from typing import Any

Q96 = 2**96
Q192 = 2**192
FEE_DENOMINATOR = 1_000_000  # a pool's fee is in hundredths of a bip: 3000 is 0.30 %
FEE_TIERS = (100, 500, 3000, 10_000)  # the factory's enabled fee amounts (100 since the fee-switch vote)
TICK_SPACINGS = {100: 1, 500: 10, 3000: 60, 10_000: 200}
EXACT = Context(prec=80)  # a price from 2**192 ratios, with digits to spare
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def fee_bps(fee: int) -> Decimal:
    """A pool fee (hundredths of a bip) in bps: 3000 -> 30."""
    return Decimal(fee) / 100


def to_units(amount: Decimal, decimals: int) -> int:
    """An amount in a token's smallest units, rounded down (never more than asked)."""
    return int(amount.scaleb(decimals, context=EXACT).to_integral_value(rounding=ROUND_DOWN))


def from_units(units: int, decimals: int) -> Decimal:
    return Decimal(units).scaleb(-decimals, context=EXACT)


def usdc_per_token(sqrt_price_x96: int, *, token_is_token0: bool, token_decimals: int, usdc_decimals: int) -> Decimal:
    """The pool's price in USDC per whole token. token0 = token: sqrtP² / 2¹⁹² is USDC units per token unit;
    token0 = USDC: it is token units per USDC unit."""
    if sqrt_price_x96 <= 0:
        raise ValueError("a pool's sqrtPriceX96 is positive")
    raw = Fraction(sqrt_price_x96 * sqrt_price_x96, Q192)  # token1 units per token0 unit
    units_ratio = raw if token_is_token0 else 1 / raw  # USDC units per token unit
    price = units_ratio * Fraction(10**token_decimals, 10**usdc_decimals)
    return EXACT.divide(Decimal(price.numerator), Decimal(price.denominator))


# ---- ABI fragments -------------------------------------------------------------------------------
def _fn(name: str, inputs: list[tuple[str, str]] | list[dict[str, Any]], outputs: list[tuple[str, str]],
        mutability: str = "view") -> dict[str, Any]:
    ins = [i if isinstance(i, dict) else {"name": i[0], "type": i[1]} for i in inputs]
    return {"type": "function", "name": name, "stateMutability": mutability, "inputs": ins,
            "outputs": [{"name": n, "type": t} for n, t in outputs]}


def _tuple(name: str, components: list[tuple[str, str]]) -> dict[str, Any]:
    return {"name": name, "type": "tuple", "components": [{"name": n, "type": t} for n, t in components]}


ERC20_ABI = [
    _fn("balanceOf", [("account", "address")], [("", "uint256")]),
    _fn("allowance", [("owner", "address"), ("spender", "address")], [("", "uint256")]),
    _fn("approve", [("spender", "address"), ("amount", "uint256")], [("", "bool")], "nonpayable"),
    _fn("decimals", [], [("", "uint8")]),
]

FACTORY_ABI = [_fn("getPool", [("", "address"), ("", "address"), ("", "uint24")], [("", "address")])]

POOL_ABI = [
    _fn("slot0", [], [("sqrtPriceX96", "uint160"), ("tick", "int24"), ("observationIndex", "uint16"),
                      ("observationCardinality", "uint16"), ("observationCardinalityNext", "uint16"),
                      ("feeProtocol", "uint8"), ("unlocked", "bool")]),
    _fn("liquidity", [], [("", "uint128")]),
    _fn("token0", [], [("", "address")]),
    _fn("token1", [], [("", "address")]),
    _fn("fee", [], [("", "uint24")]),
    {"type": "event", "name": "Swap", "anonymous": False, "inputs": [
        {"name": "sender", "type": "address", "indexed": True},
        {"name": "recipient", "type": "address", "indexed": True},
        {"name": "amount0", "type": "int256", "indexed": False},
        {"name": "amount1", "type": "int256", "indexed": False},
        {"name": "sqrtPriceX96", "type": "uint160", "indexed": False},
        {"name": "liquidity", "type": "uint128", "indexed": False},
        {"name": "tick", "type": "int24", "indexed": False}]},
]

QUOTER_V2_ABI = [
    _fn("quoteExactInputSingle",
        [_tuple("params", [("tokenIn", "address"), ("tokenOut", "address"), ("amountIn", "uint256"), ("fee", "uint24"),
                           ("sqrtPriceLimitX96", "uint160")])],
        [("amountOut", "uint256"), ("sqrtPriceX96After", "uint160"), ("initializedTicksCrossed", "uint32"),
         ("gasEstimate", "uint256")], "nonpayable"),
]

SWAP_ROUTER_02_ABI = [
    # IV3SwapRouter.ExactInputSingleParams: SwapRouter02's struct has no deadline; `multicall(deadline, data)` gives one.
    _fn("exactInputSingle",
        [_tuple("params", [("tokenIn", "address"), ("tokenOut", "address"), ("fee", "uint24"), ("recipient", "address"),
                           ("amountIn", "uint256"), ("amountOutMinimum", "uint256"), ("sqrtPriceLimitX96", "uint160")])],
        [("amountOut", "uint256")], "payable"),
    _fn("multicall", [("deadline", "uint256"), ("data", "bytes[]")], [("", "bytes[]")], "payable"),
]


# ---- a swap, as the pool's Swap event tells it ---------------------------------------------------
@dataclass(frozen=True)
class SwapFill:
    """A swap in whole tokens. `price` is USDC per token before the pool's fee (the fee is taken from the amount
    in), so `price · qty` is the notional and `lp_fee_usd` what the pool kept: a buy paid `notional + fee` USDC, a
    sell received `notional − fee`."""

    price: Decimal
    qty: Decimal
    lp_fee_usd: Decimal

    @property
    def notional(self) -> Decimal:
        return self.price * self.qty


def swap_fill(amount_usdc: int, amount_token: int, *, fee: int, token_decimals: int, usdc_decimals: int) -> SwapFill:
    """From the Swap event's signed amounts (positive: paid into the pool; negative: paid out of it). A buy pays
    USDC in and takes tokens out; a sell the reverse. The fee is `fee` millionths of the amount in."""
    if amount_usdc > 0 > amount_token:  # a buy
        usdc_in, qty = from_units(amount_usdc, usdc_decimals), from_units(-amount_token, token_decimals)
        lp_fee = usdc_in * fee / FEE_DENOMINATOR
        return SwapFill(EXACT.divide(usdc_in - lp_fee, qty), qty, lp_fee)
    if amount_token > 0 > amount_usdc:  # a sell
        qty, usdc_out = from_units(amount_token, token_decimals), from_units(-amount_usdc, usdc_decimals)
        swapped = qty * (FEE_DENOMINATOR - fee) / FEE_DENOMINATOR
        price = EXACT.divide(usdc_out, swapped)
        return SwapFill(price, qty, price * (qty - swapped))
    raise ValueError(f"not a USDC/token swap: amounts {amount_usdc} USDC units, {amount_token} token units")
