"""How each service plans its statements (`PG_PLAN_CACHE_MODE`, `PG_KEY_LOOKUPS`). A prepared statement that joins a
batch's keys against a table, run while the table is small, settles on a generic plan that keeps scanning the whole
table once it has grown; planned for its parameters, or once with the planner kept to index lookups (the router, the
executor), it looks each key up. And why policy may plan its statements once as they are: its batch read, planned on
empty tables, still reads them by index once they have grown."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from tests.e2e.helpers import one_statement, scratch_database
from tests.e2e.test_executor_resolutions import VENUES, an_order, paper_only, sending
from tests.e2e.test_router_batches import an_intent, traced
from tests.infra import Endpoints
from vprime_executor.adapters.venues import VenueFill
from vprime_executor.handlers import claim_orders, resolve_all
from vprime_executor.settings import ExecutorSettings
from vprime_executor.venues import PAPER
from vprime_policy.adapters.repository import PolicyRepository
from vprime_policy.settings import PolicySettings
from vprime_router.adapters.repository import RouterRepository
from vprime_router.domain.catalog import fixture_catalogs
from vprime_router.handlers import intents_received
from vprime_router.settings import RouterSettings
from vprime_router.state import RouterState
from vprime_shared import db
from vprime_shared.batches import Received
from vprime_shared.contracts.base import utcnow
from vprime_shared.unit_of_work import Tx

pytestmark = pytest.mark.integration

TTL = timedelta(minutes=2)
RESOLVE = ("PREPARE resolve(uuid[]) AS UPDATE public.plan_probe SET done = true FROM unnest($1) AS k(id) "
           "WHERE plan_probe.id = k.id AND NOT done")


async def plan(conn: asyncpg.Connection, keys: list[uuid.UUID]) -> str:
    return "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE resolve('{{{','.join(map(str, keys))}}}')"))


async def test_a_generic_plan_made_on_a_small_table_scans_it_whole_once_it_has_grown(admin_db: asyncpg.Pool) -> None:
    async with admin_db.acquire() as conn:
        # No autovacuum: its analyze would invalidate the plan, which is what a busy table waits minutes for.
        await conn.execute("DROP TABLE IF EXISTS public.plan_probe; "
                           "CREATE TABLE public.plan_probe (id uuid PRIMARY KEY, done bool NOT NULL DEFAULT false) "
                           "WITH (autovacuum_enabled = false)")
        try:
            await conn.execute("INSERT INTO public.plan_probe (id) SELECT gen_random_uuid() FROM generate_series(1, 20); ANALYZE public.plan_probe")
            await conn.execute(RESOLVE)
            for _ in range(6):  # past the five custom plans Postgres makes before it weighs a generic one
                await conn.execute(f"EXECUTE resolve('{{{uuid.uuid4()}}}')")
            await conn.execute("INSERT INTO public.plan_probe (id) SELECT gen_random_uuid() FROM generate_series(1, 50000)")
            keys = [r["id"] for r in await conn.fetch("SELECT id FROM public.plan_probe LIMIT 30")]

            generic = await plan(conn, keys)
            await conn.execute("SET plan_cache_mode = force_custom_plan")
            custom = await plan(conn, keys)
        finally:
            await conn.execute("DEALLOCATE resolve; RESET plan_cache_mode; DROP TABLE IF EXISTS public.plan_probe")
    assert "Seq Scan on plan_probe" in generic  # every row read, to update thirty
    assert "Seq Scan on plan_probe" not in custom and "plan_probe_pkey" in custom  # each key looked up


async def test_a_generic_plan_made_on_a_small_table_with_key_lookups_still_looks_keys_up_once_it_has_grown(admin_db: asyncpg.Pool) -> None:
    async with admin_db.acquire() as conn:
        await conn.execute("DROP TABLE IF EXISTS public.plan_probe; "
                           "CREATE TABLE public.plan_probe (id uuid PRIMARY KEY, done bool NOT NULL DEFAULT false) "
                           "WITH (autovacuum_enabled = false)")
        try:
            for name, value in db.planner_settings("force_generic_plan", key_lookups=True).items():
                await conn.execute(f"SET {name} = {value}")
            await conn.execute("INSERT INTO public.plan_probe (id) SELECT gen_random_uuid() FROM generate_series(1, 20); ANALYZE public.plan_probe")
            await conn.execute(RESOLVE)
            await conn.execute(f"EXECUTE resolve('{{{uuid.uuid4()}}}')")  # planned now, on twenty rows, and kept
            await conn.execute("INSERT INTO public.plan_probe (id) SELECT gen_random_uuid() FROM generate_series(1, 50000)")
            keys = [r["id"] for r in await conn.fetch("SELECT id FROM public.plan_probe LIMIT 30")]
            kept = await plan(conn, keys)
            planned = await conn.fetchrow("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'resolve'")
        finally:
            await conn.execute("DEALLOCATE resolve; RESET ALL; DROP TABLE IF EXISTS public.plan_probe")
    assert (planned["generic_plans"], planned["custom_plans"]) == (2, 0)  # one plan, made on the small table, used twice
    assert "Seq Scan on plan_probe" not in kept and "Hash" not in kept and "plan_probe_pkey" in kept  # each key looked up


async def test_each_service_plans_as_its_statements_need(infra: object) -> None:
    for settings in (RouterSettings(), ExecutorSettings()):
        assert (settings.pg_plan_cache_mode, settings.pg_key_lookups) == ("force_generic_plan", True)
    assert (PolicySettings().pg_plan_cache_mode, PolicySettings().pg_key_lookups) == ("force_generic_plan", False)
    pool = await db.create_pool(infra.database_url("router"), plan_cache_mode="force_generic_plan", key_lookups=True)  # type: ignore[attr-defined]
    try:
        shown = await pool.fetchrow("SELECT current_setting('plan_cache_mode') AS mode, current_setting('enable_seqscan') AS seqscan, "
                                    "current_setting('enable_hashjoin') AS hashjoin, current_setting('enable_mergejoin') AS mergejoin")
        assert tuple(shown) == ("force_generic_plan", "off", "off", "off")
    finally:
        await pool.close()
    pool = await db.create_pool(infra.database_url("query"))  # type: ignore[attr-defined]
    try:
        assert await pool.fetchval("SHOW enable_seqscan") == "on"  # the read models' queries plan as PostgreSQL likes
    finally:
        await pool.close()


async def test_policys_batch_read_planned_on_empty_tables_reads_them_by_index_once_they_have_grown(infra: Endpoints) -> None:
    async with scratch_database(infra, "policy") as pool, pool.acquire() as conn:
        await db.use_json_codecs(conn)
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        agent, now = uuid.uuid4(), utcnow()
        repo = PolicyRepository(conn)
        await repo.batch_state([agent], now, TTL, 10_000.0)  # planned now, on empty tables, and kept
        name = await conn.fetchval("SELECT name FROM pg_prepared_statements WHERE statement LIKE '%WITH deps AS%'")
        await conn.execute(
            """INSERT INTO deployments (deployment_id, agent_id, status, enabled_venues, updated_at, policy)
               SELECT gen_random_uuid(), CASE WHEN n = 1 THEN $1 ELSE gen_random_uuid() END, 'ACTIVE', '{HYPERLIQUID}', now(),
                      '{"cooldown_minutes": 5, "daily_loss_limit_pct": 5}'
               FROM generate_series(1, 300) AS n""", agent)
        await conn.execute(
            """INSERT INTO decisions (intent_id, signal_id, deployment_id, status, reasons, instrument, size_pct)
               SELECT gen_random_uuid(), gen_random_uuid(), deployment_id, 'APPROVED', '[]', 'BTC', 1
               FROM deployments, generate_series(1, 100)""")
        await conn.execute(
            """INSERT INTO positions (position_id, intent_id, deployment_id, instrument, state, size_pct, equity_usd, opened_at,
                   closed_at, updated_at)
               SELECT gen_random_uuid(), gen_random_uuid(), deployment_id, 'BTC', 'CLOSED', 1, 10000, now(), now(), now()
               FROM deployments, generate_series(1, 100)""")
        literal = f"'{{{agent}}}', '{now - TTL}', '-infinity', '{now}', '-infinity', '{{}}', 'policy'"
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE {name}({literal})"))
        assert await conn.fetchval("SELECT generic_plans FROM pg_prepared_statements WHERE name = $1", name) >= 2
    # 30,000 rows in each that grows with trading: a deployment's are looked up. (The running totals, a row per
    # deployment, change with every batch, so autoanalyze reads them often, and each analyze has the plan made again.)
    for table in ("deployments", "pending_entries", "positions", "decisions"):
        assert f"Seq Scan on {table}" not in plan, plan


# The tables of each service that grow with every signal, which no statement on a signal's way may read whole.
GROWING = {"router": ("intents", "routing_history", "inbox", "outbox", "outbox_pending"),
           "executor": ("orders", "positions", "inbox", "outbox", "outbox_pending")}


async def cached_plans(conn: asyncpg.Connection) -> dict[str, str]:
    """The plan each statement prepared on `conn` holds now, by the statement's text (a generic plan: its parameters'
    values do not matter)."""
    plans = {}
    for row in await conn.fetch("SELECT name, statement, cardinality(parameter_types) AS n FROM pg_prepared_statements "
                                "WHERE custom_plans = 0 AND generic_plans > 0"):
        args = f"({', '.join(['NULL'] * row['n'])})" if row["n"] else ""
        plans[row["statement"]] = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE {row['name']}{args}"))
    return plans


@contextlib.asynccontextmanager
async def planned_as_the_service_plans(infra: Endpoints, service: str, settings: object) -> AsyncIterator[asyncpg.Connection]:
    async with scratch_database(infra, service) as pool, pool.acquire() as conn:
        await db.use_json_codecs(conn)
        for name, value in db.planner_settings(settings.pg_plan_cache_mode, key_lookups=settings.pg_key_lookups).items():  # type: ignore[attr-defined]
            await conn.execute(f"SET {name} = {value}")
        yield conn


def assert_keys_looked_up(plans: dict[str, str], service: str, expected: int) -> None:
    on_the_way = {text: plan for text, plan in plans.items() if any(table in text for table in GROWING[service])}
    assert len(on_the_way) >= expected, list(plans)
    for text, plan in on_the_way.items():
        for table in GROWING[service]:
            assert f"Seq Scan on {table} " not in plan + " ", f"{text}\n{plan}"
        assert "Hash Join" not in plan and "Merge Join" not in plan, f"{text}\n{plan}"


async def test_the_executors_statements_planned_once_on_small_tables_look_their_rows_up(infra: Endpoints) -> None:
    async with planned_as_the_service_plans(infra, "executor", ExecutorSettings()) as conn:
        await conn.execute("INSERT INTO prices (venue, instrument, mid, ts) VALUES ('*', 'ETH', 3000, now())")
        for _ in range(5):
            await sending(conn)
        await conn.execute("ANALYZE")  # small tables, as a service that has just started sees them
        batch = [Received(an_order(instrument="ETH"), {}) for _ in range(3)]
        async with one_statement(conn, "executor", batch) as tx:
            claimed = await claim_orders(tx, batch, paper_only(), uuid.uuid4())
        fill = VenueFill(price=3000.0, qty=0.5, notional_usd=1500.0, fee_usd=0.68, venue_order_id="v-1")
        async with Tx.on(conn, transaction=False) as tx:
            resolved = await resolve_all(tx, [(c.order, fill, PAPER, {}) for c in claimed], VENUES)  # type: ignore[arg-type]
        assert [r.status.value for r in resolved if r] == ["FILLED"] * 3
        assert_keys_looked_up(await cached_plans(conn), "executor", expected=2)  # the claim and the resolution at least


async def test_the_routers_statements_planned_once_on_small_tables_look_their_rows_up(infra: Endpoints) -> None:
    async with planned_as_the_service_plans(infra, "router", RouterSettings()) as conn:
        state = RouterState(RouterSettings())
        state.catalogs = fixture_catalogs(utcnow())
        first = [traced(an_intent()) for _ in range(3)]
        async with one_statement(conn, "router", first) as tx:
            await intents_received(tx, first, state, utcnow())
        await conn.execute("ANALYZE")
        batch = [traced(an_intent("ETH")) for _ in range(3)]
        async with one_statement(conn, "router", batch) as tx:
            decisions = await intents_received(tx, batch, state, utcnow())
        assert len(decisions) == 3
        async with Tx.on(conn) as tx:
            for received in batch:
                RouterRepository.settle(tx, received.event.intent_id, 1)
        plans = await cached_plans(conn)  # before this test's own statements
        assert await conn.fetchval("SELECT count(*) FROM intents WHERE settled") == 3
        assert_keys_looked_up(plans, "router", expected=2)  # the routing and the settle at least
