"""The local PostgreSQL (`make up`, the tests' local infrastructure) asks every role for its generated
password and keeps its Unix socket in a directory only its own user may enter."""

from __future__ import annotations

import asyncio
import shutil
import stat
import subprocess

import asyncpg
import pytest

from vprime_local.infra import PG_SUPERUSER, LocalInfra
from vprime_shared.db import SERVICES
from tests.infra import TEST_HOME, Endpoints

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def local(infra: Endpoints) -> LocalInfra:
    if not infra.how.startswith("local"):
        pytest.skip(f"the infrastructure is {infra.how}, not the local stack's")
    from urllib.parse import urlsplit

    return LocalInfra(home=TEST_HOME, pg_port=urlsplit(infra.admin_url).port or 5432)


async def refused(port: int, user: str, password: str, database: str = "postgres") -> bool:
    try:
        conn = await asyncpg.connect(host="127.0.0.1", port=port, user=user, password=password, database=database, timeout=10)
    except asyncpg.InvalidPasswordError:
        return True
    await conn.close()
    return False


async def test_the_well_known_passwords_are_refused(local: LocalInfra) -> None:
    assert await refused(local.pg_port, "postgres", "postgres")
    assert await refused(local.pg_port, "postgres", "")
    for service in SERVICES:
        role = f"vprime_{service}"
        assert await refused(local.pg_port, role, role, "vprime"), role


async def test_the_generated_passwords_are_the_ones_that_work(local: LocalInfra, infra: Endpoints) -> None:
    for service in SERVICES:
        assert infra.database_url(service) == local.database_url(service)
        conn = await asyncpg.connect(infra.database_url(service))
        try:
            assert await conn.fetchval("SELECT current_user") == f"vprime_{service}"
        finally:
            await conn.close()
    for path in local.secrets_dir.glob("postgres-*.password"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(local.secrets_dir.stat().st_mode) == 0o700


async def test_no_rule_trusts_and_the_socket_directory_is_private(local: LocalInfra) -> None:
    conn = await asyncpg.connect(local.admin_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust'") == 0
        methods = {r["auth_method"] for r in await conn.fetch("SELECT auth_method FROM pg_hba_file_rules")}
        assert methods == {"scram-sha-256"}
        socket_dirs = await conn.fetchval("SHOW unix_socket_directories")
        listen = await conn.fetchval("SHOW listen_addresses")
    finally:
        await conn.close()
    assert socket_dirs == str(local.pg_socket_dir)
    assert listen == "127.0.0.1"
    assert stat.S_IMODE(local.pg_socket_dir.stat().st_mode) == 0o700
    assert (local.pg_socket_dir / f".s.PGSQL.{local.pg_port}").is_socket()


def test_a_cluster_made_with_trust_gets_passwords(local: LocalInfra) -> None:
    """A home from before the server had generated passwords (superuser postgres/postgres, `trust` on the
    socket) is carried over by the next start."""
    home = TEST_HOME / "legacy-pg"
    shutil.rmtree(home, ignore_errors=True)
    old = LocalInfra(home=home, pg_port=local.pg_port + 10, pg_shared_buffers="128MB", pg_min_wal_size="80MB",
                     pg_max_wal_size="1GB")
    bins, user = old._pg()
    data, sock = old._pg_dirs(user)
    pwfile = sock / "pw"
    pwfile.write_text("postgres\n")
    old._chown_to(pwfile, user)
    made = subprocess.run([str(bins / "initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}",
                           "--auth-local=trust", "--auth-host=scram-sha-256", "--no-instructions"],
                          capture_output=True, text=True, user=user)
    assert made.returncode == 0, made.stderr
    assert old._trusting(data)
    old.logs.mkdir(parents=True, exist_ok=True)

    async def trusted_rules() -> int:
        conn = await asyncpg.connect(old.admin_url)
        try:
            return await conn.fetchval("SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust'")
        finally:
            await conn.close()

    try:
        old.start_postgres()  # a start is not in an event loop: it runs its own
        assert not old._trusting(data)
        assert asyncio.run(refused(old.pg_port, PG_SUPERUSER, "postgres"))
        assert asyncio.run(trusted_rules()) == 0
        old.start_postgres()  # once carried over, a start changes nothing
        assert asyncio.run(trusted_rules()) == 0
    finally:
        old.stop_postgres()
        shutil.rmtree(home, ignore_errors=True)
