from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from vprime_simulator.app import create_app
from vprime_simulator.exchange import Exchange


@pytest.fixture
def sim() -> TestClient:
    return TestClient(create_app(Exchange(seed=1), timeout_s=0.01))


def order(cid: str, symbol: str = "ETH", side: str = "BUY", notional: float = 1_000) -> dict:
    return {"client_order_id": cid, "symbol": symbol, "side": side, "notional_usd": notional}


def test_hyperliquid_shapes(sim: TestClient) -> None:
    meta, ctxs = sim.post("/hyperliquid/info", json={"type": "metaAndAssetCtxs"}).json()
    assert len(meta["universe"]) == len(ctxs) and {"name", "szDecimals", "maxLeverage"} <= meta["universe"][0].keys()
    assert {"funding", "openInterest", "markPx", "midPx", "impactPxs"} <= ctxs[0].keys()
    book = sim.post("/hyperliquid/info", json={"type": "l2Book", "coin": "kPEPE"}).json()
    bids, asks = book["levels"]
    assert float(bids[0]["px"]) < float(asks[0]["px"]) and float(asks[0]["px"]) < 0.01  # 1,000 PEPE per contract
    assert sim.post("/hyperliquid/info", json={"type": "userFills"}).status_code == 422


def test_orders_are_idempotent_by_client_order_id(sim: TestClient) -> None:
    first = sim.post("/sim/HYPERLIQUID/orders", json=order("0xabc")).json()
    again = sim.post("/sim/HYPERLIQUID/orders", json=order("0xabc", notional=99_999)).json()
    assert first == again and first["status"] == "filled" and first["avg_px"] > 3000
    assert sim.get("/sim/HYPERLIQUID/orders/0xabc").json()["venue_order_id"] == first["venue_order_id"]
    assert sim.get("/sim/HYPERLIQUID/orders/0xnope").status_code == 404


def test_refusals_carry_a_code(sim: TestClient) -> None:
    sim.post("/admin/market", json={"venue": "OSTIUM", "instrument": "GOLD", "open": False})
    closed = sim.post("/sim/OSTIUM/orders", json=order("1", symbol="XAU-USD"))
    assert closed.status_code == 422 and closed.json()["code"] == "MARKET_CLOSED"
    assert sim.post("/sim/HYPERLIQUID/orders", json=order("2", notional=5)).json()["code"] == "MIN_NOTIONAL"
    assert sim.post("/sim/HYPERLIQUID/orders", json=order("3", symbol="MATIC")).json()["code"] == "DELISTED"
    assert sim.post("/sim/SPOT/orders", json=order("4", symbol="WETH", side="SELL")).json()["code"] == "NO_SHORT"
    sim.post("/admin/book", json={"venue": "GMX", "instrument": "ETH", "depth_usd": 1_000})
    assert sim.post("/sim/GMX/orders", json=order("5", symbol="ETH/USD", notional=100_000)).json()["code"] == "LIQUIDITY"


def test_faults_by_mode_and_scope(sim: TestClient) -> None:
    sim.post("/admin/faults", json={"venue": "GMX", "mode": "down", "scope": "orders"})
    assert sim.get("/gmx/ping").status_code == 200  # market data still answers
    assert sim.post("/sim/GMX/orders", json=order("6", symbol="ETH/USD")).status_code == 503
    sim.post("/admin/faults", json={"venue": "GMX", "mode": "down"})
    assert sim.get("/gmx/ping").status_code == 503
    sim.post("/admin/faults", json={"venue": "GMX", "mode": "timeout"})
    assert sim.get("/gmx/ping").status_code == 504
    sim.post("/admin/faults", json={"venue": "GMX", "mode": "reject"})
    rejected = sim.post("/sim/GMX/orders", json=order("7", symbol="ETH/USD"))
    assert rejected.status_code == 422 and rejected.json()["code"] == "REJECTED"
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
