"""Each service's role reaches its own schema only; venue keys given at deploy are never stored outside the executor."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.conftest import Endpoints
from tests.e2e.helpers import create_agent

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


async def test_venue_keys_are_not_stored_or_published_by_control(http: httpx.AsyncClient, control_url: str, admin_db: asyncpg.Pool) -> None:
    secret = "ciphertext-that-must-stay-secret-7f3a"
    agent = await create_agent(http, control_url)
    r = await http.post(f"{control_url}/api/v3/agents/deploy", json={
        "agent_id": agent["id"], "user_wallet": "0x1", "hyperliquid_agent_address": "0xAgent",
        "hyperliquid_agent_key_encrypted": secret, "hyperliquid_agent_key_iv": "iv-" + secret, "hyperliquid_agent_key_tag": "tag-" + secret,
    })
    assert r.status_code == 201 and secret not in r.text
    for schema in ("control", "policy", "router", "query", "signal"):
        for table in await admin_db.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'", schema):
            hits = await admin_db.fetchval(
                f"SELECT count(*) FROM {schema}.{table['table_name']} t WHERE strpos(t::text, $1) > 0",
                secret,
            )
            assert hits == 0, f"{schema}.{table['table_name']} holds a venue key"
        # outbox payloads are bytes (hex in a row's text form): decode them to look inside
        payloads = await admin_db.fetch(f"SELECT convert_from(payload, 'UTF8') AS p FROM {schema}.outbox")
        assert not any(secret in row["p"] for row in payloads), f"{schema} published a venue key"
