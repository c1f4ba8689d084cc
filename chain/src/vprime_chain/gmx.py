"""GMX v2 on the local chain: our test double of its contracts (`chain/contracts/gmx/*.sol`: DataStore, EventEmitter,
Router, OrderVault, OrderHandler, ExchangeRouter, SubaccountRouter, Reader; GMX's ABIs, see
`vprime_venues.gmx.abi`) and the keeper that executes orders at the simulator's oracle prices.

`deploy` registers one market per GMX instrument of the catalog fixture that has a price: `<SYM>/USD [<long>-USDC]`
with USDC as the short (collateral) token, plus `ETH/USD [WETH-WETH]` (a second ETH market, without USDC, as on
Arbitrum). Index tokens are WETH and WBTC where deployed, otherwise a synthetic address, with the decimals
`@gmx-io/sdk` 1.4.0 gives the token on Arbitrum (`INDEX_DECIMALS`). Market tokens are addresses derived from the
market's name. Configuration as GMX's (config/markets.ts, config/general.ts): a 0.06 % position fee (0.04 % when
the balance improves), min collateral factor 0.5 % for BTC, ETH and SOL and 1 % otherwise, min collateral 1 USD,
and REQUEST_EXPIRATION_TIME `expiration_s` (GMX: 300 s; shorter locally, so an unexecuted order is cancellable soon).

`Keeper` executes every pending order at `price_of("<index>/USD")` (min and max half a spread apart) once it is
`latency_s` old. Modes: `ok`, `delay` (executes only `delay_s` later), `never` (executes nothing: an order stays
pending until the account cancels it after REQUEST_EXPIRATION_TIME, the way GMX lets a market order expire), `gap`
(the oracle price has moved `gap_bps` against every order: the contract cancels it with GMX's
`OrderNotFulfillableAtAcceptablePrice`, as when the market gaps past the acceptable price).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from eth_account import Account
from eth_utils import keccak, to_checksum_address

from vprime_venues.gmx import abi as A
from vprime_venues.gmx import constants as C

from vprime_chain.anvil import DEV_KEYS
from vprime_chain.deploy import ERC20_ABI, BlockPacer, Chain, Deployment, keep_running
from vprime_chain.solidity import Artifact, compile_sources, sources_under

KEEPER_KEY = DEV_KEYS[1]
CONTROLLER, ORDER_KEEPER, ROUTER_PLUGIN = C.key("CONTROLLER"), C.key("ORDER_KEEPER"), C.key("ROUTER_PLUGIN")
# Index token decimals on Arbitrum (@gmx-io/sdk 1.4.0 configs/tokens.js).
INDEX_DECIMALS = {
    "BTC": 8, "ETH": 18, "SOL": 9, "LINK": 18, "ARB": 18, "UNI": 18, "DOGE": 8, "LTC": 8, "XRP": 6, "AVAX": 18, "NEAR": 24,
    "ATOM": 6, "AAVE": 18, "OP": 18, "GMX": 18, "PEPE": 18, "WIF": 6, "ORDI": 18, "STX": 6, "SHIB": 18, "SATS": 6, "BNB": 18,
    "EIGEN": 18, "POL": 18, "SUI": 9, "SEI": 18, "APT": 8, "TIA": 6, "TRX": 6, "TON": 9, "TAO": 9, "BONK": 5, "WLD": 18,
    "ENA": 18, "MEW": 5, "PENDLE": 18, "ADA": 6, "BCH": 8, "DOT": 10, "ICP": 8, "XLM": 7, "RENDER": 18, "INJ": 18, "FIL": 18,
    "DYDX": 18, "TRUMP": 6, "MELANIA": 6, "AI16Z": 9, "VIRTUAL": 18, "FARTCOIN": 6, "BERA": 18, "LDO": 18, "CRV": 18,
    "HYPE": 8, "KAS": 8, "ZRO": 18, "ONDO": 18, "JUP": 6, "PENGU": 6, "SPX6900": 8, "XMR": 12, "MORPHO": 18,
}
LOW_COLLATERAL_FACTOR = frozenset({"BTC", "ETH", "SOL"})  # 0.5 %: GMX's 200x markets (100x in its interface)
POOL_USDC = Decimal(100_000_000)  # what the pool holds to pay profits
GAS_CONFIG = {  # order gas limits and the fee estimate's terms (the SDK reads the same keys)
    C.INCREASE_ORDER_GAS_LIMIT: 1_500_000, C.DECREASE_ORDER_GAS_LIMIT: 1_500_000,
    C.ESTIMATED_GAS_FEE_BASE_AMOUNT_V2_1: 600_000, C.ESTIMATED_GAS_FEE_PER_ORACLE_PRICE: 0,
    C.ESTIMATED_GAS_FEE_MULTIPLIER_FACTOR: C.FLOAT_PRECISION,
}
NAMES = ("gmx_role_store", "gmx_datastore", "gmx_event_emitter", "gmx_event_utils", "gmx_router", "gmx_order_vault",
         "gmx_market_pool", "gmx_order_handler", "gmx_exchange_router", "gmx_subaccount_router", "gmx_reader")


def derived_address(*parts: str) -> str:
    return to_checksum_address(keccak(text="/".join(("vprime-gmx", *parts)))[-20:])


@dataclass(frozen=True)
class LocalMarket:
    name: str
    symbol: str  # the index token's symbol
    market_token: str
    index_token: str
    index_decimals: int
    long_token: str
    short_token: str


def local_markets(deployment: Deployment, symbols: list[str]) -> list[LocalMarket]:
    """The markets `deploy` registers, derived from the deployment alone (the simulator serves them as /markets/info)."""
    usdc, weth = deployment.tokens["USDC"].address, deployment.tokens["WETH"].address
    out = []
    for symbol in symbols:
        if symbol not in INDEX_DECIMALS:
            continue
        if symbol == "ETH":
            index, long_name, long_token = weth, "WETH", weth
        elif symbol == "BTC" and "WBTC" in deployment.tokens:
            index = long_token = deployment.tokens["WBTC"].address
            long_name = "WBTC"
        else:
            index, long_name, long_token = derived_address("index", symbol), "WETH", weth
        name = f"{symbol}/USD [{long_name}-USDC]"
        out.append(LocalMarket(name, symbol, derived_address("market", name), index, INDEX_DECIMALS[symbol], long_token, usdc))
    if "ETH" in symbols:
        name = "ETH/USD [WETH-WETH]"
        out.append(LocalMarket(name, "ETH", derived_address("market", name), weth, 18, weth, weth))
    return out


def artifacts() -> dict[str, Artifact]:
    return compile_sources(sources_under("gmx"))


def gmx_symbols(prices: dict[str, Decimal]) -> list[str]:
    return [s for s in INDEX_DECIMALS if s in prices]


async def deploy(chain: Chain, deployment: Deployment, prices: dict[str, Decimal], *, expiration_s: int = 15) -> None:
    built = artifacts()
    usdc, weth = deployment.tokens["USDC"].address, deployment.tokens["WETH"].address
    roles = await chain.deploy(built["RoleStore"])
    datastore = await chain.deploy(built["DataStore"], roles)
    emitter = await chain.deploy(built["EventEmitter"], roles)
    router = await chain.deploy(built["Router"], roles)
    vault = await chain.deploy(built["OrderVault"], roles)
    pool = await chain.deploy(built["MarketPool"], roles)
    event_utils = await chain.deploy(built["GmxEventUtils"], emitter)
    handler = await chain.deploy(built["OrderHandler"], roles, datastore, event_utils, vault, pool, C.price_scale(6))
    exchange = await chain.deploy(built["ExchangeRouter"], router, roles, datastore, emitter, handler, vault)
    subaccounts = await chain.deploy(built["SubaccountRouter"], router, roles, datastore, emitter, handler, vault)
    reader = await chain.deploy(built["Reader"])
    role_store = chain.contract(built["RoleStore"], roles)
    keeper = Account.from_key(KEEPER_KEY).address
    grants = [(chain.deployer.address, CONTROLLER), (handler, CONTROLLER), (event_utils, CONTROLLER), (exchange, CONTROLLER), (subaccounts, CONTROLLER),
              (exchange, ROUTER_PLUGIN), (subaccounts, ROUTER_PLUGIN), (keeper, ORDER_KEEPER)]
    for account, role in grants:
        await chain.transact(role_store.functions.grantRole(account, role))

    store = chain.contract(built["DataStore"], datastore)
    markets = local_markets(deployment, gmx_symbols(prices))
    config: dict[bytes, int] = {**GAS_CONFIG, C.REQUEST_EXPIRATION_TIME: expiration_s, C.MIN_COLLATERAL_USD_KEY: C.FLOAT_PRECISION,
                                C.MAX_DATA_LENGTH: 18}
    for m in markets:
        factor = Decimal("0.005") if m.symbol in LOW_COLLATERAL_FACTOR else C.DEFAULT_MIN_COLLATERAL_FACTOR
        config[C.min_collateral_factor_key(m.market_token)] = int(factor * C.FLOAT_PRECISION)
        for improves_balance, fee_bps in ((False, C.TAKER_FEE_BPS), (True, C.MAKER_FEE_BPS)):  # the venue's, once
            config[C.position_fee_factor_key(m.market_token, improves_balance)] = int(
                Decimal(str(fee_bps)) / 10_000 * C.FLOAT_PRECISION)
    await chain.transact(store.functions.setAddress(C.WNT, weth))
    await chain.transact(store.functions.setUints(list(config), list(config.values())))
    await chain.transact(store.functions.setMarkets([(m.market_token, m.index_token, m.long_token, m.short_token) for m in markets]))
    usdc_token = chain.contract(ERC20_ABI, usdc)
    await chain.transact(usdc_token.functions.mint(pool, int(POOL_USDC * 10**6)))
    await chain.transact(chain.contract(built["MarketPool"], pool).functions.syncTokenBalance(usdc))
    deployment.contracts.update(zip(NAMES, (roles, datastore, emitter, event_utils, router, vault, pool, handler, exchange, subaccounts, reader),
                                    strict=True))


INCREASE_TYPES = (2, 3)  # Order.OrderType: MarketIncrease, LimitIncrease


class Keeper:
    """Executes pending GMX orders at the oracle's price (see the module's docstring for the fault modes). `price_of`
    takes the simulator's GMX venue symbol (`BTC/USD`). anvil mines only on transactions, while Arbitrum makes blocks
    continuously: an empty block is mined when none came for `mine_every_s`, so an order's age passes on chain too."""

    def __init__(self, chain: Chain, deployment: Deployment, price_of: Callable[[str], Decimal], *, mode: str = "ok",
                 delay_s: float = 0.0, latency_s: float = 0.3, spread_bps: Decimal = Decimal(1), poll_s: float = 0.2,
                 mine_every_s: float = 1.0, gap_bps: Decimal = Decimal(500)) -> None:
        self.chain, self.deployment, self.price_of = chain, deployment, price_of
        self.gap_bps = gap_bps
        self.mode, self.delay_s, self.latency_s, self.spread_bps, self.poll_s = mode, delay_s, latency_s, spread_bps, poll_s
        self.mine_every_s = mine_every_s
        self.account = Account.from_key(KEEPER_KEY)
        built = artifacts()
        self.handler = chain.contract(built["OrderHandler"], deployment.contracts["gmx_order_handler"])
        self.store = chain.contract(A.DATA_STORE, deployment.contracts["gmx_datastore"])
        self.reader = chain.contract(A.READER, deployment.contracts["gmx_reader"])
        self._markets: dict[str, LocalMarket] = {}
        self._seen: dict[bytes, float] = {}
        self.pacer = BlockPacer(chain, mine_every_s)

    def market(self, market_token: str) -> LocalMarket | None:
        if not self._markets:
            self._markets = {m.market_token.lower(): m for m in local_markets(self.deployment, list(INDEX_DECIMALS))}
        return self._markets.get(market_token.lower())

    def prices(self, market: LocalMarket) -> tuple[int, int]:
        """Min and max oracle price of the market's index token, in GMX's scale."""
        price = Decimal(self.price_of(f"{market.symbol}/USD"))
        half = price * self.spread_bps / Decimal(20_000)
        return C.to_contract_price(price - half, market.index_decimals), C.to_contract_price(price + half, market.index_decimals)

    def gapped(self, low: int, high: int, *, against_long: bool) -> tuple[int, int]:
        """The prices moved `gap_bps` against the order: up for a buy (a long opening, a short closing), down else."""
        factor = (Decimal(10_000) + (self.gap_bps if against_long else -self.gap_bps)) / Decimal(10_000)
        return int(Decimal(low) * factor), int(Decimal(high) * factor)

    async def run(self) -> None:
        await keep_running(self._round_and_blocks, self.poll_s, "GMX keeper")

    async def _round_and_blocks(self) -> None:
        await self.round()
        await self.pacer.keep_blocks_coming()

    async def round(self) -> int:
        """Execute every order that is due; how many were."""
        if self.mode == "never":
            return 0
        count = await self.store.functions.getBytes32Count(C.key("ORDER_LIST")).call()
        keys = await self.store.functions.getBytes32ValuesAt(C.key("ORDER_LIST"), 0, count).call() if count else []
        wait = self.latency_s + (self.delay_s if self.mode == "delay" else 0.0)
        now, done = time.monotonic(), 0
        for key in keys:
            first_seen = self._seen.setdefault(bytes(key), now)
            if now - first_seen < wait:
                continue
            order = await self.reader.functions.getOrder(to_checksum_address(self.deployment.contracts["gmx_datastore"]), key).call()
            market = self.market(order[0][5])
            if market is None:
                continue
            low, high = self.prices(market)
            if self.mode == "gap":
                low, high = self.gapped(low, high, against_long=order[2][0] == (order[1][0] in INCREASE_TYPES))
            await self.chain.transact(self.handler.functions.executeOrder(key, low, high), self.account)
            self._seen.pop(bytes(key), None)
            done += 1
        return done


__all__ = ["Keeper", "LocalMarket", "deploy", "local_markets"]
