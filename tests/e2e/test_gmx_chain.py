"""Trading on GMX v2 as the venue is, on the local chain: the user's account approves GMX's Router for its USDC and
the executor's agent wallet as its subaccount; the agent sends `SubaccountRouter.multicall([sendWnt, createOrder])`
and pays the execution fee; the keeper executes at the simulator's oracle price. What the test reads on chain it reads
with the published-ABI fragments of `vprime_venues.gmx.abi` (the agent's calldata, and the EventEmitter's
EventLog1/EventLog2 events, whose items it decodes itself): the position's entry, size and fee are the chain's; the
collateral posted is the notional divided by the intent's leverage; a stop closes the position with a MarketDecrease
and the USDC comes back; a revert is refused with GMX's error; a keeper that never executes leaves an order that the
agent cancels once GMX lets it (REQUEST_EXPIRATION_TIME, read from the DataStore), and only then does the router
fail over; and one agent wallet sends two orders at once without a nonce collision.

The local deployment's REQUEST_EXPIRATION_TIME is 15 s (GMX: 300 s) and the executor waits `KEEPER_TIMEOUT_S` (10 s)
for a keeper before an order is unknown and looked up, so the silent keeper's test takes about 16 s."""

from __future__ import annotations

import asyncio
import functools
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from eth_account import Account
from eth_utils import keccak
from vprime_chain.deploy import ERC20_ABI, Chain
from vprime_local.stack import ServiceStack
from vprime_local.venue_accounts import MAX_UINT256, connect_venue
from vprime_venues.gmx import abi
from vprime_venues.gmx import constants as C
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
USD = 10**30  # GMX's USD scale
# Index token decimals on Arbitrum (@gmx-io/sdk 1.4.0 configs/tokens.js): a price is USD x 10^(30 - decimals).
DECIMALS = {"DOGE": 8, "LTC": 8, "XRP": 6, "AVAX": 18, "UNI": 18}
MARKET_INCREASE, MARKET_DECREASE = 2, 4


def items(event: Any) -> dict[str, Any]:
    """An EventLog1/EventLog2's `eventData`, every item and array item by key, whatever its kind."""
    out: dict[str, Any] = {}
    for kind in event.args.eventData.values():
        for item in kind["items"]:
            out[item["key"]] = item["value"]
        for item in kind["arrayItems"]:
            out[item["key"]] = list(item["value"])
    return out


def topic(value: bytes | str) -> str:
    """A bytes32 topic: a key as it is, an address left-padded."""
    raw = value if isinstance(value, bytes) else bytes.fromhex(value.removeprefix("0x")).rjust(32, b"\x00")
    return "0x" + raw.hex()


def units(value: int, scale: int) -> float:
    """A figure on the wire as the executor records it (exact decimal, then float)."""
    return float(Decimal(value) / Decimal(scale))


@dataclass
class Gmx:
    """The stack's chain as the test reads it: GMX's contracts with the published ABI fragments."""

    chain: Chain
    contracts: dict[str, str]
    markets: dict[str, str]  # index symbol -> market token of its `<SYM>/USD [...-USDC]` market

    def contract(self, fragment: list[dict[str, Any]], name: str) -> Any:
        return self.chain.contract(fragment, self.contracts[name])

    @property
    def router(self) -> Any:
        return self.contract(abi.SUBACCOUNT_ROUTER, "gmx_subaccount_router")

    @property
    def emitter(self) -> Any:
        return self.contract(abi.EVENT_EMITTER, "gmx_event_emitter")

    @property
    def usdc(self) -> Any:
        return self.contract(ERC20_ABI, "usdc")

    async def usdc_of(self, address: str) -> int:
        return await self.usdc.functions.balanceOf(address).call()

    async def positions(self, account: str) -> list[Any]:
        """`Reader.getAccountPositions`: (addresses, numbers, flags) per open position."""
        reader = self.contract(abi.READER, "gmx_reader")
        return await reader.functions.getAccountPositions(self.contracts["gmx_datastore"], account, 0, 100).call()

    async def orders(self, account: str) -> list[Any]:
        """`Reader.getAccountOrders`: (key, order) per order still in the DataStore (neither executed nor cancelled)."""
        reader = self.contract(abi.READER, "gmx_reader")
        return await reader.functions.getAccountOrders(self.contracts["gmx_datastore"], account, 0, 100).call()

    async def uint(self, key: bytes) -> int:
        return await self.contract(abi.DATA_STORE, "gmx_datastore").functions.getUint(key).call()

    def decoded(self, receipt: Any, name: str) -> list[tuple[Any, dict[str, Any]]]:
        """The receipt's EventLog1/EventLog2 events called `name`, each with its items."""
        found = [*self.emitter.events.EventLog1().process_receipt(receipt, errors=DISCARD),
                 *self.emitter.events.EventLog2().process_receipt(receipt, errors=DISCARD)]
        return [(e, items(e)) for e in found if e.args.eventName == name]

    async def events(self, name: str, topic1: bytes | str, from_block: int, *, log2: bool = True) -> list[tuple[Any, dict[str, Any]]]:
        """Every `name` event of the EventEmitter with `topic1` (an order key, an account, a market) since `from_block`."""
        event = self.emitter.events.EventLog2 if log2 else self.emitter.events.EventLog1
        signature = keccak(text=f"EventLog{2 if log2 else 1}(address,string,string,bytes32,{'bytes32,' if log2 else ''}"
                                f"{_EVENT_DATA})")
        logs = await self.chain.w3.eth.get_logs({"address": self.emitter.address, "fromBlock": from_block, "toBlock": "latest",
                                                 "topics": [topic(signature), topic(keccak(text=name)), topic(topic1)]})
        return [(e, items(e)) for e in (event().process_log(entry) for entry in logs)]

    def calls(self, tx: Any) -> list[tuple[str, dict[str, Any]]]:
        """The agent's multicall, decoded: each inner call's name and arguments."""
        fn, args = self.router.decode_function_input(tx["input"])
        assert fn.fn_name == "multicall"
        return [(inner.fn_name, inner_args) for inner, inner_args in map(self.router.decode_function_input, args["data"])]


_EVENT_DATA = ("(((string,address)[],(string,address[])[]),((string,uint256)[],(string,uint256[])[]),"
               "((string,int256)[],(string,int256[])[]),((string,bool)[],(string,bool[])[]),((string,bytes32)[],(string,bytes32[])[]),"
               "((string,bytes)[],(string,bytes[])[]),((string,string)[],(string,string[])[]))")


@pytest.fixture
async def gmx(stack: ServiceStack, http: httpx.AsyncClient) -> Any:
    sim = stack.url("simulator")
    r = await http.get(f"{sim}/admin/chain", headers=sim_admin())
    assert r.status_code == 200, r.text
    contracts = r.json()["contracts"]
    assert "gmx_subaccount_router" in contracts, f"the stack's chain has no GMX: {sorted(contracts)}"
    listed = (await http.get(f"{sim}/gmx/markets/info")).json()["markets"]
    markets = {m["name"].split("/")[0]: m["marketToken"] for m in listed if m["name"].endswith("-USDC]")}
    chain = Chain(stack.url("chain"))
    yield Gmx(chain, contracts, markets)
    await chain.close()


@pytest.fixture
async def keeper(http: httpx.AsyncClient, stack: ServiceStack) -> Any:
    """Set the GMX keeper's mode; `ok` again afterwards."""
    yield functools.partial(set_keeper_mode, http, stack.url("simulator"), "GMX")
    await set_keeper_mode(http, stack.url("simulator"), "GMX", "ok", 0)


async def connected(http: httpx.AsyncClient, control: str, stack: ServiceStack, name: str, *,
                    venues: tuple[str, ...] = ("GMX",), usdc: int = 1_000) -> tuple[str, str, str]:
    """A deployment trading for a fresh user account, connected as a user connects it (`connect_venue`: USDC from the
    faucet, the Router approved for it, the GMX agent wallet added as subaccount with an action count and an expiry,
    ETH for the agent's fees). The agent's id, the account and the GMX agent wallet."""
    user = Account.create()
    agent = await create_agent(http, control, name=name)
    deployment = await deploy(http, control, agent["id"], enabled_venues=list(venues), user_wallet=user.address)
    wallets = {}
    async with httpx.AsyncClient(base_url=stack.url("simulator"), headers=sim_admin(), timeout=30) as sim:
        for venue in venues:
            r = await http.post(f"{control}/api/v3/deployments/{deployment['id']}/agent-wallets/{venue}")
            assert r.status_code == 201, r.text
            wallets[venue] = r.json()["address"]
            await connect_venue(sim, venue, user=user, agent=wallets[venue], equity_usd=usdc)
    return agent["id"], user.address, wallets["GMX"]










async def test_a_signal_opens_the_chains_position_at_the_intents_leverage_and_a_stop_closes_it(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, producer: AIOKafkaProducer,
    admin_db: asyncpg.Pool, gmx: Gmx,
) -> None:
    sim = stack.url("simulator")
    scale = 10 ** (30 - DECIMALS["DOGE"])  # 10^22
    await set_price(http, sim, "GMX", "DOGE", 0.2)
    agent_id, user, agent_wallet = await connected(http, control_url, stack, "gmx open and stop")
    start = await gmx.usdc_of(user)
    s = await long_signal(http, control_url, agent_id, "DOGE", size_pct=10, leverage=3, stop=0.05)
    t = await settled_timeline(http, query_url, s["id"])
    assert t["signal"]["status"] == "EXECUTED", t
    [intent], [order], [position] = t["intents"], t["orders"], t["positions"]
    assert order["venue"] == "GMX" and position["venue"] == "GMX" and intent["leverage"] == position["leverage"] == 3

    # The agent's transaction, as journaled, decoded with the published ABI: the fee to the OrderVault, then the
    # account's MarketIncrease. 10 % of the account's 1,000 USDC at 3x: 300 USD of size, 100 USDC of collateral.
    [sent] = await sent_by(admin_db, order["client_order_id"])
    assert sent["signer"].lower() == agent_wallet.lower()
    tx = await gmx.chain.w3.eth.get_transaction(sent["tx_hash"])
    [(send_name, fee), (create_name, create)] = gmx.calls(tx)
    assert (send_name, create_name) == ("sendWnt", "createOrder")
    assert fee["receiver"] == gmx.contracts["gmx_order_vault"] and fee["amount"] == tx["value"] > 0
    params, numbers, addresses = create["params"], create["params"]["numbers"], create["params"]["addresses"]
    assert create["account"] == addresses["receiver"] == addresses["cancellationReceiver"] == user
    assert (params["orderType"], params["isLong"], addresses["market"], addresses["initialCollateralToken"]) == (
        MARKET_INCREASE, True, gmx.markets["DOGE"], gmx.contracts["usdc"])
    assert numbers["sizeDeltaUsd"] == 300 * USD and numbers["initialCollateralDeltaAmount"] == 100 * USDC_UNITS
    # The leverage the chain is asked for is the intent's: collateral = notional / leverage, in USDC units.
    leverage = Decimal(repr(intent["leverage"]))
    assert Decimal(numbers["initialCollateralDeltaAmount"]) * leverage * USD / USDC_UNITS == numbers["sizeDeltaUsd"]
    assert numbers["acceptablePrice"] == int(Decimal("0.2") * (1 + Decimal("0.00005")) * scale * Decimal("1.01"))  # max + 1 %
    assert params["dataList"] == [bytes.fromhex(order["client_order_id"].removeprefix("0x")).rjust(32, b"\x00")]

    # The keeper's execution, from the EventEmitter's events: entry, size and fee are the chain's.
    receipt = await gmx.chain.w3.eth.get_transaction_receipt(sent["tx_hash"])
    [(_, created)] = gmx.decoded(receipt, "OrderCreated")
    key = created["key"]
    assert order["venue_order_id"] == "0x" + key.hex()
    [(executed, _)] = await gmx.events("OrderExecuted", key, receipt["blockNumber"])
    settled = await gmx.chain.w3.eth.get_transaction_receipt(executed.transactionHash)
    [(_, increase)] = [e for e in gmx.decoded(settled, "PositionIncrease") if e[1]["orderKey"] == key]
    [(_, fees)] = [e for e in gmx.decoded(settled, "PositionFeesCollected") if e[1]["orderKey"] == key]
    fee_usd = Decimal(fees["positionFeeAmount"]) * fees["collateralTokenPrice.min"] / USD
    assert position["entry_price"] == units(increase["executionPrice"], scale)
    assert position["qty"] == units(increase["sizeDeltaInTokens"], 10 ** DECIMALS["DOGE"])
    assert position["notional_usd"] == units(increase["sizeDeltaUsd"], USD) == 300
    assert position["fees_usd"] == float(fee_usd) == 0.18  # GMX's 6 bps position fee on 300 USD
    assert position["entry_price"] == pytest.approx(0.2 * (1 + 0.5e-4), rel=1e-12)  # the keeper's max: half 1 bp up
    assert increase["collateralDeltaAmount"] == numbers["initialCollateralDeltaAmount"]

    # The position on chain (Reader): the account's, 300 USD, the 100 USDC posted less the fee GMX takes from it.
    [(held_addresses, held, flags)] = await gmx.positions(user)
    assert held_addresses == (user, gmx.markets["DOGE"], gmx.contracts["usdc"]) and flags == (True,)
    assert held[0] == 300 * USD and held[1] == increase["sizeDeltaInTokens"]
    assert held[2] == 100 * USDC_UNITS - fees["positionFeeAmount"]
    assert await gmx.usdc_of(user) == start - 100 * USDC_UNITS

    # 10 % down, past the 5 % stop: the executor closes the position on chain.
    await set_price(http, sim, "GMX", "DOGE", 0.18)
    await tick(producer, "GMX", "DOGE", 0.18)

    async def closed() -> dict | None:
        p = (await http.get(f"{query_url}/api/v3/signals/{s['id']}/timeline")).json()["positions"][0]
        return p if p["state"] == "CLOSED" else None

    done = await eventually(closed, timeout=30, what="the stop to close the GMX position on chain")
    [(decreased, decrease)] = await gmx.events("PositionDecrease", user, settled["blockNumber"], log2=False)
    assert decrease["orderType"] == MARKET_DECREASE and decrease["sizeDeltaUsd"] == 300 * USD
    assert decrease["sizeDeltaInTokens"] == increase["sizeDeltaInTokens"]
    [(close_created, close_order)] = await gmx.events("OrderCreated", decrease["orderKey"], settled["blockNumber"])
    close_tx = await gmx.chain.w3.eth.get_transaction(close_created.transactionHash)
    [(send_name, _), (create_name, close_create)] = gmx.calls(close_tx)
    assert (send_name, create_name) == ("sendWnt", "createOrder")
    assert close_tx["from"].lower() == agent_wallet.lower() and close_create["account"] == user
    assert close_order["orderType"] == close_create["params"]["orderType"] == MARKET_DECREASE
    assert done["exit_price"] == units(decrease["executionPrice"], scale)
    assert done["exit_price"] == pytest.approx(0.18 * (1 - 0.5e-4), rel=1e-12)  # the keeper's min
    # The position is gone from the Reader, and the USDC it held (less the loss and the fee) came back to the account.
    assert await gmx.positions(user) == []
    close_receipt = await gmx.chain.w3.eth.get_transaction_receipt(decreased.transactionHash)
    [paid] = [e for e in gmx.usdc.events.Transfer().process_receipt(close_receipt, errors=DISCARD) if e.args.to == user]
    assert 0 < paid.args.value < 100 * USDC_UNITS and done["realized_pnl_usd"] < 0
    assert await gmx.usdc_of(user) == start - 100 * USDC_UNITS + paid.args.value


async def test_an_agent_the_account_never_approved_is_rejected_with_gmx_error(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, admin_db: asyncpg.Pool, gmx: Gmx,
) -> None:
    """The account approved the Router for its USDC but never added the agent as its subaccount: the agent's
    createOrder reverts SubaccountNotAuthorized(account, subaccount) at gas estimation, so nothing is sent, and the
    order is REJECTED with the decoded error (not a venue-specific one: no other venue is tried)."""
    sim = stack.url("simulator")
    user = Account.create()
    agent = await create_agent(http, control_url, name="gmx no subaccount")
    deployment = await deploy(http, control_url, agent["id"], enabled_venues=["GMX"], user_wallet=user.address)
    r = await http.post(f"{control_url}/api/v3/deployments/{deployment['id']}/agent-wallets/GMX")
    assert r.status_code == 201, r.text
    agent_wallet = r.json()["address"]
    for address, body in ((user.address, {"usdc": "1000", "eth": "1"}), (agent_wallet, {"eth": "1"})):
        funded = await http.post(f"{sim}/admin/chain/faucet", json={"address": address, **body}, headers=sim_admin())
        assert funded.status_code == 200, funded.text
    await gmx.chain.transact(gmx.usdc.functions.approve(gmx.contracts["gmx_router"], MAX_UINT256), user)

    s = await long_signal(http, control_url, agent["id"], "UNI", size_pct=10, leverage=2)
    t = await settled_timeline(http, query_url, s["id"])
    [order] = t["orders"]
    assert order["venue"] == "GMX" and order["status"] == "REJECTED", order
    assert order["reason"].lower() == f"gmx: subaccountnotauthorized(account={user.address}, subaccount={agent_wallet})".lower()
    # The router ends the intent there: the refusal is definitive, so no other venue is tried.
    decisions = sorted(t["routing_decisions"], key=lambda d: d["attempt"])
    assert [(d["attempt"], d["selected_venue"]) for d in decisions] == [(1, "GMX"), (2, None)]
    assert "the venue's refusal is definitive" in decisions[1]["reason"] and t["positions"] == []
    assert await sent_by(admin_db, order["client_order_id"]) == []  # refused at estimation: nothing was sent
    assert await gmx.usdc_of(user.address) == 1_000 * USDC_UNITS and await gmx.orders(user.address) == []


async def test_a_keeper_that_never_executes_is_cancelled_on_chain_before_the_router_fails_over(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, admin_db: asyncpg.Pool, gmx: Gmx,
    keeper: Any,
) -> None:
    sim = stack.url("simulator")
    agent_id, user, agent_wallet = await connected(http, control_url, stack, "gmx keeper never", venues=("GMX", "HYPERLIQUID"))
    start = await gmx.usdc_of(user)
    expiration = await gmx.uint(C.REQUEST_EXPIRATION_TIME)
    await keeper("never")
    s = await long_signal(http, control_url, agent_id, "AVAX", size_pct=10, leverage=2)

    async def waiting() -> list[Any]:
        return await gmx.orders(user)

    [(key, pending)] = await eventually(waiting, timeout=30, what="the GMX order to wait for the keeper on chain")
    assert pending[0][0] == user and pending[1][0] == MARKET_INCREASE

    # Until the order is cancelled it could still execute: nothing fails over meanwhile. The timeline is read before
    # the chain, so a second decision seen means the cancellation was already on chain when it was made.
    unknown_seen = False
    while True:
        r = await http.get(f"{query_url}/api/v3/signals/{s['id']}/timeline")
        still_pending = await gmx.orders(user)
        timeline = r.json() if r.status_code == 200 else {"routing_decisions": [], "positions": []}
        if len(timeline["routing_decisions"]) >= 2:
            assert still_pending == [], "the router failed over while the GMX order could still execute"
            break
        assert [d["selected_venue"] for d in timeline["routing_decisions"]] in ([], ["GMX"]) and timeline["positions"] == []
        unknown_seen = unknown_seen or bool(await admin_db.fetchval(
            "SELECT bool_or(unknown_since IS NOT NULL AND status = 'SENDING') FROM executor.orders WHERE intent_id IN "
            "(SELECT intent_id FROM policy.decisions WHERE signal_id = $1)", uuid.UUID(s["id"])))
        await asyncio.sleep(0.25)
    assert unknown_seen, "the order was never unknown: it failed before the venue had cancelled it"

    t = await settled_timeline(http, query_url, s["id"])
    decisions = sorted(t["routing_decisions"], key=lambda d: d["attempt"])
    assert [(d["attempt"], d["selected_venue"]) for d in decisions] == [(1, "GMX"), (2, "HYPERLIQUID")]
    orders = {o["venue"]: o for o in t["orders"]}
    assert orders["GMX"]["status"] == "REJECTED"
    assert "cancelled: the keeper did not execute the order before it expired" in orders["GMX"]["reason"]
    assert orders["HYPERLIQUID"]["status"] == "FILLED" and [p["venue"] for p in t["positions"]] == ["HYPERLIQUID"]

    # On chain: the order's OrderCancelled, sent by the agent as the account's subaccount once the order had expired,
    # and the collateral back with the account.
    [sent_open] = await sent_by(admin_db, orders["GMX"]["client_order_id"])
    opened = await gmx.chain.w3.eth.get_transaction_receipt(sent_open["tx_hash"])
    [(cancelled, why)] = await gmx.events("OrderCancelled", key, opened["blockNumber"])
    assert why["reason"] == "USER_INITIATED_CANCEL"
    [cancel] = await sent_by(admin_db, f"{orders['GMX']['client_order_id']}:cancel")
    assert cancel["tx_hash"] == "0x" + cancelled.transactionHash.hex().removeprefix("0x")
    assert cancel["signer"].lower() == agent_wallet.lower()
    cancelled_at = (await gmx.chain.w3.eth.get_block(cancelled.blockNumber))["timestamp"]
    assert cancelled_at - pending[1][9] >= expiration  # updatedAtTime + REQUEST_EXPIRATION_TIME
    assert await gmx.usdc_of(user) == start
    # The keeper back at work finds nothing of it to execute: one position, on Hyperliquid.
    await keeper("ok")
    await asyncio.sleep(1)
    assert await gmx.positions(user) == [] and await gmx.orders(user) == []
    assert (await hyperliquid_positions(http, sim, user))["AVAX"] == pytest.approx(t["positions"][0]["qty"])


async def test_two_signals_at_once_from_one_agent_wallet_both_land(
    http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack, admin_db: asyncpg.Pool, gmx: Gmx,
) -> None:
    agent_id, user, agent_wallet = await connected(http, control_url, stack, "gmx two at once")
    signals = await asyncio.gather(*(long_signal(http, control_url, agent_id, i, size_pct=10, leverage=2) for i in ("LTC", "XRP")))
    timelines = await asyncio.gather(*(settled_timeline(http, query_url, s["id"]) for s in signals))
    assert [t["signal"]["status"] for t in timelines] == ["EXECUTED"] * 2, [t["orders"] for t in timelines]
    sent = [row for t in timelines for row in await sent_by(admin_db, t["orders"][0]["client_order_id"])]
    # One transaction each, from the one agent wallet, with consecutive nonces: none collided, none was re-signed.
    assert len(sent) == 2 and {r["signer"].lower() for r in sent} == {agent_wallet.lower()}
    assert sorted(r["nonce"] for r in sent) == [0, 1]
    assert all([p["venue"] for p in t["positions"]] == ["GMX"] for t in timelines)
    held = {addresses[1]: numbers[0] for addresses, numbers, _ in await gmx.positions(user)}
    assert held == {gmx.markets["LTC"]: 200 * USD, gmx.markets["XRP"]: 200 * USD}  # 100 USDC each at 2x
