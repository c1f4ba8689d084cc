"""GMX v2 on a real anvil: our contracts with GMX's ABIs, the keeper, and Vprime's GMX adapter trading through the
subaccount flow. The oracle API is an in-memory fake serving the deployment's markets and the keeper's prices."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3

from vprime_shared.contracts import Order, Position, PositionState, RiskModel, Side, Venue
from vprime_venues.evm import EvmClient, MemoryJournal, Reverted
from vprime_venues.execution import Signer, VenueRefused, VenueUnknown
from vprime_venues.gmx import abi as A
from vprime_venues.gmx import constants as C
from vprime_venues.gmx.execution import GmxContracts, GmxVenue
from vprime_venues.gmx.oracle import MarketInfo, Ticker

from vprime_chain import gmx
from vprime_chain.anvil import DEV_KEYS, Anvil
from vprime_chain.deploy import ERC20_ABI, Chain, Deployment, Faucet, deploy_tokens

PORT = 18601
PRICES = {"BTC": Decimal("60000"), "ETH": Decimal("3000"), "XRP": Decimal("0.5")}
USER, AGENT = Account.from_key(DEV_KEYS[4]), Account.from_key(DEV_KEYS[5])
BTC = "BTC/USD [WBTC-USDC]"


class FakeOracle:
    """The Oracle API's answers for the local deployment: markets from the chain's registry, tickers at the keeper's
    prices (what the simulator serves)."""

    def __init__(self, deployment: Deployment, keeper: gmx.Keeper) -> None:
        self.markets_ = gmx.local_markets(deployment, list(PRICES))
        self.keeper = keeper

    async def markets(self) -> list[MarketInfo]:
        return [MarketInfo(m.name, m.market_token, m.index_token, m.long_token, m.short_token, m.symbol, m.index_decimals, True, {})
                for m in self.markets_]

    async def tickers(self) -> dict[str, Ticker]:
        return {m.index_token.lower(): Ticker(*self.keeper.prices(m)) for m in self.markets_}


@pytest.fixture(scope="module")
async def stack():
    with Anvil(PORT) as node:
        chain = Chain(node.rpc_url)
        deployment = Deployment(await chain.chain_id(), node.rpc_url)
        await deploy_tokens(chain, deployment, ["WBTC"])
        await gmx.deploy(chain, deployment, PRICES, expiration_s=3)
        faucet = Faucet(chain, deployment)
        await faucet.fund(USER.address, usdc=Decimal(10_000), eth=Decimal(1))
        await faucet.fund(AGENT.address, eth=Decimal(1))
        # the user's one-time setup: approve the Router for USDC, the agent as subaccount (count, expiry)
        usdc = chain.contract(ERC20_ABI, deployment.tokens["USDC"].address)
        await chain.transact(usdc.functions.approve(deployment.contracts["gmx_router"], 2**256 - 1), USER)
        router = chain.contract(A.SUBACCOUNT_ROUTER, deployment.contracts["gmx_subaccount_router"])
        expires = (await chain.w3.eth.get_block("latest"))["timestamp"] + 86_400
        await chain.transact(router.functions.addSubaccount(AGENT.address), USER)
        await chain.transact(router.functions.setMaxAllowedSubaccountActionCount(AGENT.address, C.SUBACCOUNT_ORDER_ACTION, 100), USER)
        await chain.transact(router.functions.setSubaccountExpiresAt(AGENT.address, C.SUBACCOUNT_ORDER_ACTION, expires), USER)
        keeper = gmx.Keeper(Chain(node.rpc_url), deployment, lambda s: PRICES[s.split("/")[0]], latency_s=0.2, poll_s=0.1)
        task = asyncio.create_task(keeper.run())
        yield chain, deployment, keeper
        task.cancel()


def venue(deployment: Deployment, keeper: gmx.Keeper, journal: MemoryJournal | None = None, **kwargs) -> GmxVenue:
    evm = EvmClient(AsyncWeb3(AsyncHTTPProvider(deployment.rpc_url)), Venue.GMX, journal=journal or MemoryJournal())
    c = deployment.contracts
    contracts = GmxContracts(c["gmx_subaccount_router"], c["gmx_order_vault"], c["gmx_reader"], c["gmx_datastore"],
                             c["gmx_event_emitter"], deployment.tokens["USDC"].address)
    return GmxVenue(evm, FakeOracle(deployment, keeper), contracts, slippage=0.01, keeper_timeout_s=kwargs.pop("timeout", 10.0),
                    poll_s=0.1, **kwargs)


def order(symbol: str = BTC, side: Side = Side.LONG, leverage: float = 5.0) -> Order:
    ids = {k: uuid.uuid4() for k in ("order_id", "intent_id", "signal_id", "agent_id", "deployment_id")}
    return Order(**ids, venue=Venue.GMX, venue_symbol=symbol, instrument=symbol.split("/")[0], side=side, size_pct=10,
                 leverage=leverage, taker_fee_bps=6, risk_model=RiskModel(type="none"))


def cid() -> str:
    return "0x" + uuid.uuid4().hex


SIGNER = Signer(AGENT.address, AGENT, USER.address)


async def usdc_of(chain: Chain, deployment: Deployment, who: str) -> int:
    return await chain.contract(ERC20_ABI, deployment.tokens["USDC"].address).functions.balanceOf(who).call()


async def test_a_long_opens_at_leverage_with_its_fill_from_the_events_and_closes(stack) -> None:
    chain, deployment, keeper = stack
    gmx_venue = venue(deployment, keeper)
    before = await usdc_of(chain, deployment, USER.address)
    fill = await gmx_venue.place(SIGNER, order(), 1000.0, cid())
    low, high = keeper.prices(keeper.market(gmx_venue._markets[BTC].market_token))
    assert fill.price == float(C.from_contract_price(high, 8))  # a long opens at the max price
    assert fill.notional_usd == 1000.0 and fill.fee_usd == pytest.approx(0.6)  # 6 bps of the size
    assert fill.qty == (1000 * 10**30 // high) / 1e8  # sizeDeltaUsd / price, rounded down to a satoshi
    assert before - await usdc_of(chain, deployment, USER.address) == 200_000_000  # 1,000 / 5x in USDC units
    assert await gmx_venue.positions(SIGNER) == {BTC: pytest.approx(fill.qty)}
    assert await gmx_venue.equity(SIGNER) == pytest.approx(before / 1e6 - 200)

    position = Position(position_id=uuid.uuid4(), order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(),
                        agent_id=uuid.uuid4(), deployment_id=uuid.uuid4(), venue=Venue.GMX, venue_symbol=BTC, instrument="BTC",
                        side=Side.LONG, state=PositionState.OPEN, entry_price=fill.price, qty=fill.qty, notional_usd=1000, size_pct=10,
                        equity_usd=10_000, leverage=5, fees_usd=fill.fee_usd, opened_at=datetime.now(UTC))
    closed = await gmx_venue.close(SIGNER, position, cid())
    assert closed.price == float(C.from_contract_price(low, 8))  # a long closes at the min price
    assert await gmx_venue.positions(SIGNER) == {}


async def test_a_short_on_a_six_decimal_index_token(stack) -> None:
    _, deployment, keeper = stack
    fill = await venue(deployment, keeper).place(SIGNER, order("XRP/USD [WETH-USDC]", Side.SHORT, 2.0), 100.0, cid())
    assert fill.price == pytest.approx(0.5, rel=1e-4) and fill.qty == pytest.approx(200, rel=1e-4)


async def test_an_agent_the_account_did_not_approve_is_refused_with_gmx_error(stack) -> None:
    _, deployment, keeper = stack
    stranger = Account.create()
    await Faucet(Chain(deployment.rpc_url), deployment).fund(stranger.address, eth=Decimal(1))
    with pytest.raises(Reverted, match="SubaccountNotAuthorized"):
        await venue(deployment, keeper).place(Signer(stranger.address, stranger, USER.address), order(), 100.0, cid())


async def test_two_orders_at_once_from_one_agent_wallet_both_fill(stack) -> None:
    _, deployment, keeper = stack
    gmx_venue = venue(deployment, keeper)
    fills = await asyncio.gather(gmx_venue.place(SIGNER, order(), 100.0, cid()), gmx_venue.place(SIGNER, order(), 150.0, cid()))
    assert sorted(f.notional_usd for f in fills) == [100.0, 150.0]


async def test_an_order_the_keeper_never_executes_is_unknown_then_cancelled_after_expiry(stack) -> None:
    _, deployment, keeper = stack
    journal = MemoryJournal()
    client_id = cid()
    keeper.mode = "never"
    try:
        with pytest.raises(VenueUnknown):
            await venue(deployment, keeper, journal, timeout=0.5).place(SIGNER, order(), 100.0, client_id)
        restarted = venue(deployment, keeper, journal)  # a new process: the journal gives the order back
        await asyncio.sleep(4.5)  # REQUEST_EXPIRATION_TIME of this deployment, and the keeper's next empty block
        with pytest.raises(VenueRefused, match="did not execute") as refused:
            await restarted.status(SIGNER, order(), client_id)
        assert refused.value.venue_specific
    finally:
        keeper.mode = "ok"


async def test_status_finds_a_filled_order_by_its_client_id(stack) -> None:
    _, deployment, keeper = stack
    journal = MemoryJournal()
    client_id = cid()
    fill = await venue(deployment, keeper, journal).place(SIGNER, order(), 100.0, client_id)
    assert await venue(deployment, keeper, journal).status(SIGNER, order(), client_id) == fill
    assert await venue(deployment, keeper, MemoryJournal()).status(SIGNER, order(), cid()) is None


async def test_a_price_gapped_past_the_acceptable_price_is_cancelled_by_the_contract(stack) -> None:
    _, deployment, keeper = stack
    keeper.mode = "gap"
    try:
        with pytest.raises(VenueRefused, match="OrderNotFulfillableAtAcceptablePrice") as refused:
            await venue(deployment, keeper).place(SIGNER, order(), 100.0, cid())
        assert refused.value.venue_specific  # another venue may take it
    finally:
        keeper.mode = "ok"
