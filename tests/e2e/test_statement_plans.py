"""Why the router and the executor plan every statement for its parameters (`PG_CUSTOM_PLANS`): a prepared statement
that joins a batch's keys against a table, run while the table is small, settles on a generic plan that keeps
scanning the whole table once it has grown; planned for its parameters, it looks each key up."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from vprime_executor.settings import ExecutorSettings
from vprime_policy.settings import PolicySettings
from vprime_router.settings import RouterSettings
from vprime_shared import db

pytestmark = pytest.mark.integration

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
            await conn.execute("DEALLOCATE ALL; RESET plan_cache_mode; DROP TABLE IF EXISTS public.plan_probe")
    assert "Seq Scan on plan_probe" in generic  # every row read, to update thirty
    assert "Seq Scan on plan_probe" not in custom and "plan_probe_pkey" in custom  # each key looked up


async def test_the_router_and_the_executor_plan_for_their_parameters(infra: object) -> None:
    assert RouterSettings().pg_custom_plans and ExecutorSettings().pg_custom_plans
    assert not PolicySettings().pg_custom_plans  # its risk read is planned well either way, and costs more to plan
    pool = await db.create_pool(infra.database_url("router"), custom_plans=True)  # type: ignore[attr-defined]
    try:
        assert await pool.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
    finally:
        await pool.close()
