"""SPOT's catalog: the markets are the tokens of a Uniswap token list that have a USDC pool with liquidity on the
chain (the deepest fee tier's), priced from the pool's `slot0`; long only, no leverage, the pool's fee as the taker
fee. Depth is read from the pool itself: QuoterV2 quotes for a ladder of sizes (`BOOK_LADDER_USD`) each way become
book levels (the USD and tokens between two rungs, before the pool's fee), so a walk of the book for an order's
size gives what a swap of that size would get, ticks crossed included. No spread: a pool has one price; its fee is
the taker fee."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
from web3 import AsyncHTTPProvider, AsyncWeb3

from vprime_shared.contracts import CatalogMarket, Venue
from vprime_shared.orderbook import Book
from vprime_shared.reference import canonical_instruments

from vprime_venues.evm import EvmClient, Reverted
from vprime_venues.execution import VenueUnavailable
from vprime_venues.spot.constants import BOOK_LADDER_USD, MIN_NOTIONAL_USD
from vprime_venues.spot.pools import Quote, SpotPool, UniswapPools
from vprime_venues.spot.tokens import TokenList
from vprime_venues.spot.uniswap import FEE_DENOMINATOR, fee_bps, from_units, to_units


def ladder_levels(rungs: list[tuple[Decimal, Decimal]]) -> list[tuple[float, float]]:
    """Book levels (price, size) from cumulative (USD, tokens) rungs, smallest first: each level is what lies
    between two rungs, priced USD per token."""
    levels, last_usd, last_tokens = [], Decimal(0), Decimal(0)
    for usd, tokens in rungs:
        d_usd, d_tokens = usd - last_usd, tokens - last_tokens
        if d_usd <= 0 or d_tokens <= 0:
            break
        levels.append((float(d_usd / d_tokens), float(d_tokens)))
        last_usd, last_tokens = usd, tokens
    return levels


class SpotSync:
    """The catalog reader the router runs: the token list over HTTP, the pools on the chain at `rpc_url`."""

    venue = Venue.SPOT

    def __init__(self, token_list_url: str, rpc_url: str, *, factory: str, quoter: str, usdc: str,
                 timeout_s: float = 5.0) -> None:
        self.rpc_url = rpc_url
        self.evm = EvmClient(AsyncWeb3(AsyncHTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s})), Venue.SPOT)
        self.tokens = TokenList(token_list_url, exclude=(usdc,))
        self.pools = UniswapPools(self.evm, factory=factory, quoter=quoter, usdc=usdc)
        self.asset_classes = canonical_instruments()

    async def _chain_id(self) -> int:
        if not self.rpc_url:
            raise VenueUnavailable("SPOT: no chain to read pools from (ARBITRUM_RPC_URL is not set)")
        return await self.evm.chain_id()

    async def markets(self, http: httpx.AsyncClient) -> list[CatalogMarket]:
        tokens = list((await self.tokens.tokens(http, await self._chain_id())).values())
        pools = [p for p in await asyncio.gather(*(self.pools.pool(t) for t in tokens)) if p is not None]
        prices = await asyncio.gather(*(self.pools.price(p) for p in pools))
        out = []
        for pool, price in zip(pools, prices, strict=True):
            fee = float(fee_bps(pool.fee))
            token = pool.token
            out.append(CatalogMarket(
                venue_symbol=token.symbol, instrument=token.instrument, asset_class=self.asset_classes.get(token.instrument, "crypto"),
                max_leverage=1.0, min_notional_usd=MIN_NOTIONAL_USD, supports_short=False, is_open=True,
                taker_fee_bps=fee, maker_fee_bps=fee, mark_price=float(price),
            ))
        return out

    async def book(self, http: httpx.AsyncClient, market: CatalogMarket) -> Book:
        token = await self.tokens.token(http, await self._chain_id(), market.venue_symbol)
        pool = await self.pools.pool(token)
        if pool is None:
            return Book([], [])
        mid = await self.pools.price(pool)
        asks, bids = await asyncio.gather(self._asks(pool), self._bids(pool, mid))
        return Book(bids, asks)

    async def _asks(self, pool: SpotPool) -> list[tuple[float, float]]:
        """Buying the token: USD in (less the fee) against tokens out."""
        ins = [to_units(usd, pool.usdc_decimals) for usd in BOOK_LADDER_USD]
        quotes = await asyncio.gather(*(self.pools.quote(pool, buying=True, amount_in=a) for a in ins), return_exceptions=True)
        rungs = [(from_units(a, pool.usdc_decimals) * _after_fee(pool), from_units(q.amount_out, pool.token.decimals))
                 for a, q in _filled(ins, quotes)]
        return ladder_levels(rungs)

    async def _bids(self, pool: SpotPool, mid: Decimal) -> list[tuple[float, float]]:
        """Selling the token: tokens in (less the fee) against USD out, for the ladder's sizes at the mid."""
        ins = [to_units(usd / mid, pool.token.decimals) for usd in BOOK_LADDER_USD]
        quotes = await asyncio.gather(*(self.pools.quote(pool, buying=False, amount_in=a) for a in ins if a > 0),
                                      return_exceptions=True)
        rungs = [(from_units(q.amount_out, pool.usdc_decimals), from_units(a, pool.token.decimals) * _after_fee(pool))
                 for a, q in _filled([a for a in ins if a > 0], quotes)]
        return ladder_levels(rungs)


def _after_fee(pool: SpotPool) -> Decimal:
    return Decimal(FEE_DENOMINATOR - pool.fee) / FEE_DENOMINATOR


def _filled(amounts: list[int], quotes: list[Quote | BaseException]) -> list[tuple[int, Quote]]:
    """The rungs the pool could fill in full: up to the first whose quote ran out of liquidity (or reverted)."""
    out = []
    for amount, quote in zip(amounts, quotes, strict=True):
        if isinstance(quote, Reverted):
            break
        if isinstance(quote, BaseException):
            raise quote
        if quote.exhausted or quote.amount_out <= 0:
            break
        out.append((amount, quote))
    return out
