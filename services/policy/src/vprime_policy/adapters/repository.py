"""Postgres persistence for policy (the `policy` schema): deployments, decisions and risk state."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg
import orjson

from vprime_shared import outbox
from vprime_shared.contracts import DeploymentPolicy, DeploymentState, Intent, Position, Venue

from vprime_policy.domain.policy import DeploymentView
from vprime_policy.domain.risk import Close, RiskState

if TYPE_CHECKING:
    from vprime_shared.unit_of_work import Tx


BEGINNING = datetime.min.replace(tzinfo=UTC)  # where a read with nothing to go on starts: a first prune, closes never reset


class PrunedEntries:
    """Per deployment, the TTL cutoff of its last committed prune of pending entries: every entry decided at or
    before it is gone, so the next prune reads only those decided after it. Until vacuum, the table and its index
    hold every entry ever settled (a position's arrival deletes its entry a moment after it was added), and a
    prune from the beginning read more of them with every batch. A process that has not pruned a deployment yet
    reads from the beginning once. Entries are decided at their transaction's time, far after any cutoff (a TTL
    ago), so none can appear below one later.
    """

    def __init__(self) -> None:
        self._until: dict[uuid.UUID, datetime] = {}

    def until(self, deployment_id: uuid.UUID) -> datetime:
        return self._until.get(deployment_id, BEGINNING)

    def since(self, deployment_ids: Iterable[uuid.UUID]) -> datetime:
        """Where a prune of these deployments starts reading: the earliest of their cutoffs. One bound for all of
        them, a parameter the planner can weigh against its statistics: with a bound per deployment (a join) it
        scanned the whole table, every entry settled since the last vacuum, to filter them afterwards."""
        return min((self.until(d) for d in deployment_ids), default=BEGINNING)

    def advance(self, deployment_ids: Iterable[uuid.UUID], cutoff: datetime) -> None:
        """After the prune up to `cutoff` committed (a prune rolled back deleted nothing)."""
        for d in deployment_ids:
            if cutoff > self.until(d):
                self._until[d] = cutoff


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
        return (await self.deployments_of_agents([agent_id])).get(agent_id, [])

    async def deployments_of_agents(self, agent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[DeploymentView]]:
        """Every deployment of these agents, locked (one decision at a time per deployment; locked in deployment
        order, so that two transactions locking overlapping sets cannot deadlock)."""
        rows = await self.conn.fetch(
            """SELECT deployment_id, agent_id, status, enabled_venues, policy, resumed_at FROM deployments
               WHERE agent_id = ANY($1::uuid[]) ORDER BY deployment_id FOR UPDATE""",
            list(set(agent_ids)),
        )
        found: dict[uuid.UUID, list[DeploymentView]] = {}
        for r in rows:
            found.setdefault(r["agent_id"], []).append(
                DeploymentView(r["deployment_id"], r["agent_id"], r["status"], [Venue(v) for v in r["enabled_venues"]],
                               DeploymentPolicy.model_validate(r["policy"]), r["resumed_at"]))
        return found

    async def recorded(self, intent_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these decisions are recorded already (a re-run of a drive, a redelivered signal)."""
        rows = await self.conn.fetch("SELECT intent_id FROM decisions WHERE intent_id = ANY($1::uuid[])", list(intent_ids))
        return {r["intent_id"] for r in rows}

    async def record(self, tx: Tx, intents: list[Intent]) -> set[uuid.UUID]:
        """Record the decisions, and write the events published about them (`tx.outgoing`, each about its intent id)
        for those that are new, in one statement; returns the ids that are new (a re-run of a drive adds nothing)."""
        outgoing = tx.outgoing()
        row = await self.conn.fetchrow(
            f"""WITH recorded AS (
                   INSERT INTO decisions (intent_id, signal_id, deployment_id, status, reasons, instrument, size_pct)
                   SELECT i, s, d, st, r::jsonb, ins, sz
                   FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::float8[])
                     AS u(i, s, d, st, r, ins, sz)
                   ON CONFLICT (intent_id) DO NOTHING RETURNING intent_id),
                {outbox.ctes(8, only="about IN (SELECT intent_id::text FROM recorded)")}
                SELECT (SELECT array_agg(intent_id) FROM recorded) AS recorded, {outbox.result(notify=tx.notify)}""",
            [i.intent_id for i in intents], [i.signal_id for i in intents], [i.deployment_id for i in intents],
            [i.status.value for i in intents], [orjson.dumps([r.model_dump() for r in i.reasons]).decode() for i in intents],
            [i.instrument for i in intents], [i.size_pct for i in intents], *outgoing.params(),
        )
        tx.wrote(outgoing, row)
        return set(row["recorded"] or ())

    @staticmethod
    def save_position(tx: Tx, p: Position) -> None:
        # Deferred: a batch of positions goes in one statement at commit (nothing reads it before).
        tx.insert("positions", dict(position_id=p.position_id, intent_id=p.intent_id, deployment_id=p.deployment_id,
                                    instrument=p.instrument.upper(), state=p.state, size_pct=p.size_pct, equity_usd=p.equity_usd,
                                    opened_at=p.opened_at, closed_at=p.closed_at, realized_pnl_usd=p.realized_pnl_usd,
                                    updated_at=p.occurred_at),
                  on_conflict="""ON CONFLICT (position_id) DO UPDATE SET state = EXCLUDED.state, closed_at = EXCLUDED.closed_at,
                                   realized_pnl_usd = EXCLUDED.realized_pnl_usd, updated_at = EXCLUDED.updated_at
                                 WHERE positions.updated_at <= EXCLUDED.updated_at""",
                  key=p.position_id)

    async def risk_states(self, deployments: list[DeploymentView], now: datetime, pending_ttl: timedelta,
                          default_equity: float, pruned: PrunedEntries | None = None) -> dict[uuid.UUID, RiskState]:
        """Every deployment's risk state in one statement: open positions and pending entries from their running
        totals (migrations 004 and 005). Pending entries past the TTL are pruned here and counted out; the
        statement reads the totals as they were before it, hence the subtraction of what it pruned. Closes are
        read only for deployments with a loss or drawdown limit, entries only for those with a cooldown (and only
        within it): the `IS NOT NULL` tests are checked once per deployment, before any scan (without them the
        planner read every position of a deployment only to compare it with NULL). With `pruned`, the prune reads
        only the entries decided since each deployment's last one (see `PrunedEntries`)."""
        cutoff = now - pending_ttl
        rows = await self.conn.fetch(
            """WITH expired AS (DELETE FROM pending_entries WHERE deployment_id = ANY($1) AND decided_at > $5 AND decided_at <= $4
                                RETURNING deployment_id, size_pct),
                    gone AS (SELECT deployment_id, count(*) AS n, sum(size_pct) AS pct FROM expired GROUP BY deployment_id),
                    counted_out AS (UPDATE pending_added a SET n = a.n - g.n, pct = a.pct - g.pct FROM gone g
                                    WHERE a.deployment_id = g.deployment_id)
               SELECT d.id, coalesce(x.open_positions, 0) AS open_n, coalesce(x.open_pct, 0) AS open_pct,
                      coalesce(pa.n, 0) - coalesce(ps.n, 0) - coalesce(g.n, 0) AS pending_n,
                      coalesce(pa.pct, 0) - coalesce(ps.pct, 0) - coalesce(g.pct, 0) AS pending_pct, eq.equity_usd,
                      en.instruments AS entry_instruments, en.ats AS entry_ats, cl.ats AS close_ats, cl.pnls AS close_pnls
               FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS d(id, closes_since, entries_after)
               LEFT JOIN exposure x ON x.deployment_id = d.id
               LEFT JOIN pending_added pa ON pa.deployment_id = d.id
               LEFT JOIN pending_settled ps ON ps.deployment_id = d.id
               LEFT JOIN gone g ON g.deployment_id = d.id
               LEFT JOIN LATERAL (SELECT equity_usd FROM positions WHERE deployment_id = d.id
                                  ORDER BY opened_at DESC LIMIT 1) eq ON true
               CROSS JOIN LATERAL (SELECT array_agg(instrument) AS instruments, array_agg(at) AS ats FROM (
                                     SELECT instrument, max(at) AS at FROM (
                                       SELECT instrument, opened_at AS at FROM positions
                                       WHERE d.entries_after IS NOT NULL AND deployment_id = d.id AND opened_at > d.entries_after
                                       UNION ALL SELECT instrument, decided_at FROM decisions
                                       WHERE d.entries_after IS NOT NULL AND deployment_id = d.id AND status = 'APPROVED'
                                         AND decided_at > d.entries_after) e
                                     GROUP BY instrument) g) en
               CROSS JOIN LATERAL (SELECT array_agg(closed_at ORDER BY closed_at) AS ats,
                                          array_agg(coalesce(realized_pnl_usd, 0) ORDER BY closed_at) AS pnls
                                   FROM positions WHERE d.closes_since IS NOT NULL AND deployment_id = d.id
                                     AND state = 'CLOSED' AND closed_at >= d.closes_since) cl""",
            [d.deployment_id for d in deployments],
            [(d.resumed_at or BEGINNING) if d.policy.daily_loss_limit_pct is not None or d.policy.max_drawdown_pct is not None
             else None for d in deployments],
            [now - timedelta(minutes=d.policy.cooldown_minutes) if d.policy.cooldown_minutes is not None else None
             for d in deployments],
            cutoff,
            pruned.since(d.deployment_id for d in deployments) if pruned else BEGINNING,
        )
        return {
            r["id"]: RiskState(
                open_positions=r["open_n"],
                pending_entries=r["pending_n"],
                exposure_pct=r["open_pct"] + r["pending_pct"],
                last_entry=dict(zip(r["entry_instruments"] or [], r["entry_ats"] or [], strict=True)),
                equity_usd=r["equity_usd"] or default_equity,
                closes=[Close(at, pnl) for at, pnl in zip(r["close_ats"] or [], r["close_pnls"] or [], strict=True)],
            )
            for r in rows
        }

    async def wait_for_deployments(self, agent_id: uuid.UUID, grace_s: float) -> bool:
        """Give registry events in flight a moment to arrive for an agent with no known deployment (each
        statement of the transaction sees what has committed since)."""
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if await self.conn.fetchval("SELECT true FROM deployments WHERE agent_id = $1 LIMIT 1", agent_id):
                return True
            await asyncio.sleep(0.05)
        return False
