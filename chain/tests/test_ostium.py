"""Ostium's doubles on a real anvil, driven through the venue's published ABI fragments (`vprime_venues.ostium.abi`):
the compiled contracts carry every selector, topic and error of those fragments; a delegate opens and closes for the
trader; the keeper fills at the oracle's bid/ask; bad input reverts with the venue's custom errors; a keeper that
never answers leaves the order to the trader's timeout."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account import Account
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD

from vprime_chain import ostium
from vprime_chain.anvil import DEV_KEYS, Anvil
from vprime_chain.deploy import Chain, Deployment, Faucet, deploy_tokens
from vprime_venues.evm import revert_reason
from vprime_venues.ostium import abi

PORT = 18611
PRICES = {"BTC-USD": Decimal(60000), "ETH-USD": Decimal(3000), "EUR-USD": Decimal("1.08")}
BTC, ETH = 0, 1
USDC = 10**6
ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture(scope="module")
def anvil():
    with Anvil(PORT) as node:
        yield node


@pytest.fixture(scope="module")
async def deployed(anvil: Anvil) -> tuple[Chain, Deployment]:
    chain = Chain(anvil.rpc_url)
    deployment = Deployment(await chain.chain_id(), anvil.rpc_url)
    await deploy_tokens(chain, deployment, [])
    await ostium.deploy(chain, deployment, PRICES)
    return chain, deployment


def test_the_compiled_contracts_carry_every_published_entry_we_use() -> None:
    """Same 4-byte selectors, event topics and output types as the venue's ABI, for every fragment Vprime uses."""
    compiled = ostium.artifacts()
    for ours, name in ((abi.TRADING, "OstiumTrading"), (abi.TRADING_STORAGE, "OstiumTradingStorage"),
                       (abi.CALLBACKS, "OstiumTradingCallbacks"), (abi.REGISTRY, "OstiumRegistry")):
        have = compiled[name].abi
        for entry in ours:
            if entry["type"] == "event":
                topics = {event_abi_to_log_topic(e) for e in have if e["type"] == "event"}
                assert event_abi_to_log_topic(entry) in topics, f"{name} lacks event {entry['name']}"
                continue
            if entry["type"] == "error" and entry["name"] in ("ExposureLimits", "IsDone"):
                continue  # the venue's own limits, which the double never hits
            [found] = [e for e in have if e["type"] == entry["type"]
                       and function_abi_to_4byte_selector(e) == function_abi_to_4byte_selector(entry)] or [None]
            assert found is not None, f"{name} lacks {entry['type']} {entry['name']}"
            if entry["type"] == "function":
                types = lambda outs: [(o["type"], types(o.get("components", []))) for o in outs]  # noqa: E731
                assert types(found["outputs"]) == types(entry["outputs"]), f"{name}.{entry['name']} returns otherwise"


class Venue:
    """The trader's and its delegate's view of the deployed contracts."""

    def __init__(self, chain: Chain, deployment: Deployment, trader_key: str, agent_key: str) -> None:
        self.chain = chain
        self.trader, self.agent = Account.from_key(trader_key), Account.from_key(agent_key)
        self.trading = chain.contract(abi.TRADING, deployment.contracts["ostium_trading"])
        self.storage = chain.contract(abi.TRADING_STORAGE, deployment.contracts["ostium_trading_storage"])
        self.callbacks = chain.contract(abi.CALLBACKS, deployment.contracts["ostium_callbacks"])
        self.usdc = chain.contract(abi.USDC, deployment.tokens["USDC"].address)

    def open_call(self, pair: int, collateral: int, leverage: int, price: Decimal, *, buy: bool = True) -> bytes:
        trade = (collateral, ostium.scaled_price(price), 0, 0, self.agent.address, leverage, pair, 0, buy, False)
        return self.trading.encode_abi("openTrade", [trade, (ZERO, 0), 0, 200])

    async def delegated(self, inner: bytes) -> dict:
        return await self.chain.transact(self.trading.functions.delegatedAction(self.trader.address, inner), self.agent)

    async def balance(self) -> int:
        return await self.usdc.functions.balanceOf(self.trader.address).call()


@pytest.fixture(scope="module")
async def venue(deployed) -> Venue:
    chain, deployment = deployed
    v = Venue(chain, deployment, DEV_KEYS[4], DEV_KEYS[5])
    await Faucet(chain, deployment).fund(v.trader.address, usdc=Decimal(10_000))
    await chain.transact(v.usdc.functions.approve(v.storage.address, 2**256 - 1), v.trader)  # the storage pulls USDC
    await chain.transact(v.trading.functions.setDelegate(v.agent.address), v.trader)
    assert await v.trading.functions.delegations(v.trader.address).call() == v.agent.address
    return v


async def test_a_delegate_opens_the_keeper_fills_at_the_ask_and_a_close_pays_the_profit(deployed, venue: Venue) -> None:
    chain, deployment = deployed
    prices = dict(PRICES)
    keeper = ostium.Keeper(chain, deployment, prices.__getitem__, spread_bps=Decimal(4))
    before = await venue.balance()
    receipt = await venue.delegated(venue.open_call(BTC, 100 * USDC, 500, prices["BTC-USD"]))
    [initiated] = venue.trading.events.MarketOpenOrderInitiated().process_receipt(receipt, errors=DISCARD)
    assert initiated.args.trader == venue.trader.address and initiated.args.pairIndex == BTC
    assert before - await venue.balance() == 100 * USDC  # pulled by the storage
    assert await venue.storage.functions.getPendingOrderIds(venue.trader.address).call() == [initiated.args.orderId]

    assert initiated.args.orderId in await keeper.step()
    [executed] = await venue.callbacks.events.MarketOpenExecuted().get_logs(
        from_block=receipt["blockNumber"], argument_filters={"orderId": initiated.args.orderId})
    t = executed.args.t
    # $100 at 5x = $500; the opening fee is 0.1 % of it: $0.50, half dev, half vault, out of the collateral.
    ask = ostium.scaled_price(Decimal(60000) * (1 + Decimal(2) / 10_000))
    assert (t.openPrice, t.collateral, t.leverage, t.trader, t.index, t.buy) == (ask, 99_500_000, 500, venue.trader.address, 0, True)
    assert executed.args.tradeNotional == 99_500_000 * 500 * 10**28 // ask  # BTC, 1e18
    fees = [e.args.amount for name in ("DevFeeCharged", "VaultOpeningFeeCharged")
            for e in await getattr(venue.callbacks.events, name)().get_logs(from_block=receipt["blockNumber"])]
    assert sum(fees) == 500_000
    stored = await venue.storage.functions.getOpenTrade(venue.trader.address, BTC, 0).call()
    assert stored[1] == ask and await venue.storage.functions.openTradesCount(venue.trader.address, BTC).call() == 1

    prices["BTC-USD"] = Decimal(61200)  # +2 %
    close = venue.trading.encode_abi("closeTradeMarket", [BTC, 0, 10_000, ostium.scaled_price(prices["BTC-USD"]), 200])
    receipt = await venue.delegated(close)
    [closing] = venue.trading.events.MarketCloseOrderInitiatedV2().process_receipt(receipt, errors=DISCARD)
    await keeper.step()
    [closed] = await venue.callbacks.events.MarketCloseExecutedV2().get_logs(
        from_block=receipt["blockNumber"], argument_filters={"orderId": closing.args.orderId})
    bid = ostium.scaled_price(Decimal(61200) * (1 - Decimal(2) / 10_000))
    profit_p = (bid - ask) * 500 * 10**6 // ask  # percent, 1e6
    assert closed.args.price == bid and closed.args.percentProfit == profit_p and closed.args.percentageClosed == 10_000
    assert closed.args.usdcSentToTrader == 99_500_000 + 99_500_000 * profit_p // (100 * 10**6)
    assert await venue.balance() == before - 100 * USDC + closed.args.usdcSentToTrader
    assert await venue.storage.functions.openTradesCount(venue.trader.address, BTC).call() == 0


@pytest.mark.parametrize(("pair", "collateral", "leverage", "reason"), [
    (BTC, 1 * USDC, 200, "BelowMinLevPos()"),  # $2 of position, under the $5 minimum
    (BTC, 100 * USDC, 5_100, "WrongLeverage(leverage=5100)"),  # 51x on a 50x pair
    (999, 100 * USDC, 500, "PairNotListed(index=999)"),
])
async def test_bad_input_reverts_with_the_venues_errors(deployed, venue: Venue, pair, collateral, leverage, reason) -> None:
    chain, _ = deployed
    fn = venue.trading.functions.delegatedAction(venue.trader.address, venue.open_call(pair, collateral, leverage, Decimal(60000)))
    with pytest.raises(ContractCustomError) as caught:
        await fn.estimate_gas({"from": venue.agent.address})
    errors = [e for e in abi.TRADING if e["type"] == "error"]
    assert revert_reason(caught.value.data, errors) == reason


async def test_only_the_delegate_acts_for_the_trader(deployed, venue: Venue) -> None:
    stranger = Account.from_key(DEV_KEYS[3])
    fn = venue.trading.functions.delegatedAction(venue.trader.address, venue.open_call(ETH, 100 * USDC, 500, Decimal(3000)))
    with pytest.raises(ContractCustomError) as caught:
        await fn.estimate_gas({"from": stranger.address})
    errors = [e for e in abi.TRADING if e["type"] == "error"]
    assert revert_reason(caught.value.data, errors) == f"NotDelegate(trader={venue.trader.address.lower()}, caller={stranger.address.lower()})"


async def test_a_closed_market_cancels_and_returns_the_collateral(deployed, venue: Venue) -> None:
    chain, deployment = deployed
    keeper = ostium.Keeper(chain, deployment, PRICES.__getitem__, is_open=lambda symbol: symbol != "EUR-USD")
    before = await venue.balance()
    receipt = await venue.delegated(venue.open_call(2, 100 * USDC, 1_000, Decimal("1.08"), buy=False))
    [initiated] = venue.trading.events.MarketOpenOrderInitiated().process_receipt(receipt, errors=DISCARD)
    await keeper.step()
    [cancelled] = await venue.callbacks.events.MarketOpenCanceled().get_logs(
        from_block=receipt["blockNumber"], argument_filters={"orderId": initiated.args.orderId})
    assert cancelled.args.cancelReason == 2  # MARKET_CLOSED
    assert await venue.balance() == before


async def test_a_keeper_that_never_answers_leaves_the_order_to_the_traders_timeout(deployed, venue: Venue) -> None:
    chain, deployment = deployed
    keeper = ostium.Keeper(chain, deployment, PRICES.__getitem__, mode="never", mine_every_s=0)
    before = await venue.balance()
    receipt = await venue.delegated(venue.open_call(ETH, 50 * USDC, 300, Decimal(3000)))
    [initiated] = venue.trading.events.MarketOpenOrderInitiated().process_receipt(receipt, errors=DISCARD)
    order_id = initiated.args.orderId
    timeout_call = venue.trading.encode_abi("openTradeMarketTimeout", [order_id])
    with pytest.raises(ContractCustomError) as caught:
        await venue.trading.functions.delegatedAction(venue.trader.address, timeout_call).estimate_gas({"from": venue.agent.address})
    assert revert_reason(caught.value.data, [e for e in abi.TRADING if e["type"] == "error"]) == f"WaitTimeout(orderId={order_id})"

    for _ in range(ostium.MARKET_ORDERS_TIMEOUT + 1):
        assert await keeper.step() == []  # never answers, and mines a block each round
    receipt = await venue.delegated(timeout_call)
    [timed_out] = venue.trading.events.MarketOpenTimeoutExecutedV2().process_receipt(receipt, errors=DISCARD)
    assert timed_out.args.orderId == order_id and timed_out.args.order.trade.collateral == 50 * USDC
    assert await venue.balance() == before
    assert await venue.storage.functions.getPendingOrderIds(venue.trader.address).call() == []
