"""Uniswap V3 on the local chain, from Uniswap's own published build artifacts (never recompiled): the factory
(@uniswap/v3-core 1.0.1), the NonfungiblePositionManager (@uniswap/v3-periphery 1.4.4; no token descriptor, so
positions have no image), SwapRouter02 and QuoterV2 (@uniswap/swap-router-contracts 1.3.1; SwapRouter02 has no
Uniswap V2 factory here). The pools' init code hash in these builds is the one the periphery computes pool
addresses with (0xe34f…8b54), so the router and quoter find the pools the factory creates.

`deploy` creates one USDC/token pool per SPOT token (fee tier 0.30 %, tick spacing 60), initialised at the
simulator's price and given full-range liquidity worth `POOL_DEPTH_USD` on each side: $50M of USDC and $50M of the
token. A full-range pool is a constant-product pool (x·y = L²): a buy of N USDC moves the price by about 2N / $50M
(a $10,000 order, 4 bps).

`Arbitrageur` keeps the pools at the simulator's moving oracle prices: each round, a pool whose price is more than
`threshold_bps` off is swapped back to the oracle's price exactly (the swap's `sqrtPriceLimitX96` is the target),
from a funded account of its own. It runs in the simulator's process, like the venues' keepers; its fault setting
(`POST /admin/chain/keepers`, venue SPOT) stops it (`never`) or makes it react `delay_s` late (`delay`)."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from vprime_shared.reference import venue_symbol_map

from vprime_chain.anvil import DEV_KEYS
from vprime_chain.deploy import Chain, Deployment, Token, keep_running
from vprime_chain.solidity import Artifact, published

log = logging.getLogger(__name__)

FEE = 3000  # 0.30 %, in hundredths of a bip
FEE_DENOMINATOR = 1_000_000
TICK_SPACING = 60  # the factory's spacing for the 0.30 % tier
MIN_TICK, MAX_TICK = -887272, 887272  # TickMath's bounds
FULL_RANGE = (-(MAX_TICK // TICK_SPACING) * TICK_SPACING, (MAX_TICK // TICK_SPACING) * TICK_SPACING)  # ±887220
POOL_DEPTH_USD = Decimal(50_000_000)  # each side of every pool
Q96, Q192 = 2**96, 2**192
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_UINT256 = 2**256 - 1
LIQUIDITY_PROVIDER_KEY = DEV_KEYS[3]
ARBITRAGEUR_KEY = DEV_KEYS[2]

CONTRACT_NAMES = ("uniswap_factory", "uniswap_position_manager", "uniswap_swap_router", "uniswap_quoter")


def factory_artifact() -> Artifact:
    return published("@uniswap/v3-core", "artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json")


def pool_artifact() -> Artifact:
    return published("@uniswap/v3-core", "artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json")


def position_manager_artifact() -> Artifact:
    return published("@uniswap/v3-periphery",
                     "artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json")


def swap_router_artifact() -> Artifact:
    return published("@uniswap/swap-router-contracts", "artifacts/contracts/SwapRouter02.sol/SwapRouter02.json")


def quoter_artifact() -> Artifact:
    return published("@uniswap/swap-router-contracts", "artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json")


# ---- prices as a pool holds them -----------------------------------------------------------------
def sqrt_price_x96(usdc_per_token: Decimal, *, token_is_token0: bool, token_decimals: int, usdc_decimals: int) -> int:
    """`sqrtPriceX96` of a USDC/token pool at `usdc_per_token`, exactly (rounded down): sqrt(token1 units per token0
    unit) · 2⁹⁶. token0 = the token: USDC units per token unit = price · 10^usdc_decimals / 10^token_decimals;
    token0 = USDC: its inverse."""
    if usdc_per_token <= 0:
        raise ValueError(f"not a price: {usdc_per_token}")
    usdc_units_per_token_unit = Fraction(usdc_per_token) * Fraction(10**usdc_decimals, 10**token_decimals)
    ratio = usdc_units_per_token_unit if token_is_token0 else 1 / usdc_units_per_token_unit
    return math.isqrt(ratio.numerator * Q192 // ratio.denominator)


def tokens_sorted(a: str, b: str) -> tuple[str, str]:
    """(token0, token1): the factory orders a pool's tokens by address."""
    return (a, b) if int(a, 16) < int(b, 16) else (b, a)


@dataclass(frozen=True)
class Pool:
    symbol: str
    address: str
    token: Token
    usdc: Token

    @property
    def token_is_token0(self) -> bool:
        return tokens_sorted(self.token.address, self.usdc.address)[0] == self.token.address

    def sqrt_price_x96(self, usdc_per_token: Decimal) -> int:
        return sqrt_price_x96(usdc_per_token, token_is_token0=self.token_is_token0, token_decimals=self.token.decimals,
                              usdc_decimals=self.usdc.decimals)

    def price(self, sqrt_price: int) -> Decimal:
        """USDC per token at `sqrt_price`."""
        raw = Fraction(sqrt_price * sqrt_price, Q192)
        units = raw if self.token_is_token0 else 1 / raw
        value = units * Fraction(10**self.token.decimals, 10**self.usdc.decimals)
        return Decimal(value.numerator) / Decimal(value.denominator)


# ---- deployment ----------------------------------------------------------------------------------
async def deploy(chain: Chain, deployment: Deployment, prices: dict[str, Decimal]) -> None:
    """The factory, position manager, SwapRouter02 and QuoterV2, then a seeded pool per token with a price (`prices`
    by token symbol or by instrument)."""
    weth = deployment.tokens["WETH"].address
    factory = await chain.deploy(factory_artifact())
    manager = await chain.deploy(position_manager_artifact(), factory, weth, ZERO_ADDRESS)
    router, quoter = await asyncio.gather(chain.deploy(swap_router_artifact(), ZERO_ADDRESS, factory, manager, weth),
                                          chain.deploy(quoter_artifact(), factory, weth))
    deployment.contracts.update(uniswap_factory=factory, uniswap_position_manager=manager, uniswap_swap_router=router,
                                uniswap_quoter=quoter)
    await seed_pools(chain, deployment, pool_prices(deployment, prices))


def pool_prices(deployment: Deployment, prices: dict[str, Decimal]) -> dict[str, Decimal]:
    """The price of each token but USDC, by its symbol or by the instrument the SPOT catalog maps it to (WETH → ETH,
    WBTC → BTC): the simulator prices instruments."""
    instruments = venue_symbol_map("SPOT")
    out = {}
    for symbol in deployment.tokens:
        price = prices.get(symbol) or prices.get(instruments.get(symbol, symbol))
        if symbol != "USDC" and price:
            out[symbol] = Decimal(price)
    return out


async def seed_pools(chain: Chain, deployment: Deployment, prices: dict[str, Decimal],
                     depth_usd: Decimal = POOL_DEPTH_USD) -> None:
    """Create, initialise at `prices` and fund with full-range liquidity one USDC/token pool per symbol, from the
    liquidity provider's account: its tokens first (minted, WETH wrapped), then one position manager multicall per
    pool (createAndInitializePoolIfNecessary + mint)."""
    lp: LocalAccount = Account.from_key(LIQUIDITY_PROVIDER_KEY)
    usdc = deployment.tokens["USDC"]
    manager = chain.contract(position_manager_artifact(), deployment.contracts["uniswap_position_manager"])
    wanted = {s: _units(depth_usd / p, deployment.tokens[s].decimals) for s, p in prices.items()}
    usdc_units = _units(depth_usd, usdc.decimals)
    funding = [_fund(chain, lp, usdc, usdc_units * len(prices), deployment, manager.address)]
    funding += [_fund(chain, lp, deployment.tokens[s], units, deployment, manager.address) for s, units in wanted.items()]
    await asyncio.gather(*funding)
    deadline = 2**32  # the local chain's clock is never the point here
    low, high = FULL_RANGE

    async def one(symbol: str) -> None:
        token = deployment.tokens[symbol]
        pool = Pool(symbol, ZERO_ADDRESS, token, usdc)
        token0, token1 = tokens_sorted(token.address, usdc.address)
        amount0, amount1 = (wanted[symbol], usdc_units) if pool.token_is_token0 else (usdc_units, wanted[symbol])
        calls = [
            manager.encode_abi("createAndInitializePoolIfNecessary", [token0, token1, FEE, pool.sqrt_price_x96(prices[symbol])]),
            manager.encode_abi("mint", [(token0, token1, FEE, low, high, amount0, amount1, 0, 0, lp.address, deadline)]),
        ]
        await chain.transact(manager.functions.multicall(calls), lp)

    await asyncio.gather(*(one(s) for s in prices))


def _units(amount: Decimal, decimals: int) -> int:
    return int(amount.scaleb(decimals))


async def _fund(chain: Chain, account: LocalAccount, token: Token, units: int, deployment: Deployment, spender: str) -> None:
    """`units` of `token` into `account` (minted; WETH wrapped from ether the account is given) and `spender` approved."""
    await _top_up(chain, account, token, units, deployment)
    contract = chain.contract(TOKEN_ABI, token.address)
    await chain.transact(contract.functions.approve(chain.w3.to_checksum_address(spender), MAX_UINT256), account)


async def _top_up(chain: Chain, account: LocalAccount, token: Token, units: int, deployment: Deployment) -> None:
    contract = chain.contract(TOKEN_ABI, token.address)
    if token.address == deployment.tokens["WETH"].address:
        balance = await chain.w3.eth.get_balance(account.address)
        if balance < units + 10**21:  # keep 1,000 ether for gas
            await chain.set_eth_balance(account.address, balance + units + 10**21)
        await chain.transact(contract.functions.deposit(), account, value=units)
    else:
        await chain.transact(contract.functions.mint(account.address, units), account)


async def pools(chain: Chain, deployment: Deployment) -> list[Pool]:
    """The USDC/token pools of the 0.30 % tier that exist on the chain."""
    factory = chain.contract(factory_artifact(), deployment.contracts["uniswap_factory"])
    usdc = deployment.tokens["USDC"]
    symbols = [s for s in deployment.tokens if s != "USDC"]
    found = await asyncio.gather(*(factory.functions.getPool(deployment.tokens[s].address, usdc.address, FEE).call()
                                   for s in symbols))
    return [Pool(s, a, deployment.tokens[s], usdc) for s, a in zip(symbols, found, strict=True) if int(a, 16)]


# ---- keeping pools at the oracle's prices --------------------------------------------------------
class Arbitrageur:
    """Swaps each pool back to the simulator's oracle price once it is more than `threshold_bps` away, as arbitrage
    against a reference market would: not inside the pool's fee (30 bps), where a real arbitrage loses money, so the
    random walk does not cost a swap per pool every tick. The amount in is what a full-range pool needs to reach the
    target (plus a margin); the swap's price limit stops it exactly there, so no pool overshoots."""

    def __init__(self, chain: Chain, deployment: Deployment, price_of: Callable[[str], Decimal], *,
                 interval_s: float = 2.0, threshold_bps: Decimal = Decimal(50), key: str = ARBITRAGEUR_KEY) -> None:
        self.chain, self.deployment, self.price_of = chain, deployment, price_of
        self.interval_s, self.threshold = interval_s, threshold_bps / 10_000
        self.account: LocalAccount = Account.from_key(key)
        self.router = chain.contract(swap_router_artifact(), deployment.contracts["uniswap_swap_router"])
        self.mode, self.delay_s = "ok", 0.0  # the simulator's keeper fault setting: `never` trades nothing, `delay` waits
        self._pools: list[Pool] | None = None
        self._approved: set[str] = set()
        self._approving = asyncio.Lock()

    async def run(self) -> None:
        await keep_running(self._round, self.interval_s, "arbitrageur")

    async def _round(self) -> None:
        """A round as the keeper's fault mode allows: late by `delay_s`, or none at all."""
        if self.mode == "delay" and self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.mode != "never":
            await self.step()

    async def step(self) -> list[str]:
        """One round over every pool; the symbols whose pools were moved."""
        if self._pools is None:
            self._pools = await pools(self.chain, self.deployment)
        moved = []
        for pool in self._pools:  # one at a time: the pools draw on one USDC balance, topped up as it runs low
            try:
                if await self.nudge(pool):
                    moved.append(pool.symbol)
            except Exception as exc:  # noqa: BLE001 - one pool's failure leaves the others moved
                log.warning("arbitrageur: %s pool not moved: %r", pool.symbol, exc)
        return moved

    async def nudge(self, pool: Pool) -> bool:
        try:
            oracle = Decimal(self.price_of(pool.symbol))
        except (KeyError, LookupError):
            return False
        if oracle <= 0:
            return False
        contract = self.chain.contract(pool_artifact(), pool.address)
        slot0, liquidity = await asyncio.gather(contract.functions.slot0().call(), contract.functions.liquidity().call())
        current = slot0[0]
        if abs(pool.price(current) / oracle - 1) <= self.threshold or liquidity == 0:
            return False
        target = pool.sqrt_price_x96(oracle)
        token0, token1 = tokens_sorted(pool.token.address, pool.usdc.address)
        if target > current:  # token1 in: Δy = L·Δ√P
            token_in, token_out = token1, token0
            amount = liquidity * (target - current) // Q96
        else:  # token0 in: Δx = L·Δ(1/√P)
            token_in, token_out = token0, token1
            amount = liquidity * Q96 * (current - target) // (current * target)
        amount_in = amount * FEE_DENOMINATOR // (FEE_DENOMINATOR - FEE) * 101 // 100 + 1  # the fee, and 1 % to spare
        held = self.deployment.tokens["USDC"] if token_in == pool.usdc.address else pool.token
        await self._ensure(held, amount_in)
        params = (token_in, token_out, FEE, self.account.address, amount_in, 0, target)
        await self.chain.transact(self.router.functions.exactInputSingle(params), self.account)
        return True

    async def _ensure(self, token: Token, units: int) -> None:
        """At least `units` of `token` held, and the router approved for it once."""
        contract = self.chain.contract(TOKEN_ABI, token.address)
        if token.address not in self._approved:
            async with self._approving:
                if token.address not in self._approved:
                    await self.chain.transact(contract.functions.approve(self.router.address, MAX_UINT256), self.account)
                    self._approved.add(token.address)
        balance = await contract.functions.balanceOf(self.account.address).call()
        if balance < units:
            await _top_up(self.chain, self.account, token, 2 * units, self.deployment)


Keeper = Arbitrageur  # the name the simulator starts each venue's keeper by

TOKEN_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "account", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "mint", "stateMutability": "nonpayable",
     "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}], "outputs": []},
    {"type": "function", "name": "approve", "stateMutability": "nonpayable",
     "inputs": [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"type": "function", "name": "deposit", "stateMutability": "payable", "inputs": [], "outputs": []},
]
