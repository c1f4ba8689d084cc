"""What the bench reports PostgreSQL did during a stream beside the statements it was sent: checkpoints, autovacuum
runs, and the WAL written per intent with its full-page images, read from the server's statistics views; and why it
vacuums the warm-up's tables before its checkpoint."""

from __future__ import annotations

import asyncpg
import pytest

from vprime_local.bench import MAINTENANCE, WAL_FILES, maintenance, make_spare_wal_segments

pytestmark = pytest.mark.integration


async def reported(conn: asyncpg.Connection) -> dict[str, float]:
    """What the bench reads, once this connection's own statistics are in: a backend reports its WAL at most once a
    second, and `pg_stat_force_next_flush` makes its next statement report it."""
    await conn.execute("SELECT pg_stat_force_next_flush()")
    await conn.execute("SELECT 1")
    return dict(await conn.fetchrow(MAINTENANCE))


def test_counts_are_differences_and_the_wal_is_per_completed_intent() -> None:
    before = {"checkpoints": 3, "autovacuums": 10, "autoanalyzes": 4, "autovacuum_ms": 2_000.0, "wal_bytes": 1_000_000.0,
              "wal_fpi": 100, "wal_segments_created": 5}
    after = {"checkpoints": 4, "autovacuums": 12, "autoanalyzes": 4, "autovacuum_ms": 3_250.0,
             "wal_bytes": 1_000_000.0 + 600 * 18 * 1024, "wal_fpi": 400, "wal_segments_created": 7}
    seen = maintenance(before, after, intents=600)
    assert seen == {"checkpoints": 1, "autovacuums": 2, "autoanalyzes": 0, "autovacuum_s": 1.25, "wal_segments_created": 2,
                    "wal_kb_per_intent": 18.0, "full_page_images_per_intent": 0.5}
    assert maintenance(before, before, intents=0)["wal_kb_per_intent"] == 0.0  # an empty stream divides by one, not zero


async def test_a_checkpoint_and_the_full_page_images_after_it_are_seen(admin_db: asyncpg.Pool) -> None:
    async with admin_db.acquire() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS public.bench_probe (n int)")
        try:
            await conn.execute("INSERT INTO public.bench_probe SELECT g FROM generate_series(1, 2000) g")
            before = dict(await conn.fetchrow(MAINTENANCE))
            await conn.execute("CHECKPOINT")
            await conn.execute("UPDATE public.bench_probe SET n = n + 1")  # the first change to each page since the checkpoint
            after = await reported(conn)
        finally:
            await conn.execute("DROP TABLE public.bench_probe")
    seen = maintenance(before, after, intents=1)
    assert seen["checkpoints"] >= 1
    assert seen["full_page_images_per_intent"] >= 1  # bench_probe's pages, written whole once more
    assert seen["wal_kb_per_intent"] > 8
    assert after["wal_segments_created"] >= before["wal_segments_created"] >= 0  # read from pg_stat_io on a real server


async def test_autovacuums_time_is_read_where_the_server_keeps_it(admin_db: asyncpg.Pool) -> None:
    """`autovacuum_s` reads columns PostgreSQL 18 added to `pg_stat_all_tables`, by name from each row's JSON, so that
    an older server reads 0 instead of failing: the names must be the server's."""
    async with admin_db.acquire() as conn:
        version = int(await conn.fetchval("SHOW server_version_num"))
        keys = set(await conn.fetchval("SELECT array_agg(k) FROM (SELECT jsonb_object_keys(to_jsonb(a)) AS k "
                                       "FROM (SELECT * FROM pg_stat_all_tables LIMIT 1) a) x"))
        row = dict(await conn.fetchrow(MAINTENANCE))
    assert row["autovacuum_ms"] >= 0
    names = ("total_autovacuum_time", "total_autoanalyze_time")
    assert all(f"'{name}'" in MAINTENANCE for name in names)
    if version >= 180000:
        assert set(names) <= keys
    else:
        assert row["autovacuum_ms"] == 0


async def _fpi_of(conn: asyncpg.Connection, statement: str) -> int:
    before = await reported(conn)
    await conn.execute(statement)
    return (await reported(conn))["wal_fpi"] - before["wal_fpi"]


async def test_why_the_bench_vacuums_before_its_checkpoint(admin_db: asyncpg.Pool) -> None:
    """A table filled before a checkpoint and first vacuumed after it has each of its pages written whole to the WAL
    (with data checksums, PostgreSQL 18's default, marking a page all-visible is logged like a change); vacuumed before
    the checkpoint, the vacuum after it has nothing left to mark. Without checksums (nor `wal_log_hints`) neither
    writes whole pages."""
    async with admin_db.acquire() as conn:
        logged_like_changes = "on" in (await conn.fetchval("SHOW data_checksums"), await conn.fetchval("SHOW wal_log_hints"))
        await conn.execute("DROP TABLE IF EXISTS public.bench_vacuum_probe; "
                           "CREATE TABLE public.bench_vacuum_probe (n int, pad text) WITH (autovacuum_enabled = false)")
        try:
            fill = "INSERT INTO public.bench_vacuum_probe SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g"
            await conn.execute(fill)
            pages = await conn.fetchval("SELECT pg_relation_size('public.bench_vacuum_probe') / current_setting('block_size')::int")
            await conn.execute("CHECKPOINT")
            late = await _fpi_of(conn, "VACUUM public.bench_vacuum_probe")

            await conn.execute("TRUNCATE public.bench_vacuum_probe")
            await conn.execute(fill)
            await conn.execute("VACUUM public.bench_vacuum_probe")
            await conn.execute("CHECKPOINT")
            ahead = await _fpi_of(conn, "VACUUM public.bench_vacuum_probe")
        finally:
            await conn.execute("DROP TABLE IF EXISTS public.bench_vacuum_probe")
    assert pages > 200
    assert ahead < 0.1 * pages, (ahead, pages)
    if logged_like_changes:
        assert late >= 0.9 * pages, (late, pages)
    else:
        assert late < 0.1 * pages, (late, pages)


async def test_spare_wal_segments_are_reused_not_created(admin_db: asyncpg.Pool) -> None:
    """The bench gives the server spare WAL segment files after its warm-up, and its streams' WAL moves into them:
    no new file, so no commit waits while one is filled with zeros."""
    async with admin_db.acquire() as conn:
        start = await conn.fetchrow(WAL_FILES)
        segment, had = start["segment_bytes"], start["spare"]
        made = await make_spare_wal_segments(conn, keep_bytes=(had + 8) * segment)  # eight more than the server had
        ready = await conn.fetchrow(WAL_FILES)
        await conn.execute("SELECT pg_logical_emit_message(false, 'vprime.test', repeat('x', 1048576)) "
                           "FROM generate_series(1, $1)", 4 * segment // 1048576)  # four segments' worth of WAL
        await conn.execute("SELECT pg_switch_wal()")
        after = await conn.fetchrow(WAL_FILES)
    # `min_wal_size` (2 GB on local stacks) keeps them through the checkpoint
    assert ready["spare"] >= had + 8, (had, made, ready["spare"])
    assert after["files"] <= ready["files"]  # the WAL moved through four of them, renamed, not created
