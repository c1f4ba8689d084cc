"""How each service plans its statements (`PG_PLAN_CACHE_MODE`, `PG_PLAN_LIFETIME_S`). A prepared statement that joins
a batch's keys against a table, planned once while the table is small, keeps scanning the whole table once it has
grown; prepared again after its lifetime (the router, the executor), it is planned for the table as it is then and
looks each key up. And why policy may plan its statements once and keep them: its batch read, planned on empty
tables, still reads them by index once they have grown."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from tests.e2e.helpers import scratch_database
from tests.infra import Endpoints
from vprime_executor.settings import ExecutorSettings
from vprime_policy.adapters.repository import PolicyRepository
from vprime_policy.settings import PolicySettings
from vprime_router.settings import RouterSettings
from vprime_shared import db
from vprime_shared.contracts.base import utcnow

pytestmark = pytest.mark.integration

TTL = timedelta(minutes=2)
RESOLVE = ("PREPARE resolve(uuid[]) AS UPDATE public.plan_probe SET done = true FROM unnest($1) AS k(id) "
           "WHERE plan_probe.id = k.id AND NOT done")


async def plan(conn: asyncpg.Connection, keys: list[uuid.UUID]) -> str:
    return "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE resolve('{{{','.join(map(str, keys))}}}')"))


@contextlib.asynccontextmanager
async def probe_table(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """`public.plan_probe`, 20 rows analyzed, for as long as the block runs. No autovacuum: its analyze would
    invalidate a plan, which is what a busy table waits minutes for."""
    await conn.execute("DROP TABLE IF EXISTS public.plan_probe; "
                       "CREATE TABLE public.plan_probe (id uuid PRIMARY KEY, done bool NOT NULL DEFAULT false) "
                       "WITH (autovacuum_enabled = false)")
    try:
        await conn.execute("INSERT INTO public.plan_probe (id) SELECT gen_random_uuid() FROM generate_series(1, 20); "
                           "ANALYZE public.plan_probe")
        yield
    finally:
        await conn.execute("DROP TABLE IF EXISTS public.plan_probe")


async def grow_probe_table(conn: asyncpg.Connection) -> list[uuid.UUID]:
    """50,000 rows more, not analyzed; thirty of the table's keys."""
    await conn.execute("INSERT INTO public.plan_probe (id) SELECT gen_random_uuid() FROM generate_series(1, 50000)")
    return [r["id"] for r in await conn.fetch("SELECT id FROM public.plan_probe LIMIT 30")]


async def test_a_generic_plan_made_on_a_small_table_scans_it_whole_once_it_has_grown(admin_db: asyncpg.Pool) -> None:
    async with admin_db.acquire() as conn:
        try:
            async with probe_table(conn):
                await conn.execute(RESOLVE)
                for _ in range(6):  # past the five custom plans Postgres makes before it weighs a generic one
                    await conn.execute(f"EXECUTE resolve('{{{uuid.uuid4()}}}')")
                keys = await grow_probe_table(conn)

                generic = await plan(conn, keys)
                await conn.execute("SET plan_cache_mode = force_custom_plan")
                custom = await plan(conn, keys)
        finally:
            await conn.execute("DEALLOCATE ALL; RESET plan_cache_mode")
    assert "Seq Scan on plan_probe" in generic  # every row read, to update thirty
    assert "Seq Scan on plan_probe" not in custom and "plan_probe_pkey" in custom  # each key looked up


PROBE = "SELECT count(*) FROM public.plan_probe p JOIN unnest($1::uuid[]) AS k(id) ON p.id = k.id"


async def probe_plan(conn: asyncpg.Connection) -> str:
    """The plan `PROBE`'s statement, as this connection prepared it last, holds now (its generic plan)."""
    name = await conn.fetchval("SELECT name FROM pg_prepared_statements WHERE statement = $1 ORDER BY prepare_time DESC LIMIT 1", PROBE)
    return "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE {name}('{{{uuid.uuid4()}}}')"))


async def test_a_plan_made_on_a_small_table_is_made_again_for_the_grown_table_once_its_statement_has_lived(infra: Endpoints) -> None:
    # A lifetime long enough that growing the table on a loaded machine does not outlive it (1 s once did, under CI).
    pool = await db.create_pool(infra.admin_database_url, plan_cache_mode="force_generic_plan", plan_lifetime_s=5.0)
    try:
        async with pool.acquire() as conn, probe_table(conn):
            assert await conn.fetchval(PROBE, [uuid.uuid4()]) == 0  # prepared and planned now, on twenty rows
            keys = await grow_probe_table(conn)
            assert await conn.fetchval(PROBE, keys) == 30
            kept = await probe_plan(conn)  # no analyze since: only a new plan sees the table's new size
            await asyncio.sleep(5.5)
            assert await conn.fetchval(PROBE, keys) == 30  # prepared again: its lifetime is over
            made_again = await probe_plan(conn)
    finally:
        await pool.close()
    assert "Seq Scan on plan_probe" in kept  # every row read, to find thirty
    assert "Seq Scan on plan_probe" not in made_again and "plan_probe_pkey" in made_again  # each key looked up


async def test_each_service_plans_as_its_statements_need(infra: Endpoints) -> None:
    for settings in (RouterSettings(), ExecutorSettings()):
        assert (settings.pg_plan_cache_mode, settings.pg_plan_lifetime_s) == ("force_generic_plan", 10.0)
    assert (PolicySettings().pg_plan_cache_mode, PolicySettings().pg_plan_lifetime_s) == ("force_generic_plan", 300.0)
    pool = await db.create_pool(infra.database_url("router"), plan_cache_mode="force_generic_plan", plan_lifetime_s=10.0)
    try:
        assert await pool.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
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
