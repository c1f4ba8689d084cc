"""Ostium on the local chain: our Solidity doubles of the venue's contracts (`chain/contracts/ostium/`: trading,
trading storage, callbacks and a registry, with the published ABIs' functions, events and errors) and the keeper
that answers pending market orders with the simulator's oracle price, as Ostium's price keeper does.

`deploy` lists one pair per Ostium market of the simulator's catalog (`venue-markets.json`: the same pair index,
symbol and maximum leverage), with the venue's taker fee as the opening fee and `MIN_NOTIONAL_USD` as the smallest
position, and funds the trading storage (the vault that pays profits). Order timeouts are `MARKET_ORDERS_TIMEOUT`
blocks, after which the trader cancels a pending order itself (`openTradeMarketTimeout`). The local chain makes a
block per transaction (the stack's keepers and arbitrageur send several a second), so the local timeout is 100 blocks,
a dozen seconds or so: long enough that a keeper `delay` of a few seconds still fills.

`Keeper` reads the orders the trading contract initiates (MarketOpenOrderInitiated, MarketCloseOrderInitiatedV2)
and answers each through the callbacks contract with the oracle's price, bid and ask (the simulator's mid of the
pair, `price_of("BTC-USD")`, half `spread_bps` either side), or a price of 0 when the market is closed
(`is_open(symbol)` false: the callbacks cancel it, MARKET_CLOSED). Its `mode`: `ok`, `delay` (answer only after
`delay_s`) or `never` (never answer: the order stays pending until the trader's timeout cancels it). anvil
mines only on transactions, while Arbitrum makes blocks continuously: the keeper mines an empty block when none came
for `mine_every_s`, so timeouts counted in blocks pass on the local chain too."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from eth_account import Account
from eth_account.signers.local import LocalAccount

from vprime_shared.reference import venue_markets
from vprime_venues.ostium import abi
from vprime_venues.ostium.constants import MIN_NOTIONAL_USD

from vprime_chain.anvil import DEV_KEYS
from vprime_chain.deploy import BlockPacer, Chain, Deployment, keep_running
from vprime_chain.solidity import Artifact, compile_sources, sources_under

log = logging.getLogger(__name__)

CONTRACT_NAMES = ("ostium_trading", "ostium_trading_storage", "ostium_callbacks", "ostium_registry")
MARKET_ORDERS_TIMEOUT = 100  # blocks a pending market order waits for the keeper before the trader may cancel it
VAULT_USDC = Decimal(50_000_000)  # what the trading storage holds to pay profits
KEEPER_KEY = DEV_KEYS[1]
LOOKBACK_BLOCKS = 1_000  # a keeper (re)started answers the orders initiated this recently (answered ones are ignored)
PRICE_SCALE = Decimal(10) ** 18
PRECISION_2 = 100
PRECISION_6 = 1_000_000
USDC_DECIMALS = 6
FaultMode = Literal["ok", "delay", "never"]


@dataclass(frozen=True)
class Pair:
    index: int
    symbol: str  # FROM-TO, as the subgraph names it: the oracle's price key
    instrument: str  # canonical
    max_leverage: Decimal


def pairs() -> list[Pair]:
    """The simulator's Ostium markets, as pairs."""
    spec = venue_markets()["venues"]["OSTIUM"]
    return [Pair(int(m.get("pair_index", i)), m["venue_symbol"], m["instrument"].upper(), Decimal(str(m.get("max_leverage", 1))))
            for i, m in enumerate(spec["markets"])]


def taker_fee_p() -> int:
    """The venue's taker fee as the contracts keep it: PRECISION_6 percent (10 bps = 0.1 % = 100,000)."""
    bps = Decimal(str(venue_markets()["venues"]["OSTIUM"].get("taker_fee_bps", 0)))
    return int(bps / 100 * PRECISION_6)


def artifacts() -> dict[str, Artifact]:
    return compile_sources(sources_under("ostium"))


def registry_key(name: str) -> bytes:
    return name.encode().ljust(32, b"\0")


async def deploy(chain: Chain, deployment: Deployment, prices: dict[str, Decimal], *,
                 orders_timeout_blocks: int = MARKET_ORDERS_TIMEOUT) -> None:
    """Registry, trading storage, trading, callbacks; every pair listed; the vault funded. Adds CONTRACT_NAMES."""
    a = artifacts()
    usdc = deployment.tokens["USDC"].address
    keeper: LocalAccount = Account.from_key(KEEPER_KEY)
    registry = await chain.deploy(a["OstiumRegistry"])
    storage = await chain.deploy(a["OstiumTradingStorage"], usdc)
    trading = await chain.deploy(a["OstiumTrading"], registry, storage, orders_timeout_blocks)
    callbacks = await chain.deploy(a["OstiumTradingCallbacks"], storage, trading, keeper.address)
    await chain.transact(chain.contract(a["OstiumTradingStorage"], storage).functions.setContracts(trading, callbacks))
    reg = chain.contract(a["OstiumRegistry"], registry)
    for name, at in (("callbacks", callbacks), ("trading", trading), ("tradingStorage", storage)):
        await chain.transact(reg.functions.setContractAddress(registry_key(name), at))
    trading_c = chain.contract(a["OstiumTrading"], trading)
    fee, min_pos = taker_fee_p(), int(Decimal(str(MIN_NOTIONAL_USD)) * 10**USDC_DECIMALS)
    await asyncio.gather(*(chain.transact(trading_c.functions.listPair(
        p.index, 1 * PRECISION_2, int(p.max_leverage * PRECISION_2), min_pos, fee)) for p in pairs()))
    usdc_c = chain.contract([*abi.USDC, MINT_ABI], usdc)
    await chain.transact(usdc_c.functions.mint(storage, int(VAULT_USDC * 10**USDC_DECIMALS)))
    deployment.contracts.update({"ostium_trading": trading, "ostium_trading_storage": storage,
                                 "ostium_callbacks": callbacks, "ostium_registry": registry})


def scaled_price(price: Decimal) -> int:
    """A price as the contracts take it: 1e18, to the unit."""
    return int((Decimal(price) * PRICE_SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


@dataclass
class PendingOrder:
    order_id: int
    is_open: bool
    pair_index: int
    seen_at: float


class Keeper:
    """Ostium's price keeper for the local chain: answers every pending market order through the callbacks."""

    def __init__(self, chain: Chain, deployment: Deployment, price_of: Callable[[str], Decimal], *,
                 is_open: Callable[[str], bool] | None = None, spread_bps: Decimal = Decimal(3),
                 mode: FaultMode = "ok", delay_s: float = 0.0, interval_s: float = 0.2, mine_every_s: float = 1.0,
                 key: str = KEEPER_KEY) -> None:
        self.chain, self.deployment, self.price_of = chain, deployment, price_of
        self.is_open = is_open or (lambda symbol: True)
        self.half_spread = Decimal(spread_bps) / 2 / 10_000
        self.mode, self.delay_s = mode, delay_s
        self.interval_s, self.mine_every_s = interval_s, mine_every_s
        self.account: LocalAccount = Account.from_key(key)
        self.trading = chain.contract(abi.TRADING, deployment.contracts["ostium_trading"])
        self.callbacks = chain.contract(abi.CALLBACKS, deployment.contracts["ostium_callbacks"])
        self.symbols = {p.index: p.symbol for p in pairs()}
        self.pending: dict[int, PendingOrder] = {}
        self._from_block: int | None = None
        self.pacer = BlockPacer(chain, mine_every_s)

    async def run(self) -> None:
        await keep_running(self.step, self.interval_s, "ostium keeper")

    async def step(self) -> list[int]:
        """Read new orders, answer those due; the order ids answered."""
        await self._read_orders()
        await self.pacer.keep_blocks_coming()
        if self.mode == "never":
            return []
        now = time.monotonic()
        due = [o for o in self.pending.values() if self.mode != "delay" or now - o.seen_at >= self.delay_s]
        answered = await asyncio.gather(*(self.answer(o) for o in due), return_exceptions=True)
        done = []
        for order, outcome in zip(due, answered, strict=True):
            if isinstance(outcome, BaseException):
                log.warning("ostium keeper: order %s not answered: %r", order.order_id, outcome)
                continue
            self.pending.pop(order.order_id, None)
            done.append(order.order_id)
        return done

    async def _read_orders(self) -> None:
        latest = await self.chain.w3.eth.block_number
        start = max(0, latest - LOOKBACK_BLOCKS) if self._from_block is None else self._from_block
        if start > latest:
            return
        window = {"from_block": start, "to_block": latest}
        opens = await self.trading.events.MarketOpenOrderInitiated().get_logs(**window)
        closes = await self.trading.events.MarketCloseOrderInitiatedV2().get_logs(**window)
        now = time.monotonic()
        for e in opens:
            self.pending.setdefault(e.args.orderId, PendingOrder(e.args.orderId, True, e.args.pairIndex, now))
        for e in closes:
            self.pending.setdefault(e.args.orderId, PendingOrder(e.args.orderId, False, e.args.pairIndex, now))
        self._from_block = latest + 1


    def quote(self, pair_index: int) -> tuple[int, int, int]:
        """(price, bid, ask), 1e18; all 0 when the market is closed."""
        symbol = self.symbols[pair_index]
        if not self.is_open(symbol):
            return 0, 0, 0
        mid = Decimal(self.price_of(symbol))
        return scaled_price(mid), scaled_price(mid * (1 - self.half_spread)), scaled_price(mid * (1 + self.half_spread))

    async def answer(self, order: PendingOrder) -> None:
        price, bid, ask = self.quote(order.pair_index)
        answer = (order.order_id, price, bid, ask, False)
        fn = (self.callbacks.functions.openTradeMarketCallback(answer) if order.is_open
              else self.callbacks.functions.closeTradeMarketCallback(answer))
        await self.chain.transact(fn, self.account)


MINT_ABI = {"type": "function", "name": "mint", "stateMutability": "nonpayable",
            "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}], "outputs": []}
