from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from vprime_simulator.app import create_app
from vprime_simulator.exchange import Exchange


ADMIN_TOKEN = "sim-admin-test-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def sim() -> TestClient:
    """A client carrying the admin token (the venue-facing routes ignore it)."""
    return TestClient(create_app(Exchange(seed=1), admin_token=ADMIN_TOKEN, timeout_s=0.01), headers=ADMIN)


def test_accounts_of_the_on_chain_venues_are_the_chains() -> None:
    sim = TestClient(create_app(Exchange(seed=2), admin_token=ADMIN_TOKEN), headers=ADMIN)
    for path, body in (("/admin/accounts", {"venue": "OSTIUM", "address": "0x" + "ab" * 20, "equity_usd": 100}),
                       ("/admin/holdings", {"venue": "GMX", "address": "0x" + "ab" * 20, "symbol": "ETH/USD", "size": 1,
                                            "entry_px": 3000})):
        r = sim.post(path, json=body)
        assert r.status_code == 422 and "/admin/chain/faucet" in r.json()["detail"]


def test_gmx_is_its_oracle_api_and_faults(sim: TestClient) -> None:
    """GMX trades on the local chain: the simulator serves its Oracle API only (markets need the chain)."""
    assert sim.post("/gmx/orders", json={}).status_code in (404, 405)
    assert sim.get("/gmx/markets/info").status_code == 503  # this simulator runs without a chain
    sim.post("/admin/faults", json={"venue": "GMX", "mode": "timeout"})
    assert sim.get("/gmx/ping").status_code == 504
    assert sim.post("/admin/faults", json={"venue": "GMX", "mode": "melt"}).status_code == 422


def test_admin_book_moves_prices_and_the_walk_is_seeded() -> None:
    a, b = Exchange(seed=3), Exchange(seed=3)
    for _ in range(10):
        a.step()
        b.step()
    assert a.prices == b.prices and a.prices["ETH"] != 3000
    sim = TestClient(create_app(a, admin_token=ADMIN_TOKEN), headers=ADMIN)
    moved = sim.post("/admin/book", json={"venue": "HYPERLIQUID", "instrument": "ETH", "mid": 2500, "spread_bps": 10}).json()
    assert moved["mid"] == 2500 and moved["spread_bps"] == 10


ADMIN_CALLS = [
    ("POST", "/admin/book", {"venue": "HYPERLIQUID", "instrument": "ETH", "mid": 1}),
    ("POST", "/admin/market", {"venue": "HYPERLIQUID", "instrument": "ETH", "open": False}),
    ("POST", "/admin/faults", {"venue": "HYPERLIQUID", "mode": "down"}),
    ("POST", "/admin/accounts", {"venue": "HYPERLIQUID", "address": "0x" + "11" * 20, "equity_usd": 1e9}),
    ("POST", "/admin/holdings", {"venue": "HYPERLIQUID", "address": "0x" + "11" * 20, "symbol": "ETH", "size": -5,
                                 "entry_px": 1}),
    ("GET", "/admin/orders", None),
    ("GET", "/admin/state", None),
    ("GET", "/admin/hyperliquid/info-users", None),
    ("GET", "/admin/chain", None),
    ("POST", "/admin/chain/faucet", {"address": "0x" + "ab" * 20, "usdc": "5"}),
    ("POST", "/admin/chain/keepers", {"venue": "GMX", "mode": "never"}),
]


def test_every_admin_route_is_in_the_checked_list() -> None:
    routes = {(m, r.path) for r in create_app(Exchange(seed=1)).routes if r.path.startswith("/admin")
              for m in getattr(r, "methods", ())}
    assert routes == {(m, p) for m, p, _ in ADMIN_CALLS}


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {ADMIN_TOKEN}", ADMIN_TOKEN, "Bearer ",
                                           f"Bearer {ADMIN_TOKEN}x", "Bearer \u00e9t\u00e9".encode("latin-1")])
def test_admin_routes_refuse_anonymous_and_wrong_tokens(method: str, path: str, body: dict | None,
                                                         authorization: str | bytes | None) -> None:
    exchange = Exchange(seed=1)
    before = exchange.snapshot()
    client = TestClient(create_app(exchange, admin_token=ADMIN_TOKEN))
    headers = {} if authorization is None else {"Authorization": authorization}
    r = client.request(method, path, json=body, headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert exchange.snapshot() == before and not exchange.hyperliquid.accounts


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_admin_routes_are_off_without_a_configured_token(method: str, path: str, body: dict | None) -> None:
    exchange = Exchange(seed=1)
    client = TestClient(create_app(exchange))  # no token configured
    for headers in ({}, {"Authorization": "Bearer "}, ADMIN):
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == 503
        assert r.json() == {"error": "admin API disabled: SIMULATOR_ADMIN_TOKEN is not set"}


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_admin_routes_accept_the_configured_token(method: str, path: str, body: dict | None) -> None:
    client = TestClient(create_app(Exchange(seed=1), admin_token=ADMIN_TOKEN))
    expected = 503 if path.startswith("/admin/chain") else 200  # past the token check; this app runs without a chain
    assert client.request(method, path, json=body, headers={"Authorization": f"bearer {ADMIN_TOKEN}"}).status_code == expected


def test_an_anonymous_book_change_changes_no_price() -> None:
    exchange = Exchange(seed=1)
    client = TestClient(create_app(exchange, admin_token=ADMIN_TOKEN))
    eth = exchange.market("HYPERLIQUID", "ETH")
    mid = exchange.mid(eth)
    assert client.post("/admin/book", json={"venue": "HYPERLIQUID", "instrument": "ETH", "mid": 1}).status_code == 401
    assert eth.mid_override is None and exchange.mid(eth) == mid
    assert client.post("/admin/book", json={"venue": "HYPERLIQUID", "instrument": "ETH", "mid": 1},
                       headers=ADMIN).json()["mid"] == 1


def test_venue_routes_need_no_token() -> None:
    client = TestClient(create_app(Exchange(seed=1)))  # admin API off; the venues still answer anyone
    assert client.post("/hyperliquid/info", json={"type": "meta"}).status_code == 200
    assert client.get("/gmx/ping").status_code == 200
    assert client.post("/ostium/subgraph", json={"query": "{ pairs { id } }"}).status_code == 200
    assert client.get("/health").status_code == 200


def test_the_simulator_binds_to_loopback_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    import vprime_simulator.__main__ as entry

    seen: dict = {}
    monkeypatch.setattr(entry.uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    monkeypatch.setattr(entry.logs, "configure", lambda *a, **kw: None)  # leave the test run's logging alone
    monkeypatch.delenv("SIMULATOR_HOST", raising=False)
    monkeypatch.setenv("SIMULATOR_FEED_INSTRUMENTS", "")
    monkeypatch.setenv("SIMULATOR_ADMIN_TOKEN", ADMIN_TOKEN)
    entry.main()
    assert seen["host"] == "127.0.0.1"
    assert TestClient(seen["app"]).get("/admin/state", headers=ADMIN).status_code == 200  # the token reaches the app
    monkeypatch.setenv("SIMULATOR_HOST", "0.0.0.0")  # noqa: S104 (in a container, behind the compose port mapping)
    entry.main()
    assert seen["host"] == "0.0.0.0"  # noqa: S104
