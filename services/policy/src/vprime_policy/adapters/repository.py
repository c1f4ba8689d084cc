"""Postgres persistence for policy (the `policy` schema)."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg

from vprime_shared.contracts import DeploymentState, Intent

from vprime_policy.domain.policy import DeploymentView


class PolicyRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save_deployment(self, d: DeploymentState) -> None:
        # Registry events are full states; an older one arriving late must not win.
        await self.conn.execute(
            """INSERT INTO deployments (deployment_id, agent_id, status, enabled_venues, updated_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (deployment_id) DO UPDATE
                 SET status = EXCLUDED.status, enabled_venues = EXCLUDED.enabled_venues, updated_at = EXCLUDED.updated_at
                 WHERE deployments.updated_at <= EXCLUDED.updated_at""",
            d.deployment_id, d.agent_id, d.status.value, [v.value for v in d.enabled_venues], d.occurred_at,
        )

    async def deployments_of(self, agent_id: uuid.UUID) -> list[DeploymentView]:
        rows = await self.conn.fetch(
            "SELECT deployment_id, agent_id, status, enabled_venues FROM deployments WHERE agent_id = $1 ORDER BY deployment_id",
            agent_id,
        )
        return [DeploymentView(r["deployment_id"], r["agent_id"], r["status"], list(r["enabled_venues"])) for r in rows]

    async def record(self, intent: Intent) -> bool:
        status = await self.conn.execute(
            """INSERT INTO decisions (intent_id, signal_id, deployment_id, status, reasons)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (intent_id) DO NOTHING""",
            intent.intent_id, intent.signal_id, intent.deployment_id, intent.status.value,
            [r.model_dump() for r in intent.reasons],
        )
        return status.endswith("1")


async def wait_until_known(pool: asyncpg.Pool, agent_id: uuid.UUID, grace_s: float) -> None:
    """Give registry events in flight a moment to arrive for an agent with no known deployment."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if await pool.fetchval("SELECT 1 FROM deployments WHERE agent_id = $1 LIMIT 1", agent_id):
            return
        await asyncio.sleep(0.05)
