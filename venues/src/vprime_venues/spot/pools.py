"""Uniswap V3 pools of USDC against a token, read from the chain: which pool (the fee tier with the most in-range
liquidity), its price (`slot0`), and QuoterV2 quotes. Shared by the catalog (markets and depth) and the execution
adapter (quotes before a swap, prices for equity)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from vprime_venues.evm import EvmClient
from vprime_venues.spot.constants import POOL_CHOICE_TTL_S
from vprime_venues.spot.tokens import SpotToken
from vprime_venues.spot.uniswap import (ERC20_ABI, FACTORY_ABI, FEE_TIERS, POOL_ABI, QUOTER_V2_ABI, ZERO_ADDRESS,
                                        usdc_per_token)

MIN_SQRT_RATIO = 4295128739  # TickMath: a quote that ends at either bound ran out of liquidity
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342


@dataclass(frozen=True)
class SpotPool:
    address: str
    fee: int  # hundredths of a bip
    token: SpotToken
    usdc_address: str
    usdc_decimals: int

    @property
    def token_is_token0(self) -> bool:
        return int(self.token.address, 16) < int(self.usdc_address, 16)

    def price(self, sqrt_price_x96: int) -> Decimal:
        """USDC per whole token."""
        return usdc_per_token(sqrt_price_x96, token_is_token0=self.token_is_token0, token_decimals=self.token.decimals,
                              usdc_decimals=self.usdc_decimals)

    def usdc_and_token(self, amount0: int, amount1: int) -> tuple[int, int]:
        """A Swap event's (amount0, amount1) as (USDC, token)."""
        return (amount1, amount0) if self.token_is_token0 else (amount0, amount1)


@dataclass(frozen=True)
class Quote:
    amount_out: int
    sqrt_price_after: int
    ticks_crossed: int
    gas_estimate: int

    @property
    def exhausted(self) -> bool:
        """The pool ran out of liquidity before taking the whole amount in."""
        return self.sqrt_price_after <= MIN_SQRT_RATIO + 1 or self.sqrt_price_after >= MAX_SQRT_RATIO - 1


class UniswapPools:
    def __init__(self, evm: EvmClient, *, factory: str, quoter: str, usdc: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.evm, self.clock = evm, clock
        self.usdc = evm.w3.to_checksum_address(usdc)
        self.factory = evm.contract(FACTORY_ABI, factory)
        self.quoter = evm.contract(QUOTER_V2_ABI, quoter)
        self._usdc_decimals: int | None = None
        self._addresses: dict[tuple[str, int], str] = {}  # a pool's address never changes once it exists
        self._chosen: dict[str, tuple[SpotPool | None, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def usdc_decimals(self) -> int:
        if self._usdc_decimals is None:
            self._usdc_decimals = int(await self.evm.read(self.evm.contract(ERC20_ABI, self.usdc).functions.decimals()))
        return self._usdc_decimals

    def contract(self, pool: SpotPool) -> object:
        return self.evm.contract(POOL_ABI, pool.address)

    async def pool(self, token: SpotToken) -> SpotPool | None:
        """The USDC/`token` pool with the most in-range liquidity among the fee tiers; None if there is none with any."""
        async with self._locks.setdefault(token.address, asyncio.Lock()):
            known = self._chosen.get(token.address)
            if known is not None and self.clock() - known[1] <= POOL_CHOICE_TTL_S:
                return known[0]
            decimals = await self.usdc_decimals()
            addresses = await asyncio.gather(*(self._address(token.address, fee) for fee in FEE_TIERS))
            candidates = [SpotPool(a, fee, token, self.usdc, decimals) for a, fee in zip(addresses, FEE_TIERS, strict=True) if a]
            depths = await asyncio.gather(*(self.evm.read(self.contract(p).functions.liquidity()) for p in candidates))
            best = max(((d, p) for d, p in zip(depths, candidates, strict=True) if d > 0), key=lambda x: x[0], default=None)
            chosen = best[1] if best else None
            self._chosen[token.address] = (chosen, self.clock())
            return chosen

    async def _address(self, token: str, fee: int) -> str | None:
        key = (token, fee)
        if key not in self._addresses:
            found = await self.evm.read(self.factory.functions.getPool(token, self.usdc, fee))
            if found == ZERO_ADDRESS or not int(found, 16):
                return None
            self._addresses[key] = found
        return self._addresses[key]

    async def state(self, pool: SpotPool) -> tuple[int, int]:
        """(sqrtPriceX96, in-range liquidity)."""
        contract = self.contract(pool)
        slot0, liquidity = await asyncio.gather(self.evm.read(contract.functions.slot0()),
                                                self.evm.read(contract.functions.liquidity()))
        return int(slot0[0]), int(liquidity)

    async def price(self, pool: SpotPool) -> Decimal:
        """USDC per token at the pool's current price (`slot0`)."""
        return pool.price(int((await self.evm.read(self.contract(pool).functions.slot0()))[0]))

    async def quote(self, pool: SpotPool, *, buying: bool, amount_in: int) -> Quote:
        """QuoterV2.quoteExactInputSingle: USDC in for a buy, the token in for a sell."""
        token_in, token_out = (self.usdc, pool.token.address) if buying else (pool.token.address, self.usdc)
        out = await self.evm.read(self.quoter.functions.quoteExactInputSingle((token_in, token_out, amount_in, pool.fee, 0)))
        return Quote(int(out[0]), int(out[1]), int(out[2]), int(out[3]))
