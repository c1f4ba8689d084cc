"""The simulator's Hyperliquid against the venue's documented and recorded answers.

Shapes: the fixtures below are written for these tests from the docs' examples (info endpoint, exchange endpoint,
error responses) and the SDK's recorded answers (tests/cassettes of hyperliquid-python-sdk); values are made up,
keys and JSON types are the venue's. Orders and approvals are signed with the SDK's own signing functions.
"""

from __future__ import annotations

import socket
import threading
import time
import warnings
from decimal import Decimal
from typing import Any

import pytest
import uvicorn
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hyperliquid.utils.signing import order_wires_to_order_action, sign_agent, sign_l1_action

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from vprime_simulator.app import create_app
from vprime_simulator.exchange import Exchange
from vprime_simulator.hyperliquid import ONLY_ISOLATED, price_ok, valid_px

ADMIN_TOKEN = "sim-admin-test-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ETH, BTC, TON = 1, 0, 66  # asset indexes in the catalog fixture

# ---- fixtures: the venue's shapes --------------------------------------------------------------------
ORDER_FILLED = {"status": "ok", "response": {"type": "order", "data": {"statuses": [
    {"filled": {"totalSz": "0.25", "avgPx": "2999.8", "oid": 90210, "cloid": "0x0123456789abcdef0123456789abcdef"}}]}}}
ORDER_RESTING = {"status": "ok", "response": {"type": "order", "data": {"statuses": [
    {"resting": {"oid": 90211, "cloid": "0x0123456789abcdef0123456789abcdef"}}]}}}
ORDER_ERROR = {"status": "ok", "response": {"type": "order", "data": {"statuses": [
    {"error": "Order must have minimum value of $10."}]}}}
DEFAULT_OK = {"status": "ok", "response": {"type": "default"}}
ACTION_ERR = {"status": "err", "response": "User or API Wallet 0x0000000000000000000000000000000000000001 does not exist."}
ORDER_STATUS = {"status": "order", "order": {"order": {
    "coin": "ETH", "side": "B", "limitPx": "3050.0", "sz": "0.0", "oid": 90210, "timestamp": 1700000000000,
    "triggerCondition": "N/A", "isTrigger": False, "triggerPx": "0.0", "children": [], "isPositionTpsl": False,
    "reduceOnly": False, "orderType": "Limit", "origSz": "0.25", "tif": "Ioc", "cloid": "0x0123456789abcdef0123456789abcdef"},
    "status": "filled", "statusTimestamp": 1700000000000}}
USER_FILL = {"closedPnl": "0.0", "coin": "ETH", "crossed": True, "dir": "Open Long",
             "hash": "0x" + "5a" * 32, "oid": 90210, "px": "2999.8", "side": "B", "startPosition": "0.0",
             "sz": "0.25", "time": 1700000000000, "fee": "0.337478", "feeToken": "USDC", "tid": 41}
MARGIN_SUMMARY = {"accountValue": "5000.5", "totalNtlPos": "750.0", "totalRawUsd": "4250.5", "totalMarginUsed": "37.5"}
POSITION = {"type": "oneWay", "position": {
    "coin": "ETH", "szi": "0.25", "leverage": {"type": "cross", "value": 20}, "entryPx": "2999.8",
    "positionValue": "750.0", "unrealizedPnl": "0.05", "returnOnEquity": "0.0013", "liquidationPx": "12.5",
    "marginUsed": "37.5", "maxLeverage": 25, "cumFunding": {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"}}}
CLEARINGHOUSE = {"marginSummary": MARGIN_SUMMARY, "crossMarginSummary": MARGIN_SUMMARY,
                 "crossMaintenanceMarginUsed": "15.0", "withdrawable": "4963.0", "assetPositions": [POSITION],
                 "time": 1700000000000}
ACTIVE_ASSET = {"user": "0x" + "77" * 20, "coin": "ETH", "leverage": {"type": "cross", "value": 20},
                "maxTradeSzs": ["33.3333", "33.3333"], "availableToTrade": ["5000.5", "5000.5"], "markPx": "3000.1"}
META_ASSET = {"szDecimals": 4, "name": "ETH", "maxLeverage": 25, "marginTableId": 25}
ASSET_CTX = {"funding": "0.0000125", "openInterest": "1000.5", "prevDayPx": "2990.0", "dayNtlVlm": "1000000.0",
             "premium": "0.0", "oraclePx": "3000.0", "markPx": "3000.1", "midPx": "3000.05",
             "impactPxs": ["2999.9", "3000.2"], "dayBaseVlm": "333.3"}
L2_BOOK = {"coin": "ETH", "time": 1700000000000, "levels": [[{"px": "2999.9", "sz": "12.5", "n": 1}],
                                                             [{"px": "3000.2", "sz": "8.1", "n": 1}]]}
NULLABLE = {"liquidationPx", "cloid", "midPx", "impactPxs"}


def same_shape(actual: Any, fixture: Any, path: str = "") -> None:
    """Keys exactly the fixture's, JSON types the fixture's, decimal strings where the fixture has one."""
    if isinstance(fixture, dict):
        assert isinstance(actual, dict), path
        assert set(actual) == set(fixture), f"{path}: {sorted(set(actual) ^ set(fixture))}"
        for key, value in fixture.items():
            if actual[key] is None and key in NULLABLE:
                continue
            same_shape(actual[key], value, f"{path}.{key}")
    elif isinstance(fixture, list):
        assert isinstance(actual, list), path
        for item in actual:
            if fixture:
                same_shape(item, fixture[0], f"{path}[]")
    elif isinstance(fixture, bool) or fixture is None:
        assert type(actual) is type(fixture), path
    elif isinstance(fixture, int):
        assert isinstance(actual, int) and not isinstance(actual, bool), path
    elif isinstance(fixture, str):
        assert isinstance(actual, str), path
        if _decimal(fixture):
            assert _decimal(actual) and "e" not in actual.lower() and "." in actual, f"{path}: {actual!r}"


def _decimal(s: str) -> bool:
    try:
        Decimal(s)
    except ArithmeticError:
        return False
    return not s.startswith("0x")


def test_the_shape_check_catches_an_extra_key_a_wrong_type_and_a_bad_number() -> None:
    same_shape(ORDER_STATUS, ORDER_STATUS)
    with pytest.raises(AssertionError):
        same_shape({**USER_FILL, "extra": 1}, USER_FILL)
    with pytest.raises(AssertionError):
        same_shape({**USER_FILL, "oid": "90210"}, USER_FILL)
    with pytest.raises(AssertionError):
        same_shape({**USER_FILL, "px": "3e3"}, USER_FILL)


# ---- helpers ------------------------------------------------------------------------------------------
def make_sim(**kw: Any) -> TestClient:
    kw.setdefault("admin_token", ADMIN_TOKEN)
    return TestClient(create_app(Exchange(seed=1), timeout_s=0.01, **kw), headers=ADMIN)


@pytest.fixture
def sim() -> TestClient:
    return make_sim()


class Nonces:
    def __init__(self) -> None:
        self.last = 0

    def __call__(self) -> int:
        self.last = max(int(time.time() * 1000), self.last + 1)
        return self.last


nonce = Nonces()


def wire(asset: int = ETH, *, buy: bool = True, px: str = "3100", sz: str = "0.5", reduce_only: bool = False,
         tif: str = "Ioc", cloid: str | None = "0x" + "ab" * 16) -> dict[str, Any]:
    w: dict[str, Any] = {"a": asset, "b": buy, "p": px, "s": sz, "r": reduce_only, "t": {"limit": {"tif": tif}}}
    if cloid is not None:
        w["c"] = cloid
    return w


def l1(wallet: LocalAccount, action: dict[str, Any], *, n: int | None = None, mainnet: bool = False) -> dict[str, Any]:
    n = nonce() if n is None else n
    return {"action": action, "nonce": n, "signature": sign_l1_action(wallet, action, None, n, None, mainnet),
            "vaultAddress": None, "expiresAfter": None}


def order(wallet: LocalAccount, *wires: dict[str, Any], n: int | None = None, mainnet: bool = False) -> dict[str, Any]:
    return l1(wallet, order_wires_to_order_action(list(wires) or [wire()]), n=n, mainnet=mainnet)


def leverage(wallet: LocalAccount, asset: int, value: int, *, cross: bool = True) -> dict[str, Any]:
    return l1(wallet, {"type": "updateLeverage", "asset": asset, "isCross": cross, "leverage": value})


def approval(account: LocalAccount, agent: str, *, name: str | None = None, mainnet: bool = False) -> dict[str, Any]:
    """As the SDK's Exchange.approve_agent builds it: signed with agentName "" when unnamed, then sent without it."""
    n = nonce()
    action = {"type": "approveAgent", "agentAddress": agent, "agentName": name or "", "nonce": n}
    signature = sign_agent(account, action, mainnet)
    if name is None:
        del action["agentName"]
    return {"action": action, "nonce": n, "signature": signature, "vaultAddress": None}


def fund(sim: TestClient, account: str, agent: str | None = None, equity: float = 10_000) -> None:
    body: dict[str, Any] = {"venue": "HYPERLIQUID", "address": account, "equity_usd": equity}
    if agent is not None:
        body["agent"] = agent
    r = sim.post("/admin/accounts", json=body)
    assert r.status_code == 200, r.text


def exchange(sim: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = sim.post("/hyperliquid/exchange", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def info(sim: TestClient, **body: Any) -> Any:
    r = sim.post("/hyperliquid/info", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def status0(answer: dict[str, Any]) -> Any:
    return answer["response"]["data"]["statuses"][0]


@pytest.fixture
def trader(sim: TestClient) -> tuple[LocalAccount, LocalAccount]:
    """A funded account and the API wallet it approved (through the admin API)."""
    account, agent = Account.create(), Account.create()
    fund(sim, account.address, agent.address)
    return account, agent


# ---- signatures and who may act ----------------------------------------------------------------------
def test_an_agent_signed_on_testnet_trades_for_its_account_and_a_mainnet_signature_is_refused(sim: TestClient,
                                                                                               trader: Any) -> None:
    account, agent = trader
    filled = exchange(sim, order(agent))
    same_shape(filled, ORDER_FILLED)
    fill = status0(filled)["filled"]
    assert fill["totalSz"] == "0.5" and 2999 < float(fill["avgPx"]) < 3002 and fill["cloid"] == "0x" + "ab" * 16
    position = info(sim, type="clearinghouseState", user=account.address)["assetPositions"][0]["position"]
    assert position["coin"] == "ETH" and position["szi"] == "0.5"

    refused = exchange(sim, order(agent, wire(cloid="0x" + "cd" * 16), mainnet=True))
    same_shape(refused, ACTION_ERR)
    assert refused["response"].startswith("User or API Wallet 0x") and refused["response"].endswith(" does not exist.")
    assert agent.address.lower() not in refused["response"]  # the mainnet signature recovers another address
    assert info(sim, type="orderStatus", user=account.address, oid="0x" + "cd" * 16) == {"status": "unknownOid"}


def test_a_mainnet_simulator_takes_mainnet_signatures_only() -> None:
    sim = make_sim(hyperliquid_network="mainnet")
    account, agent = Account.create(), Account.create()
    fund(sim, account.address, agent.address)
    assert "does not exist" in exchange(sim, order(agent, mainnet=False))["response"]
    assert "filled" in status0(exchange(sim, order(agent, wire(cloid="0x" + "01" * 16), mainnet=True)))
    with pytest.raises(ValueError, match="mainnet or testnet"):
        make_sim(hyperliquid_network="devnet")


def test_an_unknown_signer_and_a_tampered_order_are_refused(sim: TestClient, trader: Any) -> None:
    stranger = Account.create()
    assert exchange(sim, order(stranger))["response"] == f"User or API Wallet {stranger.address.lower()} does not exist."
    _, agent = trader
    body = order(agent)
    body["action"]["orders"][0]["s"] = "5"  # changed after signing
    answer = exchange(sim, body)
    assert answer["status"] == "err" and "does not exist" in answer["response"]
    assert sim.get("/admin/orders", params={"venue": "HYPERLIQUID"}).json()["count"] == 0


def test_an_account_may_sign_for_itself(sim: TestClient) -> None:
    account = Account.create()
    fund(sim, account.address)
    assert status0(exchange(sim, order(account)))["filled"]["totalSz"] == "0.5"


def test_approve_agent_signed_by_the_account(sim: TestClient) -> None:
    account, agent, later = Account.create(), Account.create(), Account.create()
    unfunded = exchange(sim, approval(account, agent.address))
    assert unfunded == {"status": "err", "response": f"Must deposit before performing actions. User: {account.address.lower()}"}
    fund(sim, account.address)
    assert exchange(sim, approval(account, agent.address)) == DEFAULT_OK
    assert "filled" in status0(exchange(sim, order(agent)))
    # A mainnet approval on this testnet simulator recovers another (unfunded) user; nothing is approved.
    wrong = exchange(sim, approval(account, later.address, mainnet=True))
    assert wrong["status"] == "err" and wrong["response"].startswith("Must deposit before performing actions. User: 0x")
    assert account.address.lower() not in wrong["response"]
    assert "does not exist" in exchange(sim, order(later, wire(cloid="0x" + "02" * 16)))["response"]
    # A new unnamed approval deregisters the previous unnamed API wallet; a named one stands beside it.
    assert exchange(sim, approval(account, later.address)) == DEFAULT_OK
    assert "does not exist" in exchange(sim, order(agent, wire(cloid="0x" + "03" * 16)))["response"]
    named = Account.create()
    assert exchange(sim, approval(account, named.address, name="bot")) == DEFAULT_OK
    assert "filled" in status0(exchange(sim, order(later, wire(cloid="0x" + "04" * 16))))
    assert "filled" in status0(exchange(sim, order(named, wire(cloid="0x" + "05" * 16))))


def test_a_deregistered_api_wallet_loses_its_nonces_so_an_old_action_replays_if_it_returns(sim: TestClient) -> None:
    """Nonces and API wallets, "API Wallet Pruning": the docs' warning against reusing API wallet addresses."""
    account, agent, other = Account.create(), Account.create(), Account.create()
    fund(sim, account.address, agent.address)
    signed = order(agent)
    assert "filled" in status0(exchange(sim, signed))
    assert exchange(sim, signed)["response"].startswith("Invalid nonce: duplicate nonce")
    fund(sim, account.address, other.address)  # a new unnamed API wallet: the first is deregistered
    assert "does not exist" in exchange(sim, signed)["response"]
    fund(sim, account.address, agent.address)  # the same address approved again
    assert status0(exchange(sim, signed)) == {"error": "Duplicate cloid."}  # the old action is taken again


def test_admin_accounts_funds_the_account_and_approves_the_agent(sim: TestClient) -> None:
    account, agent = Account.create(), Account.create()
    r = sim.post("/admin/accounts", json={"venue": "HYPERLIQUID", "address": account.address, "equity_usd": 2500,
                                         "agent": agent.address})
    assert r.json() == {"venue": "HYPERLIQUID", "address": account.address.lower(), "equity_usd": 2500.0,
                        "agent": agent.address.lower()}
    state = info(sim, type="clearinghouseState", user=account.address)
    same_shape(state, {**CLEARINGHOUSE, "assetPositions": []})
    assert state["marginSummary"]["accountValue"] == "2500.0" and state["withdrawable"] == "2500.0"
    # Info names the account: the API wallet's own address answers as an empty one.
    exchange(sim, order(agent))
    empty = info(sim, type="clearinghouseState", user=agent.address)
    assert empty["assetPositions"] == [] and empty["marginSummary"]["accountValue"] == "0.0"
    assert info(sim, type="userFills", user=agent.address) == []
    assert len(info(sim, type="userFills", user=account.address)) >= 1
    # Bad addresses, an agent that is its own account, and agents on other venues are refused.
    for body in ({"venue": "HYPERLIQUID", "address": "0x12", "equity_usd": 1},
                 {"venue": "HYPERLIQUID", "address": account.address, "equity_usd": 1, "agent": account.address},
                 {"venue": "GMX", "address": "0xabc", "equity_usd": 1, "agent": agent.address}):
        assert sim.post("/admin/accounts", json=body).status_code == 422
    assert sim.post("/admin/accounts", json={"venue": "GMX", "address": "0xabc", "equity_usd": 5}).status_code == 422  # on chain


# ---- nonces ------------------------------------------------------------------------------------------
def test_a_nonce_is_used_once_per_signer(sim: TestClient, trader: Any) -> None:
    account, agent = trader
    n = nonce()
    assert "filled" in status0(exchange(sim, order(agent, n=n)))
    again = exchange(sim, order(agent, wire(cloid="0x" + "06" * 16), n=n))
    assert again == {"status": "err", "response": f"Invalid nonce: duplicate nonce {n}"}
    # Nonces are per signer: the account signing itself may use the same number.
    assert "filled" in status0(exchange(sim, order(account, wire(cloid="0x" + "07" * 16), n=n)))


def test_once_100_nonces_are_kept_a_new_one_must_exceed_the_smallest(sim: TestClient, trader: Any) -> None:
    _, agent = trader
    base = int(time.time() * 1000) - 60_000
    for i in range(1, 101):  # 100 nonces, taken out of order: fewer than 100 kept, any unused one goes
        n = base + (101 - i) * 10
        assert exchange(sim, l1(agent, {"type": "noop"}, n=n)) == DEFAULT_OK
    least = base + 10
    low = exchange(sim, l1(agent, {"type": "noop"}, n=least - 5))
    assert low == {"status": "err", "response": f"Invalid nonce: nonce too low {least - 5} < {least}"}
    assert exchange(sim, l1(agent, {"type": "noop"}, n=least + 5)) == DEFAULT_OK  # above the smallest, unused
    # That pushed the smallest out: least + 5 is now the smallest kept.
    assert exchange(sim, l1(agent, {"type": "noop"}, n=least + 1))["response"].startswith("Invalid nonce: nonce too low")


def test_a_nonce_outside_the_two_days_behind_one_day_ahead_window_is_refused(sim: TestClient, trader: Any) -> None:
    _, agent = trader
    day = 24 * 3600 * 1000
    now = int(time.time() * 1000)
    old = exchange(sim, order(agent, n=now - 2 * day - 5_000))
    assert old["status"] == "err" and old["response"].startswith(f"Invalid nonce: nonce too low {now - 2 * day - 5_000} < ")
    ahead = exchange(sim, order(agent, n=now + day + 5_000))
    assert ahead["status"] == "err" and ahead["response"].startswith(f"Invalid nonce: nonce too high {now + day + 5_000} > ")
    assert "filled" in status0(exchange(sim, order(agent, n=now - 2 * day + 60_000)))  # inside the window


# ---- leverage and margin -------------------------------------------------------------------------------
def test_default_leverage_is_cross_at_20_capped_by_max_leverage(sim: TestClient, trader: Any) -> None:
    account, _ = trader
    eth = info(sim, type="activeAssetData", user=account.address, coin="ETH")
    same_shape(eth, ACTIVE_ASSET)
    assert eth["leverage"] == {"type": "cross", "value": 20}  # ETH's maxLeverage is 25
    assert info(sim, type="activeAssetData", user=account.address, coin="AVAX")["leverage"] == {"type": "cross", "value": 10}
    assert info(sim, type="activeAssetData", user=account.address, coin="TON")["leverage"] == {"type": "isolated", "value": 10}
    assert eth["availableToTrade"] == ["10000.0", "10000.0"]
    assert float(eth["maxTradeSzs"][0]) == pytest.approx(10_000 * 20 / float(eth["markPx"]), rel=1e-3)


def test_update_leverage_is_reported_and_bounded(sim: TestClient, trader: Any) -> None:
    account, agent = trader
    assert exchange(sim, leverage(agent, ETH, 5, cross=False)) == DEFAULT_OK
    assert info(sim, type="activeAssetData", user=account.address, coin="ETH")["leverage"] == {"type": "isolated", "value": 5}
    exchange(sim, order(agent))
    position = info(sim, type="clearinghouseState", user=account.address)["assetPositions"][0]["position"]
    assert position["leverage"]["type"] == "isolated" and position["leverage"]["value"] == 5 and "rawUsd" in position["leverage"]
    assert float(position["marginUsed"]) == pytest.approx(float(position["positionValue"]) / 5, rel=1e-6)
    assert exchange(sim, leverage(agent, ETH, 26, cross=False)) == {"status": "err", "response": "Invalid leverage value"}
    assert exchange(sim, leverage(agent, ETH, 0, cross=False)) == {"status": "err", "response": "Invalid leverage value"}
    assert exchange(sim, leverage(agent, ETH, 10, cross=True)) == {
        "status": "err", "response": "Cannot switch leverage type with open position."}
    assert exchange(sim, leverage(agent, ETH, 25, cross=False)) == DEFAULT_OK


def test_an_only_isolated_asset_refuses_cross(sim: TestClient, trader: Any) -> None:
    account, agent = trader
    universe = info(sim, type="meta")["universe"]
    flagged = {a["name"] for a in universe if "onlyIsolated" in a}
    assert flagged == set(ONLY_ISOLATED) == {"TON"} and universe[TON]["onlyIsolated"] is True
    assert all(a.get("onlyIsolated", True) is True for a in universe)  # present only where true
    assert exchange(sim, leverage(agent, TON, 3, cross=True)) == {
        "status": "err", "response": "Cross margin is not allowed for this asset."}
    assert exchange(sim, leverage(agent, TON, 3, cross=False)) == DEFAULT_OK
    assert info(sim, type="activeAssetData", user=account.address, coin="TON")["leverage"] == {"type": "isolated", "value": 3}


def test_an_order_needs_its_margin(sim: TestClient) -> None:
    account, agent = Account.create(), Account.create()
    fund(sim, account.address, agent.address, equity=1_000)
    # 10 ETH at ~3000 is 30,000 of notional: 1,500 of margin at 20x, more than the account's 1,000.
    big = exchange(sim, order(agent, wire(sz="10")))
    same_shape(big, ORDER_ERROR)
    assert status0(big) == {"error": "Insufficient margin to place order."}
    assert info(sim, type="orderStatus", user=account.address, oid="0x" + "ab" * 16)["order"]["status"] == "perpMarginRejected"
    assert "filled" in status0(exchange(sim, order(agent, wire(sz="6", cloid="0x" + "08" * 16))))  # 900 of margin
    # At 1x the same account cannot add 0.5 ETH (1,500) any more.
    assert exchange(sim, leverage(agent, ETH, 1)) == {
        "status": "err", "response": "Cross position does not have sufficient margin available to decrease leverage."}
    assert exchange(sim, leverage(agent, BTC, 1)) == DEFAULT_OK
    # About 90 is left (1,000 - 900 - fees and spread): 0.0005 BTC at 1x (45) fits, 0.002 (180) does not.
    btc = exchange(sim, order(agent, wire(BTC, px="95000", sz="0.0005", cloid="0x" + "09" * 16)))
    assert "filled" in status0(btc)
    assert status0(exchange(sim, order(agent, wire(BTC, px="95000", sz="0.002", cloid="0x" + "0a" * 16)))) == {
        "error": "Insufficient margin to place order."}


# ---- orders --------------------------------------------------------------------------------------------
def test_an_ioc_that_crosses_nothing_is_refused_with_the_venue_text(sim: TestClient, trader: Any) -> None:
    account, agent = trader
    answer = exchange(sim, order(agent, wire(px="2000")))
    assert status0(answer) == {"error": "Order could not immediately match against any resting orders. asset=1"}
    status = info(sim, type="orderStatus", user=account.address, oid="0x" + "ab" * 16)
    same_shape(status, ORDER_STATUS)
    assert status["order"]["status"] == "iocCancelRejected" and status["order"]["order"]["sz"] == "0.5"
    assert info(sim, type="clearinghouseState", user=account.address)["assetPositions"] == []


def test_sizes_and_prices_follow_tick_and_lot_size(sim: TestClient, trader: Any) -> None:
    _, agent = trader
    cases = {("0.12345", "3100"): "Order has invalid size.",  # ETH has szDecimals 4
             ("0.5", "3100.12"): "Order has invalid price.",  # 6 - 4 = 2 decimals, but 6 significant figures
             ("0.5", "3100.5"): None,  # 5 significant figures, 1 decimal
             ("0", "3100"): "Order has zero size.",
             ("0.001", "3100"): "Order must have minimum value of $10."}
    for i, ((sz, px), error) in enumerate(cases.items()):
        answer = status0(exchange(sim, order(agent, wire(sz=sz, px=px, cloid=f"0x{i:032x}"))))
        assert answer == {"error": error} if error else "filled" in answer, (sz, px, answer)
    assert price_ok(Decimal("123456"), 5) and not price_ok(Decimal("1234.56"), 0) and price_ok(Decimal("0.012345"), 0)
    assert not price_ok(Decimal("0.0123456"), 0) and not price_ok(Decimal("3000.15"), 4) and not price_ok(Decimal("-1"), 0)
    assert valid_px(3000.123, 4) == Decimal("3000.1") and valid_px(0.00449912, 0) == Decimal("0.004499")


def test_a_cloid_the_account_used_is_refused(sim: TestClient, trader: Any) -> None:
    account, agent = trader
    first = status0(exchange(sim, order(agent)))["filled"]
    assert status0(exchange(sim, order(agent))) == {"error": "Duplicate cloid."}
    assert info(sim, type="orderStatus", user=account.address, oid="0x" + "ab" * 16)["order"]["order"]["oid"] == first["oid"]
    other_account, other_agent = Account.create(), Account.create()
    fund(sim, other_account.address, other_agent.address)
    assert "filled" in status0(exchange(sim, order(other_agent)))  # cloids are the account's own


def test_reduce_only_never_grows_a_position(sim: TestClient, trader: Any) -> None:
    account, agent = trader
    assert status0(exchange(sim, order(agent, wire(buy=False, px="2900", reduce_only=True)))) == {
        "error": "Reduce only order would increase position."}
    exchange(sim, order(agent, wire(cloid="0x" + "10" * 16)))
    closed = status0(exchange(sim, order(agent, wire(buy=False, px="2900", sz="0.8", reduce_only=True, cloid="0x" + "11" * 16))))
    assert closed["filled"]["totalSz"] == "0.5"  # taken down to the position's size
    assert info(sim, type="clearinghouseState", user=account.address)["assetPositions"] == []
    fills = info(sim, type="userFills", user=account.address)
    assert fills[0]["dir"] == "Close Long" and fills[0]["side"] == "A" and fills[0]["startPosition"] == "0.5"
    assert float(fills[0]["closedPnl"]) < 0  # bought at the ask, sold at the bid
    assert status0(exchange(sim, order(agent, wire(buy=False, px="2900", reduce_only=True, cloid="0x" + "12" * 16)))) == {
        "error": "Reduce only order would increase position."}


def test_gtc_rests_alo_may_not_cross_and_cancel_by_cloid(sim: TestClient, trader: Any) -> None:
    account, agent = trader
    resting = exchange(sim, order(agent, wire(px="2990", tif="Gtc", cloid="0x" + "20" * 16)))
    same_shape(resting, ORDER_RESTING)
    oid = status0(resting)["resting"]["oid"]
    assert info(sim, type="orderStatus", user=account.address, oid=oid)["order"]["status"] == "open"
    assert [o["oid"] for o in info(sim, type="openOrders", user=account.address)] == [oid]
    alo = status0(exchange(sim, order(agent, wire(px="3010", tif="Alo", cloid="0x" + "21" * 16))))
    assert alo["error"].startswith("Post only order would have immediately matched, bbo was ")
    cancel = exchange(sim, l1(agent, {"type": "cancelByCloid", "cancels": [{"asset": ETH, "cloid": "0x" + "20" * 16}]}))
    assert cancel == {"status": "ok", "response": {"type": "cancel", "data": {"statuses": ["success"]}}}
    assert info(sim, type="orderStatus", user=account.address, oid=oid)["order"]["status"] == "canceled"
    again = exchange(sim, l1(agent, {"type": "cancel", "cancels": [{"a": ETH, "o": oid}]}))
    assert status0(again) == {"error": "Order was never placed, already canceled, or filled. asset=1"}


def test_a_resting_order_fills_as_maker_when_the_book_reaches_it(sim: TestClient, trader: Any) -> None:
    account, agent = trader
    oid = status0(exchange(sim, order(agent, wire(px="2990", tif="Gtc", cloid="0x" + "22" * 16))))["resting"]["oid"]
    assert sim.post("/admin/book", json={"venue": "HYPERLIQUID", "instrument": "ETH", "mid": 2980}).status_code == 200
    assert info(sim, type="orderStatus", user=account.address, oid=oid)["order"]["status"] == "filled"
    fill = info(sim, type="userFills", user=account.address)[0]
    assert fill["oid"] == oid and fill["px"] == "2990.0" and fill["crossed"] is False


# ---- info ----------------------------------------------------------------------------------------------
def test_order_status_by_oid_and_cloid_has_the_venue_order_object_only(sim: TestClient, trader: Any) -> None:
    account, agent = trader
    oid = status0(exchange(sim, order(agent)))["filled"]["oid"]
    by_oid = info(sim, type="orderStatus", user=account.address, oid=oid)
    by_cloid = info(sim, type="orderStatus", user=account.address, oid="0x" + "ab" * 16)
    assert by_oid == by_cloid
    same_shape(by_oid, ORDER_STATUS)  # no avgPx, totalSz or other fill fields
    o = by_oid["order"]["order"]
    assert by_oid["order"]["status"] == "filled" and o["origSz"] == "0.5" and o["sz"] == "0.0" and o["limitPx"] == "3100.0"
    assert o["side"] == "B" and o["tif"] == "Ioc" and o["cloid"] == "0x" + "ab" * 16
    assert info(sim, type="orderStatus", user=agent.address, oid=oid) == {"status": "unknownOid"}
    assert info(sim, type="orderStatus", user=account.address, oid=oid + 999) == {"status": "unknownOid"}


def test_user_fills_and_fills_by_time(sim: TestClient, trader: Any) -> None:
    account, agent = trader
    before = int(time.time() * 1000)
    exchange(sim, order(agent, wire(sz="0.5")))
    exchange(sim, order(agent, wire(buy=False, px="2900", sz="0.7", cloid="0x" + "30" * 16)))
    fills = info(sim, type="userFills", user=account.address)
    for f in fills:
        same_shape(f, USER_FILL)
    assert [f["dir"] for f in fills] == ["Long > Short", "Open Long"]  # newest first
    assert fills[0]["startPosition"] == "0.5" and fills[0]["side"] == "A" and fills[0]["feeToken"] == "USDC"
    assert fills[0]["hash"] != fills[1]["hash"] and fills[0]["tid"] != fills[1]["tid"]
    assert float(fills[1]["fee"]) == pytest.approx(float(fills[1]["px"]) * 0.5 * 4.5 / 10_000, abs=1e-6)
    after = int(time.time() * 1000)
    assert info(sim, type="userFillsByTime", user=account.address, startTime=before, endTime=after) == fills
    assert info(sim, type="userFillsByTime", user=account.address, startTime=after + 1) == []
    assert info(sim, type="userFillsByTime", user=account.address, startTime=0, endTime=before - 1) == []


def test_clearinghouse_state_has_the_venue_shape_and_sums(sim: TestClient, trader: Any) -> None:
    account, agent = trader
    exchange(sim, order(agent, wire(sz="1.0")))
    state = info(sim, type="clearinghouseState", user=account.address)
    same_shape(state, CLEARINGHOUSE)
    p = state["assetPositions"][0]["position"]
    assert p["leverage"] == {"type": "cross", "value": 20} and p["maxLeverage"] == 25 and p["szi"] == "1.0"
    value = float(state["marginSummary"]["accountValue"])
    assert value == pytest.approx(10_000 + float(p["unrealizedPnl"]) - 3000 * 4.5 / 10_000, abs=0.05)
    assert float(state["marginSummary"]["totalMarginUsed"]) == pytest.approx(float(p["positionValue"]) / 20, rel=1e-6)
    assert float(state["withdrawable"]) == pytest.approx(value - float(p["marginUsed"]), abs=1e-5)


def test_meta_asset_contexts_book_and_mids(sim: TestClient) -> None:
    meta = info(sim, type="meta")
    same_shape(meta["universe"][ETH], META_ASSET)
    assert meta["universe"][ETH]["name"] == "ETH" and [a["name"] for a in meta["universe"]][:2] == ["BTC", "ETH"]
    assert {t[0] for t in meta["marginTables"]} == {a["marginTableId"] for a in meta["universe"]}
    assert meta["universe"][3]["isDelisted"] is True  # MATIC
    both = info(sim, type="metaAndAssetCtxs")
    assert both[0] == meta and len(both[1]) == len(meta["universe"])
    same_shape(both[1][ETH], ASSET_CTX)
    book = info(sim, type="l2Book", coin="ETH")
    same_shape(book, L2_BOOK)
    bids, asks = book["levels"]
    assert len(bids) == len(asks) == 20 and float(bids[0]["px"]) < float(asks[0]["px"])
    assert all(price_ok(Decimal(level["px"]), 4) for level in bids + asks)
    mids = info(sim, type="allMids")
    assert "MATIC" not in mids and float(bids[0]["px"]) < float(mids["ETH"]) < float(asks[0]["px"])
    assert info(sim, type="spotMeta") == {"universe": [], "tokens": []}


def test_what_does_not_deserialize_is_a_plain_422(sim: TestClient, trader: Any) -> None:
    _, agent = trader
    for path, body in (("/hyperliquid/info", {"type": "userFills"}), ("/hyperliquid/info", {"type": "nonsense"}),
                       ("/hyperliquid/info", {"type": "orderStatus", "user": agent.address, "oid": "0x12"}),
                       ("/hyperliquid/exchange", order(agent, wire(cloid="0x1234"))),
                       ("/hyperliquid/exchange", l1(agent, {"type": "withdrawEverything"}))):
        r = sim.post(path, json=body)
        assert r.status_code == 422 and r.headers["content-type"].startswith("text/plain"), (path, body, r.text)
        assert r.text.startswith("Failed to deserialize the JSON body into the target type")


def test_no_simulator_route_serves_venue_data(sim: TestClient, trader: Any) -> None:
    account, _ = trader
    for path in (f"/sim/HYPERLIQUID/accounts/{account.address}", "/sim/hyperliquid/book?symbol=ETH", "/sim/gmx/accounts/0xabc"):
        assert sim.get(path).status_code == 404, path


# ---- faults and rate limits ------------------------------------------------------------------------------
def test_lose_answer_places_the_order_and_answers_500(sim: TestClient, trader: Any) -> None:
    account, agent = trader
    r = sim.post("/admin/faults", json={"venue": "HYPERLIQUID", "mode": "lose_answer", "scope": "orders"})
    assert r.status_code == 200 and r.json()["HYPERLIQUID"] == "lose_answer (orders)"
    lost = sim.post("/hyperliquid/exchange", json=order(agent))
    assert lost.status_code == 500 and "filled" not in lost.text
    assert info(sim, type="meta")["universe"]  # only orders lose their answers: info answers,
    assert exchange(sim, leverage(agent, ETH, 10)) == DEFAULT_OK  # and so do the other actions
    status = info(sim, type="orderStatus", user=account.address, oid="0x" + "ab" * 16)
    assert status["order"]["status"] == "filled"  # the order exists
    assert info(sim, type="clearinghouseState", user=account.address)["assetPositions"][0]["position"]["szi"] == "0.5"
    assert sim.post("/hyperliquid/exchange", json=order(agent, wire(cloid="0x" + "40" * 16))).status_code == 500
    sim.post("/admin/faults", json={"venue": "HYPERLIQUID", "mode": "ok"})
    assert "filled" in status0(exchange(sim, order(agent, wire(cloid="0x" + "41" * 16))))
    assert sim.post("/admin/faults", json={"venue": "GMX", "mode": "lose_answer"}).status_code == 422


def test_the_weight_budget_answers_429_per_client_address() -> None:
    sim = make_sim(hyperliquid_weight_per_minute=50)
    for _ in range(25):  # allMids weighs 2: 50 in all
        assert sim.post("/hyperliquid/info", json={"type": "allMids"}).status_code == 200
    over = sim.post("/hyperliquid/info", json={"type": "allMids"})
    assert over.status_code == 429 and over.json() is None
    assert sim.post("/hyperliquid/exchange", json={}).status_code == 429  # the budget is shared by both endpoints
    other = TestClient(sim.app, client=("10.9.8.7", 4000), headers=ADMIN)
    assert other.post("/hyperliquid/info", json={"type": "meta"}).status_code == 200  # another address's budget
    assert other.post("/hyperliquid/info", json={"type": "meta"}).status_code == 200  # 40 of 50
    assert other.post("/hyperliquid/info", json={"type": "meta"}).status_code == 429  # meta weighs 20


def test_the_budget_frees_after_a_minute_and_batches_weigh_more() -> None:
    from vprime_simulator.hyperliquid_api import WeightBudget, exchange_weight, info_weight

    now = [1000.0]
    budget = WeightBudget(10, clock=lambda: now[0])
    assert budget.take("a", 10) and not budget.take("a", 1)
    now[0] += 60.5
    assert budget.take("a", 1)
    assert exchange_weight({"type": "order", "orders": [{}] * 79}) == 2 and exchange_weight({"type": "noop"}) == 1
    assert (info_weight("l2Book"), info_weight("userRole"), info_weight("meta")) == (2, 60, 20)


def test_the_environment_sets_network_and_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import vprime_simulator.__main__ as entry

    seen: dict[str, Any] = {}
    monkeypatch.setattr(entry.uvicorn, "run", lambda app, **kw: seen.update(app=app))
    monkeypatch.setattr(entry.logs, "configure", lambda *a, **kw: None)
    monkeypatch.setenv("SIMULATOR_FEED_INSTRUMENTS", "")
    monkeypatch.setenv("SIMULATOR_HYPERLIQUID_NETWORK", "mainnet")
    monkeypatch.setenv("SIMULATOR_HYPERLIQUID_WEIGHT_PER_MINUTE", "7")
    entry.main()
    client = TestClient(seen["app"])
    assert seen["app"].state.hyperliquid_budget.per_minute == 7
    account = Account.create()
    seen["app"].state.exchange.hyperliquid.fund(account.address, 1_000)
    assert "filled" in status0(client.post("/hyperliquid/exchange", json=order(account, mainnet=True)).json())
    monkeypatch.delenv("SIMULATOR_HYPERLIQUID_NETWORK")
    monkeypatch.delenv("SIMULATOR_HYPERLIQUID_WEIGHT_PER_MINUTE")
    entry.main()
    assert seen["app"].state.hyperliquid_budget.per_minute == 1200
    seen["app"].state.exchange.hyperliquid.fund(account.address, 1_000)
    assert "does not exist" in TestClient(seen["app"]).post("/hyperliquid/exchange", json=order(account, mainnet=True)).json()["response"]


# ---- the SDK itself, over HTTP --------------------------------------------------------------------------
def test_the_official_sdk_trades_against_the_simulator() -> None:
    from hyperliquid.exchange import Exchange as SdkExchange
    from hyperliquid.info import Info as SdkInfo
    from hyperliquid.utils.types import Cloid

    exchange_state = Exchange(seed=1)
    app = create_app(exchange_state, admin_token=ADMIN_TOKEN)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 10
        while not server.started and time.time() < deadline:
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}/hyperliquid"
        account = Account.create()
        exchange_state.hyperliquid.fund(account.address, 5_000)
        owner = SdkExchange(account, base)  # not the mainnet URL: the SDK signs for testnet
        answer, agent_key = owner.approve_agent()
        assert answer == DEFAULT_OK
        bot = SdkExchange(Account.from_key(agent_key), base, account_address=account.address)
        assert bot.update_leverage(5, "ETH") == DEFAULT_OK
        cloid = Cloid.from_str("0x" + "5c" * 16)
        opened = bot.market_open("ETH", True, 0.25, cloid=cloid)
        assert opened["status"] == "ok" and opened["response"]["data"]["statuses"][0]["filled"]["totalSz"] == "0.25"
        sdk_info = SdkInfo(base, skip_ws=True)
        assert sdk_info.query_order_by_cloid(account.address, cloid)["order"]["status"] == "filled"
        position = sdk_info.user_state(account.address)["assetPositions"][0]["position"]
        assert position["leverage"] == {"type": "cross", "value": 5} and position["szi"] == "0.25"
        closed = bot.market_close("ETH")  # reads the account's position, sends a reduce-only IoC
        assert closed["response"]["data"]["statuses"][0]["filled"]["totalSz"] == "0.25"
        assert sdk_info.user_state(account.address)["assetPositions"] == []
    finally:
        server.should_exit = True
        thread.join(timeout=10)
