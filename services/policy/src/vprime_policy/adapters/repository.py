"""Postgres persistence for policy (the `policy` schema): deployments, decisions and risk state."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta

import asyncpg

from vprime_shared.contracts import DeploymentPolicy, DeploymentState, Intent, IntentStatus, Position, Venue

from vprime_policy.domain.policy import DeploymentView
from vprime_policy.domain.risk import Close, RiskState


class PolicyRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save_deployment(self, d: DeploymentState) -> None:
        # Registry events are full states; an older one arriving late must not win.
        await self.conn.execute(
            """INSERT INTO deployments (deployment_id, agent_id, status, enabled_venues, updated_at, policy, resumed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (deployment_id) DO UPDATE
                 SET status = EXCLUDED.status, enabled_venues = EXCLUDED.enabled_venues, updated_at = EXCLUDED.updated_at,
                     policy = EXCLUDED.policy, resumed_at = EXCLUDED.resumed_at
                 WHERE deployments.updated_at <= EXCLUDED.updated_at""",
            d.deployment_id, d.agent_id, d.status.value, [v.value for v in d.enabled_venues], d.occurred_at,
            d.policy.model_dump(mode="json", exclude_defaults=True), d.resumed_at,
        )

    async def deployments_of(self, agent_id: uuid.UUID) -> list[DeploymentView]:
        rows = await self.conn.fetch(
            """SELECT deployment_id, agent_id, status, enabled_venues, policy, resumed_at FROM deployments
               WHERE agent_id = $1 ORDER BY deployment_id FOR UPDATE""",  # one decision at a time per deployment
            agent_id,
        )
        return [
            DeploymentView(r["deployment_id"], r["agent_id"], r["status"], [Venue(v) for v in r["enabled_venues"]],
                           DeploymentPolicy.model_validate(r["policy"]), r["resumed_at"])
            for r in rows
        ]

    async def record(self, intent: Intent) -> bool:
        status = await self.conn.execute(
            """INSERT INTO decisions (intent_id, signal_id, deployment_id, status, reasons, instrument, size_pct)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (intent_id) DO NOTHING""",
            intent.intent_id, intent.signal_id, intent.deployment_id, intent.status.value,
            [r.model_dump() for r in intent.reasons], intent.instrument, intent.size_pct,
        )
        return status.endswith("1")

    async def save_position(self, p: Position) -> None:
        await self.conn.execute(
            """INSERT INTO positions (position_id, intent_id, deployment_id, instrument, state, size_pct, equity_usd,
                   opened_at, closed_at, realized_pnl_usd, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
               ON CONFLICT (position_id) DO UPDATE SET state = EXCLUDED.state, closed_at = EXCLUDED.closed_at,
                 realized_pnl_usd = EXCLUDED.realized_pnl_usd, updated_at = EXCLUDED.updated_at
               WHERE positions.updated_at <= EXCLUDED.updated_at""",
            p.position_id, p.intent_id, p.deployment_id, p.instrument.upper(), p.state.value, p.size_pct, p.equity_usd,
            p.opened_at, p.closed_at, p.realized_pnl_usd, p.occurred_at,
        )

    async def risk_state(self, deployment: DeploymentView, now: datetime, pending_ttl: timedelta, default_equity: float) -> RiskState:
        open_rows = await self.conn.fetch(
            "SELECT instrument, size_pct FROM positions WHERE deployment_id = $1 AND state = 'OPEN'", deployment.deployment_id
        )
        pending = await self.conn.fetch(
            """SELECT d.instrument, d.size_pct, d.decided_at FROM decisions d
               WHERE d.deployment_id = $1 AND d.status = $2 AND d.decided_at > $3
                 AND NOT EXISTS (SELECT 1 FROM positions p WHERE p.intent_id = d.intent_id)""",
            deployment.deployment_id, IntentStatus.APPROVED.value, now - pending_ttl,
        )
        entries = await self.conn.fetch(
            """SELECT instrument, max(at) AS at FROM (
                 SELECT instrument, opened_at AS at FROM positions WHERE deployment_id = $1
                 UNION ALL SELECT instrument, decided_at FROM decisions WHERE deployment_id = $1 AND status = $2) e
               GROUP BY instrument""",
            deployment.deployment_id, IntentStatus.APPROVED.value,
        )
        since = deployment.resumed_at or datetime.min.replace(tzinfo=now.tzinfo)
        closes = await self.conn.fetch(
            """SELECT closed_at, realized_pnl_usd FROM positions
               WHERE deployment_id = $1 AND state = 'CLOSED' AND closed_at >= $2 ORDER BY closed_at""",
            deployment.deployment_id, since,
        )
        equity = await self.conn.fetchval(
            "SELECT equity_usd FROM positions WHERE deployment_id = $1 ORDER BY opened_at DESC LIMIT 1", deployment.deployment_id
        )
        return RiskState(
            open_positions=len(open_rows),
            pending_entries=len(pending),
            exposure_pct=sum(r["size_pct"] for r in open_rows) + sum(r["size_pct"] for r in pending),
            last_entry={r["instrument"]: r["at"] for r in entries},
            equity_usd=equity or default_equity,
            closes=[Close(r["closed_at"], r["realized_pnl_usd"] or 0.0) for r in closes],
        )


async def wait_until_known(pool: asyncpg.Pool, agent_id: uuid.UUID, grace_s: float) -> None:
    """Give registry events in flight a moment to arrive for an agent with no known deployment."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if await pool.fetchval("SELECT 1 FROM deployments WHERE agent_id = $1 LIMIT 1", agent_id):
            return
        await asyncio.sleep(0.05)
