"""Postgres persistence for the control plane (the `control` schema)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from vprime_shared.contracts import AgentState, DeploymentPolicy, DeploymentState, RoutingConfig, RoutingConfigBody, Signal


class ControlRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save_agent(self, agent: AgentState) -> None:
        await self.conn.execute(
            """INSERT INTO agents (agent_id, creator_wallet, name, venue, status, x_account_ids,
                   research_institute_ids, weights, profit_receiver_address, created_at, signal_threshold)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
               ON CONFLICT (agent_id) DO UPDATE SET status = EXCLUDED.status, name = EXCLUDED.name""",
            agent.agent_id, agent.creator_wallet, agent.name, agent.venue.value, agent.status.value,
            agent.x_account_ids, agent.research_institute_ids, agent.weights, agent.profit_receiver_address,
            agent.created_at, agent.signal_threshold,
        )

    async def agent(self, agent_id: uuid.UUID, *, for_update: bool = False) -> AgentState | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM agents WHERE agent_id = $1" + (" FOR UPDATE" if for_update else ""), agent_id
        )
        return _agent(row) if row else None

    async def agents(self, *, creator_wallet: str | None, status: str | None, limit: int, offset: int) -> tuple[list[AgentState], int]:
        where = "WHERE ($1::text IS NULL OR lower(creator_wallet) = lower($1)) AND ($2::text IS NULL OR status = $2)"
        rows = await self.conn.fetch(
            f"SELECT * FROM agents {where} ORDER BY created_at DESC, agent_id LIMIT $3 OFFSET $4",
            creator_wallet, status, limit, offset,
        )
        total = await self.conn.fetchval(f"SELECT count(*) FROM agents {where}", creator_wallet, status)
        return [_agent(r) for r in rows], total

    async def enabled_venues_by_agent(self, agent_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        rows = await self.conn.fetch(
            """SELECT agent_id, array_agg(DISTINCT v) AS venues
               FROM deployments, unnest(enabled_venues) AS v
               WHERE agent_id = ANY($1::uuid[]) AND status = 'ACTIVE' GROUP BY agent_id""",
            agent_ids,
        )
        return {r["agent_id"]: sorted(r["venues"]) for r in rows}

    async def save_deployment(self, deployment: DeploymentState) -> None:
        await self.conn.execute(
            """INSERT INTO deployments (deployment_id, agent_id, user_wallet, status, enabled_venues, venue_accounts, created_at,
                   policy, resumed_at)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
               ON CONFLICT (deployment_id) DO UPDATE SET status = EXCLUDED.status, enabled_venues = EXCLUDED.enabled_venues,
                 venue_accounts = EXCLUDED.venue_accounts, policy = EXCLUDED.policy, resumed_at = EXCLUDED.resumed_at""",
            deployment.deployment_id, deployment.agent_id, deployment.user_wallet, deployment.status.value,
            [v.value for v in deployment.enabled_venues], {k.value: v for k, v in deployment.venue_accounts.items()},
            deployment.created_at, deployment.policy.model_dump(mode="json", exclude_defaults=True), deployment.resumed_at,
        )

    async def deployment(self, deployment_id: uuid.UUID, *, for_update: bool = False) -> DeploymentState | None:
        row = await self.conn.fetchrow(
            "SELECT * FROM deployments WHERE deployment_id = $1" + (" FOR UPDATE" if for_update else ""), deployment_id
        )
        if row is None:
            return None
        return DeploymentState(
            deployment_id=row["deployment_id"], agent_id=row["agent_id"], user_wallet=row["user_wallet"], status=row["status"],
            enabled_venues=list(row["enabled_venues"]), venue_accounts=row["venue_accounts"],
            policy=DeploymentPolicy.model_validate(row["policy"]), resumed_at=row["resumed_at"], created_at=row["created_at"],
        )

    async def routing_config(self, agent_id: uuid.UUID | None) -> RoutingConfigBody | None:
        payload = await self.conn.fetchval("SELECT payload FROM routing_config WHERE scope = $1", str(agent_id or "global"))
        return RoutingConfigBody.model_validate(payload) if payload else None

    async def save_routing_config(self, config: RoutingConfig) -> None:
        await self.conn.execute(
            """INSERT INTO routing_config (scope, payload, updated_at) VALUES ($1, $2, now())
               ON CONFLICT (scope) DO UPDATE SET payload = EXCLUDED.payload, updated_at = now()""",
            str(config.agent_id or "global"), config.body().model_dump(mode="json"),
        )

    async def save_signal(self, signal: Signal) -> bool:
        """Record a signal of a known agent; False if its agent does not exist. A later drive of a known
        signal updates its drive."""
        return signal.signal_id in await self.save_signals([signal])

    async def save_signals(self, signals: list[Signal]) -> set[uuid.UUID]:
        """`save_signal` for many, in one statement (one signal id at most once); returns the ids recorded
        (those of unknown agents are not)."""
        rows = await self.conn.fetch(
            """INSERT INTO signals (signal_id, agent_id, payload, drive)
               SELECT s, a, p::jsonb, d FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[]) AS u(s, a, p, d)
               WHERE EXISTS (SELECT 1 FROM agents WHERE agent_id = u.a)
               ON CONFLICT (signal_id) DO UPDATE SET drive = GREATEST(signals.drive, EXCLUDED.drive)
               RETURNING signal_id""",
            [s.signal_id for s in signals], [s.agent_id for s in signals], [s.model_dump_json() for s in signals],
            [s.drive for s in signals],
        )
        return {r["signal_id"] for r in rows}

    async def signal(self, signal_id: uuid.UUID, *, for_update: bool = False) -> Signal | None:
        row = await self.conn.fetchrow(
            "SELECT payload, drive FROM signals WHERE signal_id = $1" + (" FOR UPDATE" if for_update else ""), signal_id
        )
        if row is None:
            return None
        return Signal.model_validate({**row["payload"], "drive": row["drive"]})


def _agent(row: asyncpg.Record | dict[str, Any]) -> AgentState:
    return AgentState(
        agent_id=row["agent_id"],
        creator_wallet=row["creator_wallet"],
        name=row["name"],
        venue=row["venue"],
        status=row["status"],
        x_account_ids=list(row["x_account_ids"]),
        research_institute_ids=list(row["research_institute_ids"]),
        weights=row["weights"],
        profit_receiver_address=row["profit_receiver_address"],
        signal_threshold=row["signal_threshold"],
        created_at=row["created_at"],
    )
