"""Trading on Ostium as the venue is, on the local chain: the user's wallet delegates to the executor's agent wallet
and approves USDC to the trading storage; the agent sends `delegatedAction(trader, openTrade(...))`; the position is
what the chain's events say (read here with the published-ABI fragments of `vprime_venues.ostium.abi`); a stop closes
it on chain; a revert is refused with its reason; a keeper that never answers leaves an order that is cancelled
through the venue's timeout before the router fails over; a market closed in the simulator is cancelled on chain
(MARKET_CLOSED); and one agent wallet sends two orders at once without a nonce collision.

The venue's timeout is counted in blocks (`marketOrdersTimeout`, 100 on the local chain, a dozen seconds or so at the
stack's pace): the timeout test mines them itself (`anvil_mine`) once it has seen the order wait."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from eth_account import Account
from eth_account.signers.local import LocalAccount
from vprime_chain.deploy import Chain
from vprime_chain.ostium import pairs as ostium_pairs
from vprime_local.stack import ServiceStack
from vprime_local.venue_accounts import account_setup
from vprime_venues.ostium import abi
from web3.logs import DISCARD

from tests.conftest import eventually
from tests.e2e.helpers import (
    create_agent,
    deploy,
    hyperliquid_positions,
    long_signal,
    sent_by,
    set_keeper_mode,
    set_price,
    settled_timeline,
    sim_admin,
    tick,
)

pytestmark = pytest.mark.integration

USDC_UNITS = 10**6
PRICE_SCALE = Decimal(10) ** 18
MAX_UINT256 = 2**256 - 1


@dataclass
class Site:
    """The stack's chain as the test reads it: the Ostium contracts with the published ABI fragments."""

    chain: Chain
    contracts: dict[str, str]
    usdc_address: str

    @property
    def trading(self) -> Any:
        return self.chain.contract(abi.TRADING, self.contracts["ostium_trading"])

    @property
    def storage(self) -> Any:
        return self.chain.contract(abi.TRADING_STORAGE, self.contracts["ostium_trading_storage"])

    @property
    def callbacks(self) -> Any:
        return self.chain.contract(abi.CALLBACKS, self.contracts["ostium_callbacks"])

    @property
    def usdc(self) -> Any:
        return self.chain.contract(abi.USDC, self.usdc_address)

    async def usdc_of(self, address: str) -> int:
        return await self.usdc.functions.balanceOf(address).call()

    async def pending(self, trader: str) -> list[int]:
        return await self.storage.functions.getPendingOrderIds(trader).call()


@dataclass
class Trader:
    agent_id: str
    deployment: dict[str, Any]
    user: LocalAccount  # the user's wallet: the trader on Ostium
    agent_wallet: str  # the executor's agent wallet for OSTIUM


@pytest.fixture
async def site(stack: ServiceStack, http: httpx.AsyncClient) -> Any:
    r = await http.get(f"{stack.url('simulator')}/admin/chain", headers=sim_admin())
    assert r.status_code == 200, r.text
    found = r.json()
    chain = Chain(stack.url("chain"))
    yield Site(chain, found["contracts"], found["tokens"]["USDC"]["address"])
    await chain.close()


@pytest.fixture
async def keeper(http: httpx.AsyncClient, stack: ServiceStack) -> Any:
    """Set the Ostium keeper's mode; `ok` again afterwards."""
    yield functools.partial(set_keeper_mode, http, stack.url("simulator"), "OSTIUM")
    await set_keeper_mode(http, stack.url("simulator"), "OSTIUM", "ok", 0)


async def connected_trader(http: httpx.AsyncClient, control: str, stack: ServiceStack, site: Site, name: str, *,
                           venues: tuple[str, ...] = ("OSTIUM",), usdc: int = 1_000, delegate: bool = True) -> Trader:
    """A deployment trading for a fresh user wallet: funded by the faucet, delegating to the OSTIUM agent wallet the
    executor generated (unless `delegate` is false), USDC approved to the trading storage; the agent wallet funded
    with ETH for gas. Other venues in `venues` are set up on the simulator."""
    sim = stack.url("simulator")
    user = Account.create()
    agent = await create_agent(http, control, name=name)
    deployment = await deploy(http, control, agent["id"], enabled_venues=list(venues), user_wallet=user.address)
    wallets = {}
    for venue in venues:
        r = await http.post(f"{control}/api/v3/deployments/{deployment['id']}/agent-wallets/{venue}")
        assert r.status_code == 201, r.text
        deployment, wallets[venue] = r.json()["deployment"], r.json()["address"]
        if venue != "OSTIUM":
            setup = account_setup(venue, account=user.address, agent=wallets[venue], equity_usd=10_000)
            funded = await http.post(f"{sim}/admin/accounts", json=setup, headers=sim_admin())
            assert funded.status_code == 200, funded.text
    for address, body in ((user.address, {"usdc": str(usdc), "eth": "1"}), (wallets["OSTIUM"], {"eth": "1"})):
        r = await http.post(f"{sim}/admin/chain/faucet", json={"address": address, **body}, headers=sim_admin())
        assert r.status_code == 200, r.text
    sends = [site.chain.transact(site.usdc.functions.approve(site.storage.address, MAX_UINT256), user)]
    if delegate:
        sends.append(site.chain.transact(site.trading.functions.setDelegate(wallets["OSTIUM"]), user))
    await asyncio.gather(*sends)
    return Trader(agent["id"], deployment, user, wallets["OSTIUM"])










def units(value: int, scale: Decimal | int) -> float:
    """A figure on the wire as the executor records it (exact decimal, then float)."""
    return float(Decimal(value) / Decimal(scale))


async def test_a_signal_opens_the_chains_trade_and_a_stop_closes_it_on_chain(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, producer: AIOKafkaProducer,
    admin_db: asyncpg.Pool, site: Site,
) -> None:
    sim = stack.url("simulator")
    await set_price(http, sim, "OSTIUM", "TRX", 0.25)
    trader = await connected_trader(http, control_url, stack, site, "ostium open and stop")
    user = trader.user.address
    start = await site.usdc_of(user)
    s = await long_signal(http, control_url, trader.agent_id, "TRX", size_pct=10, leverage=3, stop=0.05)
    t = await settled_timeline(http, query_url, s["id"])
    assert t["signal"]["status"] == "EXECUTED", t
    [order], [position] = t["orders"], t["positions"]
    assert order["venue"] == "OSTIUM" and position["venue"] == "OSTIUM"

    # The transaction the agent sent, as journaled, decoded with the published ABI: the trader's openTrade by delegation.
    [sent] = await sent_by(admin_db, order["client_order_id"])
    assert sent["signer"].lower() == trader.agent_wallet.lower()
    tx = await site.chain.w3.eth.get_transaction(sent["tx_hash"])
    fn, args = site.trading.decode_function_input(tx["input"])
    assert fn.fn_name == "delegatedAction" and args["trader"].lower() == user.lower()
    inner, opened = site.trading.decode_function_input(args["call_data"])
    trade = opened["t"]
    collateral, wanted, leverage, pair, buy = (trade["collateral"], trade["openPrice"], trade["leverage"], trade["pairIndex"],
                                               trade["buy"])
    # 10 % of the trader's 1,000 USDC as collateral at 3x: 100 USDC, leverage 300 (PRECISION_2), at the 0.25 mid (1e18).
    assert inner.fn_name == "openTrade" and (collateral, leverage, buy) == (100 * USDC_UNITS, 300, True)
    assert wanted == int(Decimal("0.25") * PRICE_SCALE) and opened["slippageP"] == 100  # 1 %

    # The keeper's settlement, from the callbacks contract's events: entry, size and fees are the chain's.
    receipt = await site.chain.w3.eth.get_transaction_receipt(sent["tx_hash"])
    [initiated] = site.trading.events.MarketOpenOrderInitiated().process_receipt(receipt, errors=DISCARD)
    order_id = initiated.args.orderId
    [executed] = await site.callbacks.events.MarketOpenExecuted().get_logs(
        from_block=receipt["blockNumber"], argument_filters={"orderId": order_id})
    settled = await site.chain.w3.eth.get_transaction_receipt(executed.transactionHash)
    fees = sum(e.args.amount for name in ("DevFeeCharged", "VaultOpeningFeeCharged", "OracleFeeCharged", "BuilderFeeCharged")
               for e in getattr(site.callbacks.events, name)().process_receipt(settled, errors=DISCARD))
    assert position["entry_price"] == units(executed.args.t.openPrice, PRICE_SCALE)
    assert position["qty"] == units(executed.args.tradeNotional, PRICE_SCALE)
    assert position["fees_usd"] == units(fees, USDC_UNITS) == 0.3  # the 10 bps taker fee on 300 USD
    assert position["entry_price"] == pytest.approx(0.25 * (1 + 1.5e-4), rel=1e-12)  # the keeper's ask: half 3 bps up
    held = await site.storage.functions.getOpenTrade(user, pair, executed.args.t.index).call()
    assert held[0] == collateral - fees and held[5] == 300 and held[4].lower() == user.lower()  # the trader's, not the agent's
    assert await site.usdc_of(user) == start - collateral

    # 20 % down, past the 5 % stop: the executor closes the trade on chain.
    await set_price(http, sim, "OSTIUM", "TRX", 0.20)
    await tick(producer, "OSTIUM", "TRX", 0.20)

    async def closed() -> dict | None:
        p = (await http.get(f"{query_url}/api/v3/signals/{s['id']}/timeline")).json()["positions"][0]
        return p if p["state"] == "CLOSED" else None

    done = await eventually(closed, timeout=30, what="the stop to close the trade on chain")
    [close] = await site.trading.events.MarketCloseOrderInitiatedV2().get_logs(
        from_block=receipt["blockNumber"], argument_filters={"trader": user})
    [close_executed] = await site.callbacks.events.MarketCloseExecutedV2().get_logs(
        from_block=receipt["blockNumber"], argument_filters={"orderId": close.args.orderId})
    assert done["exit_price"] == units(close_executed.args.price, PRICE_SCALE)
    assert done["exit_price"] == pytest.approx(0.20 * (1 - 1.5e-4), rel=1e-12)  # the keeper's bid
    assert close_executed.args.percentageClosed == 10_000 and close_executed.args.percentProfit < 0
    # The trade is gone from the trading storage, and the USDC it was paid came back to the trader.
    assert await site.storage.functions.openTradesCount(user, pair).call() == 0
    assert (await site.storage.functions.getOpenTrade(user, pair, executed.args.t.index).call())[5] == 0
    assert await site.usdc_of(user) == start - collateral + close_executed.args.usdcSentToTrader
    assert close_executed.args.usdcSentToTrader > 0 and done["realized_pnl_usd"] < 0


async def test_a_revert_is_rejected_with_the_venues_reason(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, admin_db: asyncpg.Pool, site: Site,
) -> None:
    """The user approved USDC but never delegated: the agent's delegatedAction reverts NoDelegate(trader) at gas
    estimation, so nothing is sent, and the order is REJECTED with the decoded error (not a venue-specific one: no
    other venue is tried)."""
    trader = await connected_trader(http, control_url, stack, site, "ostium no delegation", delegate=False)
    s = await long_signal(http, control_url, trader.agent_id, "BNB", size_pct=10, leverage=2)
    t = await settled_timeline(http, query_url, s["id"])
    [order] = t["orders"]
    assert order["venue"] == "OSTIUM" and order["status"] == "REJECTED", order
    assert order["reason"].lower() == f"OSTIUM: NoDelegate(a={trader.user.address})".lower()
    first, last = sorted(t["routing_decisions"], key=lambda d: d["attempt"])
    assert first["selected_venue"] == "OSTIUM" and t["positions"] == []
    assert last["selected_venue"] is None and "the venue's refusal is definitive" in last["reason"]  # no failover
    assert await sent_by(admin_db, order["client_order_id"]) == []  # refused at estimation: nothing was sent
    assert await site.usdc_of(trader.user.address) == 1_000 * USDC_UNITS


async def test_a_keeper_that_never_executes_is_cancelled_on_chain_before_the_router_fails_over(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, admin_db: asyncpg.Pool, site: Site,
    keeper: Any,
) -> None:
    sim = stack.url("simulator")
    trader = await connected_trader(http, control_url, stack, site, "ostium keeper never", venues=("OSTIUM", "HYPERLIQUID"))
    user = trader.user.address
    start = await site.usdc_of(user)
    await keeper("never")
    s = await long_signal(http, control_url, trader.agent_id, "ADA", size_pct=10, leverage=2)

    # Every observation reads the timeline first and the chain after it: a second routing decision seen while the
    # order is still pending on chain (it could still fill) fails the test.
    order_id = order_block = pending_since = None
    mined, deadline = False, time.monotonic() + 40
    while True:
        timeline = (await http.get(f"{query_url}/api/v3/signals/{s['id']}/timeline")).json()
        pending = await site.pending(user)
        if len(timeline.get("routing_decisions", [])) >= 2:
            assert pending == [], "the router failed over while the Ostium order could still fill"
            break
        if pending:
            assert timeline.get("positions", []) == [] and "ADA" not in await hyperliquid_positions(http, sim, user)
            if order_id is None:
                [order_id], pending_since = pending, time.monotonic()
                order_block = (await site.storage.functions.reqID_pendingMarketOrder(order_id).call())[0]
            elif not mined and time.monotonic() - pending_since > 1:
                # Let the venue's timeout go by now rather than in a dozen seconds.
                blocks = await site.trading.functions.marketOrdersTimeout().call()
                await site.chain.w3.provider.make_request("anvil_mine", [hex(blocks)])
                mined = True
        assert time.monotonic() < deadline, f"no failover; timeline {timeline}, pending {pending}"
        await asyncio.sleep(0.1)
    assert order_id is not None, "the order was never seen waiting on chain"

    t = await settled_timeline(http, query_url, s["id"])
    decisions = sorted(t["routing_decisions"], key=lambda d: d["attempt"])
    assert [(d["attempt"], d["selected_venue"]) for d in decisions] == [(1, "OSTIUM"), (2, "HYPERLIQUID")]
    orders = {o["venue"]: o for o in t["orders"]}
    assert orders["OSTIUM"]["status"] == "REJECTED"
    assert f"order {order_id} cancelled after the venue's timeout" in orders["OSTIUM"]["reason"]
    assert orders["HYPERLIQUID"]["status"] == "FILLED" and [p["venue"] for p in t["positions"]] == ["HYPERLIQUID"]

    # On chain: the venue's timeout event for the order, sent by the agent for the trader, and the collateral back.
    [timed_out] = await site.trading.events.MarketOpenTimeoutExecutedV2().get_logs(
        from_block=order_block, argument_filters={"orderId": order_id})
    assert timed_out.args.order.trade.trader.lower() == user.lower()
    [cancel] = await sent_by(admin_db, f"{orders['OSTIUM']['client_order_id']}:timeout")
    assert cancel["tx_hash"] == "0x" + timed_out.transactionHash.hex().removeprefix("0x")
    assert await site.usdc_of(user) == start
    # The keeper back at work finds nothing of it to execute: one position, on Hyperliquid.
    await keeper("ok")
    await asyncio.sleep(1)
    assert await site.storage.functions.openTradesCount(user, timed_out.args.order.trade.pairIndex).call() == 0
    assert (await hyperliquid_positions(http, sim, user))["ADA"] == pytest.approx(t["positions"][0]["qty"])


async def test_a_market_closed_before_the_keeper_answers_is_cancelled_on_chain(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, site: Site, keeper: Any,
) -> None:
    """The market was open when the order left (the venue's prices said so), and closes before the keeper answers:
    the keeper, reading the simulator's market hours, answers with no price and the venue cancels it MARKET_CLOSED."""
    sim = stack.url("simulator")
    trader = await connected_trader(http, control_url, stack, site, "ostium market closes")
    user = trader.user.address
    await keeper("never")  # held until the market has closed
    s = await long_signal(http, control_url, trader.agent_id, "PLATINUM", size_pct=10, leverage=5)

    async def waiting() -> list[int]:
        return await site.pending(user)

    try:
        await eventually(waiting, timeout=30, interval=0.1, what="the Ostium order to wait for the keeper on chain")
        r = await http.post(f"{sim}/admin/market", json={"venue": "OSTIUM", "instrument": "PLATINUM", "open": False},
                            headers=sim_admin())
        assert r.status_code == 200, r.text
        await keeper("ok")
        t = await settled_timeline(http, query_url, s["id"])
    finally:
        await http.post(f"{sim}/admin/market", json={"venue": "OSTIUM", "instrument": "PLATINUM", "open": True}, headers=sim_admin())
    [order] = t["orders"]
    assert order["status"] == "REJECTED" and "cancelled by the venue: MARKET_CLOSED" in order["reason"], order
    assert t["positions"] == [] and await site.pending(user) == []
    assert await site.usdc_of(user) == 1_000 * USDC_UNITS  # the collateral came back


async def test_two_signals_at_once_from_one_agent_wallet_both_land(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, admin_db: asyncpg.Pool, site: Site,
) -> None:
    trader = await connected_trader(http, control_url, stack, site, "ostium two at once")
    signals = await asyncio.gather(*(long_signal(http, control_url, trader.agent_id, i, size_pct=10, leverage=2)
                                     for i in ("XRP", "DOGE")))
    timelines = await asyncio.gather(*(settled_timeline(http, query_url, s["id"]) for s in signals))
    assert [t["signal"]["status"] for t in timelines] == ["EXECUTED"] * 2, [t["orders"] for t in timelines]
    sent = [row for t in timelines for row in await sent_by(admin_db, t["orders"][0]["client_order_id"])]
    # One transaction each, from the one agent wallet, with consecutive nonces: none collided, none was re-signed.
    assert len(sent) == 2 and {r["signer"].lower() for r in sent} == {trader.agent_wallet.lower()}
    assert sorted(r["nonce"] for r in sent) == [0, 1]
    for t in timelines:
        [position] = t["positions"]
        assert position["venue"] == "OSTIUM"
    pairs = {p.symbol: p.index for p in ostium_pairs()}
    counts = [await site.storage.functions.openTradesCount(trader.user.address, pairs[s]).call() for s in ("XRP-USD", "DOGE-USD")]
    assert counts == [1, 1]
