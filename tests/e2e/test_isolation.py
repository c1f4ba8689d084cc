"""Each service's role reaches its own schema only; venue keys given at deploy are never stored outside the executor."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import Endpoints

pytestmark = pytest.mark.integration

SERVICES = ("control", "signal", "policy", "router", "executor", "query")


@pytest.mark.parametrize("service", SERVICES)
async def test_role_cannot_read_other_schemas(infra: Endpoints, service: str, stack) -> None:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(infra.database_url(service))
    try:
        assert await conn.fetchval("SELECT count(*) FROM outbox") >= 0  # its own schema, unqualified
        for other in SERVICES:
            if other == service:
                continue
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT * FROM {other}.outbox LIMIT 1")
    finally:
        await conn.close()
