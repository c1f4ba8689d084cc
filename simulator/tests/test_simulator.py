from __future__ import annotations

import time
import warnings

import pytest
from eth_account import Account
from hyperliquid.utils.signing import order_wires_to_order_action, sign_l1_action

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from vprime_simulator.app import create_app
from vprime_simulator.exchange import Exchange


@pytest.fixture
def sim() -> TestClient:
    return TestClient(create_app(Exchange(seed=1), timeout_s=0.01, keeper_delay_s=0.0))


def hl_order(wallet, *, asset: int = 1, size: str = "0.5", price: str = "3100", cloid: str = "0x" + "ab" * 16,
             reduce_only: bool = False, tamper: bool = False) -> dict:  # type: ignore[no-untyped-def]
    action = order_wires_to_order_action([{"a": asset, "b": True, "p": price, "s": size, "r": reduce_only,
                                           "t": {"limit": {"tif": "Ioc"}}, "c": cloid}])
    nonce = int(time.time() * 1000)
    signature = sign_l1_action(wallet, action, None, nonce, None, False)
    if tamper:
        action["orders"][0]["s"] = "5"  # changed after signing: the signer recovered is someone else
    return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None}


def test_hyperliquid_shapes(sim: TestClient) -> None:
    meta, ctxs = sim.post("/hyperliquid/info", json={"type": "metaAndAssetCtxs"}).json()
    assert len(meta["universe"]) == len(ctxs) and {"name", "szDecimals", "maxLeverage"} <= meta["universe"][0].keys()
    assert {"funding", "openInterest", "markPx", "midPx", "impactPxs"} <= ctxs[0].keys()
    book = sim.post("/hyperliquid/info", json={"type": "l2Book", "coin": "kPEPE"}).json()
    bids, asks = book["levels"]
    assert float(bids[0]["px"]) < float(asks[0]["px"]) and float(asks[0]["px"]) < 0.01  # 1,000 PEPE per contract
    assert sim.post("/hyperliquid/info", json={"type": "userFills"}).status_code == 422


def test_hyperliquid_checks_signatures_sizes_and_prices(sim: TestClient) -> None:
    wallet = Account.create()
    unapproved = sim.post("/hyperliquid/exchange", json=hl_order(wallet)).json()
    assert unapproved["status"] == "err" and "does not exist" in unapproved["response"]
    sim.post("/admin/accounts", json={"venue": "HYPERLIQUID", "address": wallet.address, "equity_usd": 50_000})
    ok = sim.post("/hyperliquid/exchange", json=hl_order(wallet)).json()
    filled = ok["response"]["data"]["statuses"][0]["filled"]
    assert float(filled["totalSz"]) == 0.5 and 3000 < float(filled["avgPx"]) < 3001
    forged = sim.post("/hyperliquid/exchange", json=hl_order(wallet, cloid="0x" + "cd" * 16, tamper=True)).json()
    assert forged["status"] == "err" and "does not exist" in forged["response"]
    bad_size = sim.post("/hyperliquid/exchange", json=hl_order(wallet, size="0.12345", cloid="0x" + "01" * 16)).json()
    assert bad_size["response"]["data"]["statuses"][0] == {"error": "Order has invalid size."}
    bad_price = sim.post("/hyperliquid/exchange", json=hl_order(wallet, price="3100.123", cloid="0x" + "02" * 16)).json()
    assert bad_price["response"]["data"]["statuses"][0] == {"error": "Order has invalid price."}
    status = sim.post("/hyperliquid/info", json={"type": "orderStatus", "user": wallet.address, "oid": "0x" + "ab" * 16}).json()
    assert status["status"] == "order" and status["order"]["status"] == "filled"
    state = sim.post("/hyperliquid/info", json={"type": "clearinghouseState", "user": wallet.address}).json()
    assert state["assetPositions"][0]["position"]["szi"] == "0.5"
    reduce_too_far = sim.post("/hyperliquid/exchange", json=hl_order(wallet, cloid="0x" + "03" * 16, reduce_only=True)).json()
    assert "Reduce only" in reduce_too_far["response"]["data"]["statuses"][0]["error"]


def test_orders_are_idempotent_by_client_order_id() -> None:
    ex = Exchange(seed=2)
    first = ex.place("GMX", "c1", "ETH/USD", "BUY", 1_000, account="0xa")
    again = ex.place("GMX", "c1", "ETH/USD", "BUY", 99_999, account="0xa")
    assert first is again and first.status == "filled" and len(ex.orders) == 1


def test_refusals_carry_a_code() -> None:
    ex = Exchange(seed=2)
    ex.market("OSTIUM", "XAU-USD").open = False
    assert ex.place("OSTIUM", "1", "XAU-USD", "BUY", 1_000).code == "MARKET_CLOSED"
    assert ex.place("HYPERLIQUID", "2", "ETH", "BUY", 5).code == "MIN_NOTIONAL"
    assert ex.place("HYPERLIQUID", "3", "MATIC", "BUY", 1_000).code == "DELISTED"
    assert ex.place("SPOT", "4", "WETH", "SELL", 1_000).code == "NO_SHORT"
    ex.market("GMX", "ETH/USD").depth_usd = 1_000
    assert ex.place("GMX", "5", "ETH/USD", "BUY", 100_000).code == "LIQUIDITY"


def test_keeper_orders_and_faults(sim: TestClient) -> None:
    markets = sim.get("/gmx/markets/info").json()["markets"]
    eth = next(m for m in markets if m["name"].startswith("ETH/USD"))
    body = {"account": "0xabc", "market": eth["marketToken"], "isLong": True, "orderType": "MarketIncrease",
            "sizeDeltaUsd": str(1_000 * 10**30), "acceptablePrice": str(3100 * 10**12), "executionFee": "1", "clientId": "g1"}
    created = sim.post("/gmx/orders", json=body).json()
    assert created["status"] == "Executed" and sim.get("/gmx/orders", params={"clientId": "g1"}).json()["key"] == created["key"]
    tight = sim.post("/gmx/orders", json={**body, "clientId": "g2", "acceptablePrice": str(2900 * 10**12)}).json()
    assert tight["status"] == "Cancelled" and tight["reason"] == "OrderNotFulfillableAtAcceptablePrice"
    sim.post("/admin/faults", json={"venue": "GMX", "mode": "down", "scope": "orders"})
    assert sim.get("/gmx/ping").status_code == 200  # market data still answers
    assert sim.post("/gmx/orders", json={**body, "clientId": "g3"}).status_code == 503
    sim.post("/admin/faults", json={"venue": "GMX", "mode": "timeout"})
    assert sim.get("/gmx/ping").status_code == 504
    sim.post("/admin/faults", json={"venue": "GMX", "mode": "reject"})
    assert sim.post("/gmx/orders", json={**body, "clientId": "g4"}).status_code == 422
    assert sim.post("/admin/faults", json={"venue": "GMX", "mode": "melt"}).status_code == 422


def test_admin_book_moves_prices_and_the_walk_is_seeded() -> None:
    a, b = Exchange(seed=3), Exchange(seed=3)
    for _ in range(10):
        a.step()
        b.step()
    assert a.prices == b.prices and a.prices["ETH"] != 3000
    sim = TestClient(create_app(a))
    moved = sim.post("/admin/book", json={"venue": "HYPERLIQUID", "instrument": "ETH", "mid": 2500, "spread_bps": 10}).json()
    assert moved["mid"] == 2500 and moved["spread_bps"] == 10
