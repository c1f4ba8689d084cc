"""SPOT's execution side: Uniswap V3 swaps from the agent trading wallet, which is the trader (`Signer.address`): the
user funds it with USDC (and a little ether for gas), and it holds the tokens it buys. Long only, no leverage.

- Equity: the wallet's USDC plus every token of the token list it holds, at its pool's price (`slot0`).
- Place (a buy): `notional` USDC in, rounded down to USDC units from a Decimal. QuoterV2 `quoteExactInputSingle`
  prices it; `amountOutMinimum` is the quote less the slippage bound (rounded down). The router is approved for
  USDC once (the maximum, reused by every later order). The swap is SwapRouter02 `exactInputSingle` (its struct has
  no deadline) inside `multicall(deadline, [...])`, so a transaction not mined within `SWAP_DEADLINE_S` can only
  revert ("Transaction too old"). A short is refused: a swap cannot open one.
- Fill: from the pool's `Swap` event in the receipt (the amounts in token units): qty is the tokens out, the price
  is USDC per token before the pool's fee, and the fee is the pool's fee on the amount in plus the transaction's
  gas (gasUsed × effectiveGasPrice, at the WETH pool's price). The venue order id is the transaction hash.
- Close: the position's tokens (the whole balance when it is the position's within dust) swapped back to USDC, with
  the same quote, floor and deadline.
- Reverts (evm.py): refused with the contract's reason; "Too little received" (the slippage floor) and "Transaction
  too old" are this market's at this moment, so another venue may take the order.
- Status by client id: the transaction hashes journaled under it before sending (evm.py `look_up`): mined is the
  fill (or the revert), pending is still unknown, none is never sent.
- Positions: the wallet's token balances.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
from web3.logs import DISCARD

from vprime_shared.contracts import Order, Position, Side, Venue

from vprime_venues.evm import EvmClient, Reverted
from vprime_venues.execution import Signer, VenueFill, VenueRefused
from vprime_venues.spot import constants as C
from vprime_venues.spot.pools import SpotPool, UniswapPools
from vprime_venues.spot.tokens import SpotToken, TokenList
from vprime_venues.spot.uniswap import SWAP_ROUTER_02_ABI, from_units, swap_fill, to_units

log = logging.getLogger(__name__)
NAME = "SPOT"
WEI_PER_ETH = Decimal(10) ** 18


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """A number as the decimal it was written as (a float by its shortest repr)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        return Decimal(repr(value))
    return Decimal(str(value)) if not isinstance(value, Decimal) else value


def minimum_out(quoted: int, slippage: Decimal) -> int:
    """The quote less the slippage bound, rounded down."""
    return int((Decimal(quoted) * (1 - slippage)).to_integral_value(rounding="ROUND_FLOOR"))


def close_amount(held: int, position_units: int) -> int:
    """What a close sells: the whole balance when it is the position's within dust (no dust left behind), else the
    position's units, never more than is held."""
    if position_units > 0 and abs(held - position_units) <= position_units * C.DUST_TOLERANCE + 1:
        return held
    return min(held, position_units)


class SpotVenue:
    venue = Venue.SPOT
    lookup_window_s = float(C.SWAP_DEADLINE_S)  # past its deadline a swap can only revert

    def __init__(self, evm: EvmClient, http: httpx.AsyncClient, tokens: TokenList, *, factory: str, quoter: str,
                 router: str, usdc: str, slippage: float = 0.01, clock: Callable[[], float] = time.time) -> None:
        self.evm, self.http, self.tokens = evm, http, tokens
        self.pools = UniswapPools(evm, factory=factory, quoter=quoter, usdc=usdc)
        self.router = evm.contract(SWAP_ROUTER_02_ABI, router)
        self.slippage = to_decimal(slippage)
        self.clock = clock  # wall clock, for swap deadlines (block timestamps follow it)

    # ---- reads -----------------------------------------------------------------------------------
    async def _pool(self, symbol: str) -> SpotPool:
        token = await self.tokens.token(self.http, await self.evm.chain_id(), symbol)
        pool = await self.pools.pool(token)
        if pool is None:
            raise VenueRefused(f"{NAME}: no USDC/{symbol} pool with liquidity", venue_specific=True)
        return pool

    async def _holdings(self, signer: Signer) -> dict[str, tuple[SpotToken, int]]:
        tokens = await self.tokens.tokens(self.http, await self.evm.chain_id())
        balances = await asyncio.gather(*(self.evm.token_balance(t.address, signer.address) for t in tokens.values()))
        return {t.symbol: (t, b) for t, b in zip(tokens.values(), balances, strict=True) if b > 0}

    async def equity(self, signer: Signer) -> float:
        usdc = await self.evm.token_balance(self.pools.usdc, signer.address)
        total = from_units(usdc, await self.pools.usdc_decimals())
        held = list((await self._holdings(signer)).values())
        pools = await asyncio.gather(*(self.pools.pool(token) for token, _ in held))
        priced = [(token, units, pool) for (token, units), pool in zip(held, pools, strict=True) if pool is not None]
        prices = await asyncio.gather(*(self.pools.price(pool) for _, _, pool in priced))
        for (token, units, _), price in zip(priced, prices, strict=True):
            total += from_units(units, token.decimals) * price
        return float(total)

    async def positions(self, signer: Signer) -> dict[str, float]:
        return {symbol: float(from_units(units, token.decimals)) for symbol, (token, units) in (await self._holdings(signer)).items()}

    # ---- swaps -----------------------------------------------------------------------------------
    async def place(self, signer: Signer, order: Order, notional_usd: float, client_id: str) -> VenueFill:
        if order.side is Side.SHORT:
            raise VenueRefused(f"{NAME}: a swap cannot open a short", venue_specific=True)
        notional = to_decimal(notional_usd)
        if notional < Decimal(str(C.MIN_NOTIONAL_USD)):
            raise VenueRefused(f"{NAME}: {notional:.2f} USD is below the minimum swap", venue_specific=True)
        pool = await self._pool(order.venue_symbol)
        amount_in = to_units(notional, pool.usdc_decimals)
        held = await self.evm.token_balance(pool.usdc_address, signer.address)
        if held < amount_in:
            raise VenueRefused(f"{NAME}: the trading wallet holds {_plain(from_units(held, pool.usdc_decimals))} USDC, the "
                               f"swap needs {_plain(from_units(amount_in, pool.usdc_decimals))}", venue_specific=True)
        return await self._swap(signer, pool, buying=True, amount_in=amount_in, client_id=client_id)

    async def close(self, signer: Signer, position: Position, client_id: str) -> VenueFill:
        pool = await self._pool(position.venue_symbol)
        held = await self.evm.token_balance(pool.token.address, signer.address)
        amount_in = close_amount(held, to_units(to_decimal(position.qty), pool.token.decimals))
        if amount_in <= 0:
            raise VenueRefused(f"{NAME}: the trading wallet holds no {pool.token.symbol}", venue_specific=False)
        return await self._swap(signer, pool, buying=False, amount_in=amount_in, client_id=client_id)

    async def _swap(self, signer: Signer, pool: SpotPool, *, buying: bool, amount_in: int, client_id: str) -> VenueFill:
        quote = await self.pools.quote(pool, buying=buying, amount_in=amount_in)
        if quote.amount_out <= 0 or quote.exhausted:
            raise VenueRefused(f"{NAME}: the USDC/{pool.token.symbol} pool cannot take {amount_in} units", venue_specific=True)
        token_in, token_out = (pool.usdc_address, pool.token.address) if buying else (pool.token.address, pool.usdc_address)
        params = (token_in, token_out, pool.fee, signer.address, amount_in, minimum_out(quote.amount_out, self.slippage), 0)
        swap = self.router.encode_abi("exactInputSingle", args=[params])
        deadline = int(self.clock()) + C.SWAP_DEADLINE_S
        try:
            await self.evm.ensure_allowance(signer.account, token_in, self.router.address, amount_in, client_id=client_id)
            tx_hash = await self.evm.send(signer.account, self.router.functions.multicall(deadline, [swap]), client_id=client_id)
            receipt = await self.evm.receipt(tx_hash)
        except Reverted as exc:
            raise _refusal(exc) from exc
        return await self._fill(receipt, pool, signer)

    async def _fill(self, receipt: Any, pool: SpotPool, signer: Signer) -> VenueFill:
        """The fill the pool's Swap event says, to the wallet; its fee with the transaction's gas."""
        events = self.pools.contract(pool).events.Swap().process_receipt(receipt, errors=DISCARD)
        mine = [e for e in events if e.address.lower() == pool.address.lower() and e.args.recipient.lower() == signer.address.lower()]
        tx_hash = _hex(receipt["transactionHash"])
        if not mine:
            raise VenueRefused(f"{NAME}: transaction {tx_hash} was mined without a swap from the pool", venue_specific=False)
        usdc = token = 0
        for e in mine:
            u, t = pool.usdc_and_token(e.args.amount0, e.args.amount1)
            usdc, token = usdc + u, token + t
        fill = swap_fill(usdc, token, fee=pool.fee, token_decimals=pool.token.decimals, usdc_decimals=pool.usdc_decimals)
        gas = await self._gas_usd(receipt)
        return VenueFill(price=float(fill.price), qty=float(fill.qty), notional_usd=float(fill.notional),
                         fee_usd=float(fill.lp_fee_usd + gas), venue_order_id=tx_hash)

    async def _gas_usd(self, receipt: Any) -> Decimal:
        """The transaction's gas in USD at the WETH pool's price; 0 when there is no WETH pool to price ether."""
        wei = Decimal(receipt["gasUsed"]) * Decimal(receipt.get("effectiveGasPrice", 0))
        try:
            weth = await self._pool("WETH")
            return wei / WEI_PER_ETH * await self.pools.price(weth)
        except VenueRefused:
            log.info("%s: no WETH pool to price gas; the fee leaves gas out", NAME)
            return Decimal(0)

    async def status(self, signer: Signer, order: Order, client_id: str) -> VenueFill | None:
        found = await self.evm.look_up(client_id)
        if found is None:
            return None
        pool = await self._pool(order.venue_symbol)
        try:
            receipt = await self.evm.receipt(_hex(found["transactionHash"]))
        except Reverted as exc:
            raise _refusal(exc) from exc
        return await self._fill(receipt, pool, signer)


def _refusal(exc: Reverted) -> VenueRefused:
    return Reverted(Venue.SPOT, exc.reason, venue_specific=exc.venue_specific or exc.reason in C.VENUE_SPECIFIC_REVERTS)


def _plain(amount: Decimal) -> str:
    return f"{amount.normalize():f}"


def _hex(value: Any) -> str:
    text = value.hex() if hasattr(value, "hex") else str(value)
    return text if text.startswith("0x") else "0x" + text


def spot_venue(evm: EvmClient, http: httpx.AsyncClient, config: dict[str, str], *, slippage: float = 0.01) -> SpotVenue:
    """The adapter from the executor's SPOT settings: `factory`, `quoter`, `router`, `usdc`, `token_list_url`."""
    return SpotVenue(evm, http, TokenList(config["token_list_url"], exclude=(config["usdc"],)), factory=config["factory"],
                     quoter=config["quoter"], router=config["router"], usdc=config["usdc"], slippage=slippage)
