"""The light statistics targets every service's migration leaves on its columns (`db.LIGHT_STATISTICS_SQL`): a
light sample for the columns queries filter on, none for payloads, and a migration's own choice kept."""

from __future__ import annotations

import asyncpg
import pytest

from tests.e2e.helpers import scratch_database
from tests.infra import Endpoints
from vprime_shared import db

pytestmark = pytest.mark.integration


async def targets(conn: asyncpg.Connection, table: str) -> dict[str, int | None]:
    rows = await conn.fetch("SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = $1::regclass "
                            "AND attnum > 0 AND NOT attisdropped", table)
    return {r["attname"]: r["attstattarget"] for r in rows}


async def test_every_column_gets_a_light_target_and_payloads_none(infra: Endpoints) -> None:
    async with scratch_database(infra, "router") as pool, pool.acquire() as conn:
        outbox = await targets(conn, "outbox")
        assert outbox["payload"] == outbox["headers"] == 0  # bytea and jsonb
        assert outbox["event_id"] == outbox["topic"] == outbox["created_at"] == db.STATISTICS_TARGET
        defaults = await conn.fetchval(
            "SELECT count(*) FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid "
            "WHERE r.relnamespace = current_schema()::regnamespace AND r.relkind = 'r' AND a.attnum > 0 "
            "AND NOT a.attisdropped AND coalesce(a.attstattarget, -1) < 0")
        assert defaults == 0, "every column of every table of the schema has its target"

        await conn.execute("INSERT INTO outbox (event_id, topic, key, payload) "
                           "SELECT gen_random_uuid(), 'intents.v1', 'k' || n, convert_to(repeat('x', 200), 'UTF8') "
                           "FROM generate_series(1, 500) AS n; ANALYZE outbox")
        analyzed = {r["attname"]: r for r in await conn.fetch(
            "SELECT attname, histogram_bounds::text::text[] AS bounds FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = 'outbox'")}
        assert "payload" not in analyzed and "headers" not in analyzed  # nothing sampled for them
        assert len(analyzed["key"]["bounds"]) == db.STATISTICS_TARGET + 1  # ten buckets, not a hundred


async def test_a_migrations_own_target_is_kept_and_a_new_column_gets_the_light_one(infra: Endpoints) -> None:
    async with scratch_database(infra, "router") as pool:
        async with pool.acquire() as conn:
            await conn.execute("ALTER TABLE outbox ALTER COLUMN key SET STATISTICS 250; "
                               "ALTER TABLE outbox ADD COLUMN note text")  # as a later migration might
            assert (await targets(conn, "outbox"))["note"] in (None, -1)
        assert await db.migrate(pool, "vprime_router") == []  # nothing left to apply, the targets run anyway
        async with pool.acquire() as conn:
            after = await targets(conn, "outbox")
        assert after["key"] == 250
        assert after["note"] == db.STATISTICS_TARGET
