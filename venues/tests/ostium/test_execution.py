"""Ostium's execution adapter: its scalings by hand, then the adapter against the venue's contracts on a real anvil
(our doubles, driven through the published ABI fragments) with the price keeper: fills from the settlement events,
reverts as refusals with the venue's errors, a keeper that never answers, lookups by client id after a restart, and
two orders at once from one agent wallet."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3

from vprime_chain import ostium as chain_ostium
from vprime_chain.anvil import DEV_KEYS, Anvil
from vprime_chain.deploy import Chain, Deployment, Faucet, deploy_tokens
from vprime_shared.contracts import Order, Position, PositionState, RiskModel, Side, Venue
from vprime_venues.evm import EvmClient, MemoryJournal
from vprime_venues.execution import Signer, VenueRefused, VenueUnknown
from vprime_venues.ostium import abi
from vprime_venues.ostium.execution import (OstiumVenue, collateral_units, parse_trade_id, scaled_leverage, scaled_price,
                                            slippage_p2)

PORT = 18612
SUBGRAPH, PRICES = "http://ostium.test/subgraph", "http://ostium.test/PricePublish/latest-prices"


# ---- scalings, by hand ---------------------------------------------------------------------------
def test_collateral_leverage_price_and_slippage_on_the_wire() -> None:
    assert scaled_leverage(5) == 500 and scaled_leverage(2.555) == 255 and scaled_leverage(Decimal("1.999")) == 199
    # $500 at 5x: $100 = 100,000,000 USDC units; $100.005 at 3x: 33.335 USDC; $10 at 3x: 3.333333 (rounded down).
    assert collateral_units(500.0, 500) == 100_000_000
    assert collateral_units(100.005, 300) == 33_335_000
    assert collateral_units(10, 300) == 3_333_333
    # BTC at 60,000.5 and EUR at 1.0812345: 1e18, exact to the unit (no float artefact).
    assert scaled_price(Decimal("60000.5")) == 60_000_500_000_000_000_000_000
    assert scaled_price(Decimal("1.0812345")) == 1_081_234_500_000_000_000
    assert slippage_p2(0.01) == 100 and slippage_p2(0.02) == 200  # PRECISION_2 percent, as the SDK's 2 % = 200
    assert parse_trade_id("0:1:17") == (0, 1, 17)


# ---- on a real anvil -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def anvil():
    with Anvil(PORT) as node:
        yield node


class Oracle:
    def __init__(self) -> None:
        self.mids = {"BTC-USD": Decimal(60000), "ETH-USD": Decimal(3000), "EUR-USD": Decimal("1.08")}

    def pairs(self) -> dict:
        return {"data": {"pairs": [{"id": str(i), "from": s.split("-")[0], "to": s.split("-")[1]}
                                   for i, s in enumerate(self.mids)]}}

    def prices(self) -> list[dict]:
        return [{"from": s.split("-")[0], "to": s.split("-")[1], "bid": float(m), "mid": float(m), "ask": float(m),
                 "isMarketOpen": True, "isDayTradingClosed": False} for s, m in self.mids.items()]

    def http(self) -> httpx.AsyncClient:
        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json=self.pairs() if str(request.url) == SUBGRAPH else self.prices())
        return httpx.AsyncClient(transport=httpx.MockTransport(answer))


@pytest.fixture(scope="module")
async def site(anvil: Anvil):
    chain = Chain(anvil.rpc_url)
    deployment = Deployment(await chain.chain_id(), anvil.rpc_url)
    await deploy_tokens(chain, deployment, [])
    await chain_ostium.deploy(chain, deployment, {}, orders_timeout_blocks=20)  # about a second with this keeper
    oracle = Oracle()
    keeper = chain_ostium.Keeper(chain, deployment, oracle.mids.__getitem__, spread_bps=Decimal(4), interval_s=0.05,
                                 mine_every_s=0.05)
    task = asyncio.create_task(keeper.run())
    yield chain, deployment, oracle, keeper
    task.cancel()


def venue_for(site, journal: MemoryJournal, *, keeper_timeout_s: float = 5.0) -> OstiumVenue:
    chain, deployment, oracle, _ = site
    evm = EvmClient(AsyncWeb3(AsyncHTTPProvider(chain.rpc_url)), Venue.OSTIUM, journal=journal, poll_s=0.02)
    return OstiumVenue(evm, oracle.http(), trading=deployment.contracts["ostium_trading"],
                       trading_storage=deployment.contracts["ostium_trading_storage"], subgraph_url=SUBGRAPH,
                       prices_url=PRICES, slippage=0.01, keeper_timeout_s=keeper_timeout_s, poll_s=0.05)


async def connected_trader(site, trader_key: str, agent_key: str, *, approve: bool = True) -> Signer:
    """A funded trader that delegated to the agent (and approved USDC to the trading storage)."""
    chain, deployment, _, _ = site
    trader, agent = Account.from_key(trader_key), Account.from_key(agent_key)
    await Faucet(chain, deployment).fund(trader.address, usdc=Decimal(10_000), eth=Decimal(10))
    await Faucet(chain, deployment).fund(agent.address, eth=Decimal(10))
    trading = chain.contract(abi.TRADING, deployment.contracts["ostium_trading"])
    await chain.transact(trading.functions.setDelegate(agent.address), trader)
    if approve:
        usdc = chain.contract(abi.USDC, deployment.tokens["USDC"].address)
        await chain.transact(usdc.functions.approve(deployment.contracts["ostium_trading_storage"], 2**256 - 1), trader)
    return Signer(agent.address, agent, trader.address)


def an_order(symbol: str = "BTC-USD", side: Side = Side.LONG, leverage: float = 5) -> Order:
    return Order(order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(), agent_id=uuid.uuid4(),
                 deployment_id=uuid.uuid4(), venue=Venue.OSTIUM, venue_symbol=symbol, instrument=symbol.split("-")[0],
                 side=side, size_pct=10, leverage=leverage, taker_fee_bps=10, risk_model=RiskModel(type="none"))


def position_of(order: Order, fill) -> Position:
    return Position(position_id=uuid.uuid4(), order_id=order.order_id, intent_id=order.intent_id, signal_id=order.signal_id,
                    agent_id=order.agent_id, deployment_id=order.deployment_id, venue=Venue.OSTIUM,
                    venue_symbol=order.venue_symbol, instrument=order.instrument, side=order.side, state=PositionState.OPEN,
                    entry_price=fill.price, qty=fill.qty, notional_usd=fill.notional_usd, size_pct=10, equity_usd=10_000,
                    leverage=order.leverage, fees_usd=fill.fee_usd, opened_at=datetime.now(UTC),
                    extra={"trade_id": fill.trade_id})


def cid() -> str:
    return "0x" + uuid.uuid4().hex


async def test_open_and_close_are_the_events_figures(site) -> None:
    signer = await connected_trader(site, DEV_KEYS[4], DEV_KEYS[5])
    journal = MemoryJournal()
    venue = venue_for(site, journal)
    assert await venue.equity(signer) == 10_000.0  # the trader's USDC, not the agent's

    order = an_order()
    fill = await venue.place(signer, order, 500.0, cid())
    ask = Decimal(60000) * (1 + Decimal(2) / 10_000)  # the keeper's ask: 60,012
    # $100 of collateral at 5x, less the 0.1 % opening fee on $500 ($0.50): $99.50 x 5 = $497.50 of BTC at 60,012.
    assert fill.price == 60012.0 and fill.fee_usd == 0.5
    assert fill.qty == float(Decimal(99_500_000 * 500 * 10**28 // scaled_price(ask)) / 10**18)
    assert fill.notional_usd == pytest.approx(497.5, rel=1e-12)
    pair, index, trade_id = parse_trade_id(fill.trade_id)
    assert (pair, index) == (0, 0) and trade_id > 0
    assert await venue.equity(signer) == 9_900.0
    assert await venue.positions(signer) == {"BTC-USD": fill.qty}

    _, _, oracle, _ = site
    oracle.mids["BTC-USD"] = Decimal(61200)
    closed = await venue.close(signer, position_of(order, fill), cid())
    bid = Decimal(61200) * (1 - Decimal(2) / 10_000)  # 61,187.76
    assert closed.price == float(bid) and closed.fee_usd == 0.0
    assert await venue.positions(signer) == {}
    oracle.mids["BTC-USD"] = Decimal(60000)


async def test_a_revert_is_a_refusal_with_the_venues_error(site) -> None:
    signer = await connected_trader(site, "0x" + "31" * 32, "0x" + "32" * 32)
    venue = venue_for(site, MemoryJournal())
    with pytest.raises(VenueRefused) as caught:
        await venue.place(signer, an_order(leverage=60), 600.0, cid())  # BTC takes at most 50x
    assert str(caught.value) == "OSTIUM: WrongLeverage(leverage=6000)" and caught.value.venue_specific
    with pytest.raises(VenueRefused) as caught:
        await venue.place(signer, an_order(leverage=2), 4.0, cid())  # $4 of position, under $5
    assert str(caught.value) == "OSTIUM: BelowMinLevPos()"


async def test_no_allowance_is_refused_before_sending(site) -> None:
    signer = await connected_trader(site, "0x" + "41" * 32, "0x" + "42" * 32, approve=False)
    venue = venue_for(site, MemoryJournal())
    with pytest.raises(VenueRefused, match="approved 0 USDC to the trading storage"):
        await venue.place(signer, an_order(), 500.0, cid())


async def test_two_orders_at_once_from_one_agent_both_land(site) -> None:
    signer = await connected_trader(site, DEV_KEYS[4], DEV_KEYS[5])
    venue = venue_for(site, MemoryJournal())
    fills = await asyncio.gather(venue.place(signer, an_order("ETH-USD"), 300.0, cid()),
                                 venue.place(signer, an_order("ETH-USD", Side.SHORT), 300.0, cid()))
    assert {parse_trade_id(f.trade_id)[1] for f in fills} == {0, 1}
    assert (await venue.positions(signer))["ETH-USD"] == pytest.approx(fills[0].qty - fills[1].qty)


async def test_a_keeper_that_never_answers_is_unknown_then_cancelled_by_the_venues_timeout(site) -> None:
    _, _, _, keeper = site
    signer = await connected_trader(site, "0x" + "11" * 32, "0x" + "12" * 32)
    journal = MemoryJournal()
    venue = venue_for(site, journal, keeper_timeout_s=0.3)  # shorter than the venue's 20 blocks
    before = await venue.equity(signer)
    order, client_id = an_order("EUR-USD", leverage=10), cid()
    keeper.mode = "never"
    try:
        with pytest.raises(VenueUnknown):
            await venue.place(signer, order, 200.0, client_id)
        restarted = venue_for(site, journal)  # a new process: only the journal is kept
        outcome = None
        for _ in range(200):
            try:
                await restarted.status(signer, order, client_id)
            except VenueUnknown:
                await asyncio.sleep(0.05)
                continue
            except VenueRefused as exc:
                outcome = exc
                break
        assert outcome is not None and "cancelled after the venue's timeout" in str(outcome) and outcome.venue_specific
        assert await venue.equity(signer) == before  # the collateral came back
        with pytest.raises(VenueRefused, match="cancelled after the venue's timeout"):  # and it stays cancelled
            await restarted.status(signer, order, client_id)
    finally:
        keeper.mode = "ok"


async def test_an_order_past_the_venues_timeout_is_cancelled_while_it_is_followed(site) -> None:
    """The venue's timeout (20 blocks in this module, about a second) comes before `keeper_timeout_s`: the order is cancelled
    through the venue's own path as soon as the contract allows it, and refused; nothing is left pending."""
    chain, deployment, _, keeper = site
    signer = await connected_trader(site, "0x" + "13" * 32, "0x" + "14" * 32)
    venue = venue_for(site, MemoryJournal(), keeper_timeout_s=30)
    before = await venue.equity(signer)
    keeper.mode = "never"
    try:
        with pytest.raises(VenueRefused, match="cancelled after the venue's timeout") as caught:
            await venue.place(signer, an_order("ETH-USD", leverage=4), 200.0, cid())
    finally:
        keeper.mode = "ok"
    assert caught.value.venue_specific
    storage = chain.contract(abi.TRADING_STORAGE, deployment.contracts["ostium_trading_storage"])
    assert await storage.functions.getPendingOrderIds(signer.trader).call() == []
    assert await venue.equity(signer) == before


async def test_an_order_in_a_market_that_closes_before_the_keeper_answers_is_cancelled_market_closed(site) -> None:
    _, _, _, keeper = site
    signer = await connected_trader(site, "0x" + "15" * 32, "0x" + "16" * 32)
    venue = venue_for(site, MemoryJournal())
    before = await venue.equity(signer)
    keeper.is_open = lambda symbol: symbol != "EUR-USD"  # the venue's prices still said open when the order left
    try:
        with pytest.raises(VenueRefused, match="cancelled by the venue: MARKET_CLOSED") as caught:
            await venue.place(signer, an_order("EUR-USD", leverage=10), 200.0, cid())
    finally:
        keeper.is_open = lambda symbol: True
    assert caught.value.venue_specific
    assert await venue.equity(signer) == before


async def test_an_unknown_order_is_found_by_its_client_id_after_a_restart(site) -> None:
    signer = await connected_trader(site, "0x" + "21" * 32, "0x" + "22" * 32)
    journal = MemoryJournal()
    order, client_id = an_order("ETH-USD", Side.SHORT, leverage=3), cid()
    fill = await venue_for(site, journal).place(signer, order, 150.0, client_id)
    found = await venue_for(site, journal).status(signer, order, client_id)
    assert found == fill
    assert await venue_for(site, journal).status(signer, order, cid()) is None  # never sent
