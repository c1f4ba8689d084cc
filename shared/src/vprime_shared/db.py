"""Postgres: the per-service pool, schema provisioning and the migration runner.

Each service owns one schema, reached through its own role; the role's search_path
points at that schema, so service SQL never names a schema and cannot reach another's.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
from collections.abc import Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable

import asyncpg
import orjson

from vprime_shared.settings import PlanCacheMode

log = logging.getLogger(__name__)

SERVICES = ("control", "signal", "policy", "router", "executor", "query")


def scram_sha_256(password: str, *, iterations: int = 4096, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (as `\\password` in psql makes it), so the password
    itself never reaches the server's statements or logs. ASCII only: SASLprep leaves ASCII as it is."""
    if not password.isascii():
        raise ValueError("role passwords here are ASCII")
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key, server_key = hashlib.sha256(client_key).digest(), hmac.digest(salted, b"Server Key", "sha256")
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def provisioning_sql(service: str, password: str | None = None) -> list[str]:
    """Statements (run by a superuser) that create the service's role and schema, idempotently.

    With `password`, the role's password is that one afterwards, whether the role was there or not. Without, a new
    role gets its own name as password (compose, testcontainers) and an existing role keeps the one it has."""
    role = f"vprime_{service}"
    statements = [
        f"""DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} LOGIN PASSWORD '{scram_sha_256(password or role)}';
              END IF;
            END $$""",
        f"CREATE SCHEMA IF NOT EXISTS {service} AUTHORIZATION {role}",
        f"ALTER ROLE {role} SET search_path = {service}",
        f"REVOKE ALL ON SCHEMA {service} FROM PUBLIC",
    ]
    if password:
        statements.insert(1, f"ALTER ROLE {role} PASSWORD '{scram_sha_256(password)}'")
    return statements


async def provision(admin_url: str, database: str = "vprime", services: tuple[str, ...] = SERVICES,
                    passwords: Mapping[str, str] | None = None) -> None:
    """Create the database, then one role and schema per service (safe to repeat). `passwords` (by service) sets
    those services' role passwords; the others are left as `provisioning_sql` says."""
    admin = await asyncpg.connect(admin_url)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    db = await asyncpg.connect(admin_url, database=database)
    try:
        await db.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        for service in services:
            for statement in provisioning_sql(service, (passwords or {}).get(service)):
                await db.execute(statement)
    finally:
        await db.close()


async def use_json_codecs(conn: asyncpg.Connection) -> None:
    """JSON in and out as Python values (orjson: UUIDs, datetimes and enums included), as every service connection has it."""
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(
            typ, schema="pg_catalog", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What a connection goes through on its way back to the pool, besides asyncpg's own clean-up (an open
    transaction rolled back, listeners dropped). Services keep no session settings on pooled connections, so
    the default reset (RESET ALL, UNLISTEN *, CLOSE ALL, unlock all: a round trip per release) is skipped;
    the outbox relay releases its advisory lock itself."""


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10, attempts: int = 30,
                      plan_cache_mode: PlanCacheMode = "auto", plan_lifetime_s: float = 300.0) -> asyncpg.Pool:
    """A pool for the service's own role; waits (bounded) for Postgres to accept connections.

    `plan_cache_mode` is PostgreSQL's, for every connection of the pool. `force_custom_plan` plans every statement for
    its parameters. `force_generic_plan` plans each statement once, when it is prepared, with the tables' sizes of
    that moment; `plan_lifetime_s` says how long a prepared statement is kept (asyncpg's statement cache) before it
    is prepared again, and so planned again for the tables' sizes of then.

    Policy, the router and the executor plan their statements once (`force_generic_plan`): theirs cost more to plan
    than to run (policy's batch read took 0.85 ms to plan and 0.3 to run; the router and the executor spent 40–80 µs
    of PostgreSQL's CPU per intent each on planning at 200 signals/s), and `auto` planned policy's every time, since
    its generic plan is costed for more deployments than a batch has. The router's and the executor's statements
    join a batch's keys against tables that grow by thousands of rows a minute, and a plan made while a table was
    small reads it whole: the executor's resolution joined every order by hash (15,000 rows read to resolve 24: 36 ms
    instead of 0.2), and the router's settle likewise, while their plans lived. So theirs live 10 s, and the plan
    made next is made for the tables as they have grown: on a grown table it looks each key up. (A batch of hundreds,
    as under a backlog, runs somewhat slower on a plan made for any batch than on one made for it: see step 31 of
    docs/performance.md.) Policy's generic plans read its growing tables by index whatever their sizes when planned
    (`tests/e2e/test_statement_plans.py`)."""
    settings = {"plan_cache_mode": plan_cache_mode} if plan_cache_mode != "auto" else None
    for attempt in range(1, attempts + 1):
        try:
            return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=use_json_codecs,
                                             reset=_keep_session, server_settings=settings,
                                             max_cached_statement_lifetime=plan_lifetime_s)
        except (OSError, asyncpg.CannotConnectNowError, asyncpg.PostgresConnectionError) as exc:
            if attempt == attempts:
                raise
            log.warning("postgres not reachable yet (%s); retrying", exc)
            await asyncio.sleep(min(0.2 * attempt, 2.0))
    raise AssertionError("unreachable")


def migration_files(package: str) -> list[Traversable]:
    """`NNN_name.sql` files in `<package>/migrations`, in order."""
    folder = files(package) / "migrations"
    return sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


# Tables every service has: the outbox it publishes from and the inbox it deduplicates with.
#
# The outbox itself is append-only: what is still to be published is the narrow `outbox_pending`, one id per
# event, deleted once Kafka acknowledged it. Marking a row of the outbox published instead rewrote the whole
# row, payload included, into the WAL and left it for vacuum. An outbox of the earlier shape (a `published_at`
# column) is carried over once. A row Kafka refused for good leaves the pending list for `outbox_dead_letters`
# (`outbox.OutboxRelay`), which says why; its event stays in the outbox, under the same id.
PLUMBING_SQL = """
CREATE TABLE IF NOT EXISTS outbox (
    id            BIGSERIAL PRIMARY KEY,
    event_id      UUID NOT NULL UNIQUE,
    topic         TEXT NOT NULL,
    key           TEXT NOT NULL,
    payload       BYTEA NOT NULL,
    headers       JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS outbox_pending (
    id            BIGINT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS outbox_dead_letters (
    id            BIGINT PRIMARY KEY,
    topic         TEXT NOT NULL,
    key           TEXT NOT NULL,
    reason        TEXT NOT NULL,
    failed_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
DO $$ BEGIN
    IF EXISTS (SELECT FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'outbox' AND column_name = 'published_at') THEN
        INSERT INTO outbox_pending (id) SELECT id FROM outbox WHERE published_at IS NULL ON CONFLICT DO NOTHING;
        ALTER TABLE outbox DROP COLUMN published_at;
    END IF;
END $$;
CREATE TABLE IF NOT EXISTS inbox (
    event_id      UUID NOT NULL,
    consumer      TEXT NOT NULL,
    topic         TEXT NOT NULL,
    processed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, consumer)
);
"""

# How much the planner's statistics sample per column, which every ANALYZE pays, autovacuum's too: a table is analyzed
# again each time a tenth of it has changed, so a busy service's tables are analyzed every few seconds while they are
# young. Vprime's tables are logs and state read by key or by a few columns, and a payload is never filtered on. So
# every column a migration leaves at the default gets a light target: 10 (a sample of 3,000 rows instead of 30,000,
# ten histogram buckets and ten common values), 0 for bytea and JSON (none). A migration that sets a column's target
# itself keeps it. Older servers mark the default as -1, newer ones as NULL.
STATISTICS_TARGET = 10
LIGHT_STATISTICS_SQL = f"""
DO $$ DECLARE c record; BEGIN
    FOR c IN SELECT a.attrelid::regclass AS tbl, a.attname AS col,
                    CASE WHEN a.atttypid IN ('bytea'::regtype, 'json'::regtype, 'jsonb'::regtype) THEN 0
                         ELSE {STATISTICS_TARGET} END AS target
             FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid
             WHERE r.relnamespace = current_schema()::regnamespace AND r.relkind IN ('r', 'p')
               AND a.attnum > 0 AND NOT a.attisdropped AND coalesce(a.attstattarget, -1) < 0
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s', c.tbl, c.col, c.target);
    END LOOP;
END $$;
"""


class MigrationChanged(RuntimeError):
    """An applied migration's file changed or is gone: the schema no longer matches what the files describe, so the
    service must not start on it. The message names the file, the recorded and the current checksum and the remedy."""


def checksum(file: Traversable) -> str:
    """The sha256 of the migration file's bytes, hex: what `schema_migrations.checksum` records when it is applied."""
    return hashlib.sha256(file.read_bytes()).hexdigest()


def _changed(package: str, schema: str, name: str, recorded: str, current: str | None) -> str:
    now = f"its file now has checksum {current}" if current else f"{package}/migrations has no such file any more"
    return (
        f"migration {name} was applied to schema {schema} with checksum {recorded}, but {now}. An applied migration "
        f"never changes: restore {name} as it was applied (git history) and put the change in a new migration "
        f"after the last one."
    )


async def migrate(pool: asyncpg.Pool, package: str) -> list[str]:
    """Apply the plumbing tables and the package's pending migrations, then light statistics targets to every column
    left at the default (`LIGHT_STATISTICS_SQL`); returns the migrations applied.

    Each applied migration's checksum (`checksum`) is recorded in `schema_migrations`. Before anything is applied,
    every applied migration is checked against its file: one whose file changed or is gone raises `MigrationChanged`
    and nothing is applied. A row applied before checksums were recorded gets its file's checksum of now (trusted on
    first use, and logged). An advisory lock makes concurrent instances of one service apply each file once.
    """
    applied: list[str] = []
    async with pool.acquire() as conn:
        schema = await conn.fetchval("SELECT current_schema()")
        if schema is None:
            raise RuntimeError("the service role has no schema on its search_path; run provisioning first")
        lock_key = int.from_bytes(hashlib.sha256(f"migrate:{schema}".encode()).digest()[:8], "big", signed=True)
        await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());"
                "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum TEXT"
            )
            files_by_name = {f.name: f for f in migration_files(package)}
            current = {name: checksum(f) for name, f in files_by_name.items()}
            recorded = {r["name"]: r["checksum"] for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")}
            trusted: list[str] = []
            for name, was in sorted(recorded.items()):
                now = current.get(name)
                if now is None:
                    raise MigrationChanged(_changed(package, schema, name, was or "(none recorded)", None))
                if was is None:
                    await conn.execute("UPDATE schema_migrations SET checksum = $2 WHERE name = $1", name, now)
                    trusted.append(name)
                elif was != now:
                    raise MigrationChanged(_changed(package, schema, name, was, now))
            if trusted:
                log.warning("schema %s: %d migrations were applied before checksums were recorded (%s); their files "
                            "as they are now were recorded, trusted on first use, and are checked from now on",
                            schema, len(trusted), ", ".join(trusted))
            await conn.execute(PLUMBING_SQL)
            for name, file in files_by_name.items():
                if name in recorded:
                    continue
                async with conn.transaction():
                    await conn.execute(file.read_text())
                    await conn.execute("INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                                       name, current[name])
                applied.append(name)
                log.info("applied migration %s to schema %s", name, schema)
            await conn.execute(LIGHT_STATISTICS_SQL)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
    return applied
