"""Small clients for the public APIs, used by the end-to-end tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from eth_account import Account

from tests.conftest import eventually
from tests.infra import TEST_HOME, Endpoints
from vprime_shared import db
from vprime_shared.contracts import MarketTick
from vprime_shared.contracts.base import utcnow
from vprime_shared.batches import Received
from vprime_shared.unit_of_work import Inbox, Tx
from vprime_local.stack import simulator_admin_headers
from vprime_local.venue_accounts import connect_venue

# The wallet the suite's agents and deployments are made for (by the operator token), a valid address.
E2E_WALLET = "0x" + "e2e".rjust(40, "0")
TERMINAL = {"EXECUTED", "FAILED", "SKIPPED", "REJECTED"}
DEFAULT_GLOBAL_ROUTING = {"venue_priority": ["HYPERLIQUID", "OSTIUM", "GMX", "SPOT"], "routing_strategy": "FIRST_AVAILABLE",
                          "failover_enabled": True, "max_attempts": 3}


def one_statement(conn: asyncpg.Connection, consumer: str, batch: Sequence[Received[Any]]) -> AbstractAsyncContextManager[Tx]:
    """A batch's unit of work as a one-statement batch consumer runs it (`batch_subscriber(one_statement=True)`): no
    transaction of its own (in these tests, inside the test's), the batch's inbox rows written by its statement."""
    return Tx.on(conn, inbox=Inbox(consumer, [r.event for r in batch]), transaction=False)


def sim_admin() -> dict[str, str]:
    """The test stack's venue simulator admin header, for every call to its `/admin/*` routes."""
    return simulator_admin_headers(TEST_HOME)


async def reset_global_routing(http: httpx.AsyncClient, control: str, router: str) -> None:
    """Put the global routing config back to the defaults the tests assume, and wait for the router to apply it."""
    r = await http.put(f"{control}/api/v3/routing/config", json=DEFAULT_GLOBAL_ROUTING)
    assert r.status_code == 200, r.text

    async def applied() -> bool:
        return (await http.get(f"{router}/router/venues")).json()["global_config"] == DEFAULT_GLOBAL_ROUTING

    await eventually(applied, what="the router to apply the default global routing config")


async def create_agent(http: httpx.AsyncClient, control: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "creator_wallet": E2E_WALLET,
        "name": "e2e agent",
        "x_account_ids": ["1234567890"],
        "research_institute_ids": ["inst_xyz"],
        "weights": {"x": 0.6, "research": 0.4},
        "profit_receiver_address": E2E_WALLET,
        **overrides,
    }
    r = await http.post(f"{control}/api/v3/agents/create", json=body)
    assert r.status_code == 201, r.text
    return r.json()["agent"]


async def deploy(http: httpx.AsyncClient, control: str, agent_id: str, **body: Any) -> dict[str, Any]:
    r = await http.post(f"{control}/api/v3/agents/deploy", json={"agent_id": agent_id, "user_wallet": E2E_WALLET, **body})
    assert r.status_code == 201, r.text
    return r.json()["deployment"]


async def trading_deployment(http: httpx.AsyncClient, control: str, sim: str, venues: list[str], *, equity_usd: float = 10_000,
                             **agent: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """An agent deployed with an executor-generated agent wallet on each venue, connected and funded on the local
    venue as a user does it on the real one (`vprime_local.venue_accounts`): its orders trade there, not on paper."""
    a = await create_agent(http, control, **agent)
    # A wallet of its own: the account the agent trades for on Hyperliquid, Ostium and GMX, holding positions alone.
    user = Account.create()
    deployment = await deploy(http, control, a["id"], enabled_venues=venues, user_wallet=user.address)
    async with httpx.AsyncClient(base_url=sim, headers=sim_admin(), timeout=30) as simulator:
        for venue in venues:
            r = await http.post(f"{control}/api/v3/deployments/{deployment['id']}/agent-wallets/{venue}")
            assert r.status_code == 201, r.text
            deployment = r.json()["deployment"]
            await connect_venue(simulator, venue, user=user, agent=r.json()["address"], equity_usd=equity_usd)
    return a, deployment


async def hyperliquid_info(http: httpx.AsyncClient, sim: str, body: dict[str, Any]) -> Any:
    """An info request to the simulator's Hyperliquid, as the venue answers it."""
    r = await http.post(f"{sim}/hyperliquid/info", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def hyperliquid_positions(http: httpx.AsyncClient, sim: str, account: str) -> dict[str, float]:
    state = await hyperliquid_info(http, sim, {"type": "clearinghouseState", "user": account})
    return {p["position"]["coin"]: float(p["position"]["szi"]) for p in state["assetPositions"]}


async def signal(http: httpx.AsyncClient, control: str, agent_id: str, instrument: str, side: str = "LONG") -> dict[str, Any]:
    r = await http.post(f"{control}/api/v3/signals/generate", json={
        "agent_id": agent_id, "token_symbol": instrument, "side": side,
        "size_model": {"type": "percentage", "value": 25}, "risk_model": {"type": "trailing-stop", "stop": 0.03},
        "confidence": 0.85,
    })
    assert r.status_code == 201, r.text
    return r.json()["signal"]


def complete(t: dict[str, Any]) -> bool:
    """The read model projects each topic on its own: a position can be in before its decision.
    A timeline is complete when every fact behind its status is in."""
    status = t["signal"]["status"]
    if status not in TERMINAL:
        return False
    if status == "REJECTED":
        return bool(t["intents"])
    if status == "SKIPPED":
        return bool(t["routing_decisions"]) and bool(t["intents"])
    filled = {o["order_id"] for o in t["orders"] if o["status"] == "FILLED"}
    return (
        bool(t["intents"])
        and len(t["routing_decisions"]) >= len(t["orders"]) >= 1
        and all(o["status"] != "SENT" and o.get("venue_symbol") for o in t["orders"])
        and all(p["order_id"] in filled for p in t["positions"])
        and (status != "EXECUTED" or bool(t["positions"]))
    )


async def settled_timeline(http: httpx.AsyncClient, query: str, signal_id: str, timeout: float = 60) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        r = await http.get(f"{query}/api/v3/signals/{signal_id}/timeline")
        if r.status_code == 200 and complete(r.json()):
            return r.json()
        return None

    return await eventually(check, timeout=timeout, what=f"signal {signal_id} to settle")


class _Rollback(Exception):
    pass


@asynccontextmanager
async def rolled_back(db: asyncpg.Pool, schema: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a service's schema (migrated by the running service) in a transaction that is rolled
    back: what a test writes there is never seen by the service, nor relayed from its outbox."""
    async with db.acquire() as conn:
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL search_path = {schema}")
                yield conn
                raise _Rollback
        except _Rollback:
            pass


def rolled_back_schema(schema: str, *, json_codec: bool = False) -> Any:
    """A `conn` fixture for a test module: `schema` in a transaction that is rolled back (see `rolled_back`); with
    `json_codec`, JSON decoded as the service's own connections do."""

    @pytest_asyncio.fixture
    async def conn(admin_db: asyncpg.Pool, stack: object) -> AsyncIterator[asyncpg.Connection]:
        async with rolled_back(admin_db, schema) as c:
            if json_codec:
                await db.use_json_codecs(c)
            try:
                yield c
            finally:
                if json_codec:  # the connection goes back to the tests' shared pool
                    for typ in ("json", "jsonb"):
                        await c.reset_type_codec(typ, schema="pg_catalog")

    return conn


@asynccontextmanager
async def scratch_database(infra: Endpoints, service: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a database of its own holding only `service`'s schema, migrated: what a test commits there no
    running service reads or relays. Dropped afterwards."""
    name = f"vprime_scratch_{uuid.uuid4().hex[:8]}"
    await db.provision(infra.admin_url, name, (service,))
    pool = await db.create_pool(infra.database_url(service).rsplit("/", 1)[0] + f"/{name}")
    try:
        await db.migrate(pool, f"vprime_{service}")
        yield pool
    finally:
        await pool.close()
        admin = await asyncpg.connect(infra.admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def set_price(http: httpx.AsyncClient, sim: str, venue: str, instrument: str, mid: float) -> None:
    """The simulator's mid for `instrument` on `venue`: its books, its oracle and keepers' prices."""
    r = await http.post(f"{sim}/admin/book", json={"venue": venue, "instrument": instrument, "mid": mid}, headers=sim_admin())
    assert r.status_code == 200, r.text


async def tick(producer: AIOKafkaProducer, venue: str, instrument: str, mid: float) -> None:
    t = MarketTick(venue=venue, instrument=instrument, bid=mid * 0.9999, ask=mid * 1.0001, mid=mid, ts=utcnow())
    await producer.send_and_wait(MarketTick.TOPIC, t.model_dump_json().encode(), key=instrument.encode())


async def long_signal(http: httpx.AsyncClient, control: str, agent_id: str, instrument: str, *, size_pct: float = 10,
                      leverage: float = 3, stop: float | None = None) -> dict[str, Any]:
    """A LONG signal: `size_pct` of the account's equity as margin at `leverage`; `stop`: a stop-loss that far below
    the entry, else no risk model."""
    risk = {"type": "stop-loss", "stop": stop} if stop else {"type": "none"}
    r = await http.post(f"{control}/api/v3/signals/generate", json={
        "agent_id": agent_id, "token_symbol": instrument, "side": "LONG", "confidence": 0.9,
        "size_model": {"type": "percentage", "value": size_pct}, "risk_model": {**risk, "leverage": leverage}})
    assert r.status_code == 201, r.text
    return r.json()["signal"]


async def sent_by(admin_db: asyncpg.Pool, client_id: str) -> list[asyncpg.Record]:
    """The executor's journal of the transactions sent for a client id."""
    return await admin_db.fetch("SELECT tx_hash, signer, nonce FROM executor.venue_transactions WHERE client_id = $1 "
                                "ORDER BY sent_at", client_id)


async def set_keeper_mode(http: httpx.AsyncClient, sim: str, venue: str, mode: str, delay_s: float | None = None) -> None:
    """An on-chain venue's keeper in a fault mode (`POST /admin/chain/keepers`): ok, delay, never or gap."""
    r = await http.post(f"{sim}/admin/chain/keepers", json={"venue": venue, "mode": mode, "delay_s": delay_s},
                        headers=sim_admin())
    assert r.status_code == 200, r.text


@asynccontextmanager
async def keeper_mode(http: httpx.AsyncClient, sim: str, venue: str, mode: str) -> AsyncIterator[None]:
    """The keeper in `mode` for the block's duration, `ok` again after it."""
    await set_keeper_mode(http, sim, venue, mode)
    try:
        yield
    finally:
        await set_keeper_mode(http, sim, venue, "ok", 0)
