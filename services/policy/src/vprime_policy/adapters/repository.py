"""Postgres persistence for policy (the `policy` schema): deployments, decisions and risk state."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg
import orjson

from vprime_shared import outbox
from vprime_shared.contracts import DeploymentPolicy, DeploymentState, Intent, Position, Venue
from vprime_shared.unit_of_work import Inbox

from vprime_policy.domain.policy import DeploymentView
from vprime_policy.domain.risk import Close, RiskState

if TYPE_CHECKING:
    from vprime_shared.unit_of_work import Tx


BEGINNING = datetime.min.replace(tzinfo=UTC)  # where a read with nothing to go on starts: a first prune, closes never reset


class PrunedEntries:
    """Per agent, the TTL cutoff of the last committed prune of its deployments' pending entries: every entry decided
    at or before it is gone, so the next prune reads only those decided after it. Until vacuum, the table and its
    index hold every entry ever settled (a position's arrival deletes its entry a moment after it was added), and a
    prune from the beginning read more of them with every batch. A process that has not pruned an agent yet reads
    from the beginning once. Entries are decided at their statement's time, far after any cutoff (a TTL ago), so none
    can appear below one later, not even for a deployment the agent gains after its prune.
    """

    def __init__(self) -> None:
        self._until: dict[uuid.UUID, datetime] = {}

    def until(self, agent_id: uuid.UUID) -> datetime:
        return self._until.get(agent_id, BEGINNING)

    def since(self, agent_ids: Iterable[uuid.UUID]) -> datetime:
        """Where a prune of these agents' entries starts reading: the earliest of their cutoffs. One bound for all of
        them, a parameter the planner can weigh against its statistics: with a bound per deployment (a join) it
        scanned the whole table, every entry settled since the last vacuum, to filter them afterwards."""
        return min((self.until(a) for a in agent_ids), default=BEGINNING)

    def advance(self, agent_ids: Iterable[uuid.UUID], cutoff: datetime) -> None:
        """After the prune up to `cutoff` committed (a prune rolled back deleted nothing)."""
        for a in agent_ids:
            if cutoff > self.until(a):
                self._until[a] = cutoff


@dataclass(slots=True)
class BatchState:
    """What `PolicyRepository.batch_state` read: per agent its deployments (in deployment order) and its version,
    each live deployment's risk state, and the batch's events this consumer handled before."""

    seen: set[uuid.UUID]
    deployments: dict[uuid.UUID, list[DeploymentView]] = field(default_factory=dict)
    versions: dict[uuid.UUID, int] = field(default_factory=dict)  # per agent
    risk: dict[uuid.UUID, RiskState] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What `PolicyRepository.record` did: wrote the batch (`new`: the decisions it recorded), or nothing, because an
    agent's deployments changed since they were read or some decisions were recorded before (`before`); then the
    batch is decided again, on what is there now."""

    written: bool
    new: set[uuid.UUID] = field(default_factory=set)
    before: set[uuid.UUID] = field(default_factory=set)


class PolicyRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save_deployment(self, d: DeploymentState) -> None:
        # Registry events are full states; an older one arriving late must not win. A change advances the agent's
        # version, so a batch of decisions read before it is decided again (`record`).
        await self.conn.execute(
            """WITH saved AS (
                   INSERT INTO deployments (deployment_id, agent_id, status, enabled_venues, updated_at, policy, resumed_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (deployment_id) DO UPDATE
                     SET status = EXCLUDED.status, enabled_venues = EXCLUDED.enabled_venues, updated_at = EXCLUDED.updated_at,
                         policy = EXCLUDED.policy, resumed_at = EXCLUDED.resumed_at
                     WHERE deployments.updated_at <= EXCLUDED.updated_at
                   RETURNING agent_id)
               INSERT INTO agent_versions AS a (agent_id, version) SELECT agent_id, 1 FROM saved
               ON CONFLICT (agent_id) DO UPDATE SET version = a.version + 1""",
            d.deployment_id, d.agent_id, d.status.value, [v.value for v in d.enabled_venues], d.occurred_at,
            d.policy.model_dump(mode="json", exclude_defaults=True), d.resumed_at,
        )

    async def batch_state(self, agent_ids: Iterable[uuid.UUID], now: datetime, pending_ttl: timedelta, default_equity: float,
                          pruned: PrunedEntries | None = None, inbox: Inbox | None = None) -> BatchState:
        """What a batch of signals from these agents is decided on, in one statement, one snapshot: every deployment of
        the agents, each agent's version, each live deployment's risk state, and which of `inbox`'s events were handled
        before.

        Risk state: open positions and pending entries from their running totals (migrations 004 and 005). Pending
        entries past the TTL are pruned here and counted out (the prune is whole in itself, and commits with this
        read); the statement reads the totals as they were before it, hence the subtraction of what it pruned. Closes
        are read only for deployments with a loss or drawdown limit, entries only for those with a cooldown (and only
        within it): the `IS NOT NULL` tests are checked once per deployment, before any scan (without them the planner
        read every position of a deployment only to compare it with NULL). With `pruned`, the prune reads only the
        entries decided since each agent's last one (see `PrunedEntries`); its deployments are one array parameter
        (`ANY(ARRAY(...))`), which the planner reads as a list of index ranges, as it would a parameter."""
        agents = list(set(agent_ids))
        rows = await self.conn.fetch(
            f"""WITH deps AS (
                   SELECT deployment_id, agent_id, status, enabled_venues, policy, resumed_at, coalesce(
                            (SELECT version FROM agent_versions WHERE agent_versions.agent_id = deployments.agent_id), 0) AS version,
                          CASE WHEN policy->>'daily_loss_limit_pct' IS NOT NULL OR policy->>'max_drawdown_pct' IS NOT NULL
                               THEN coalesce(resumed_at, $5::timestamptz) END AS closes_since,
                          $4::timestamptz - (policy->>'cooldown_minutes')::float8 * interval '1 minute' AS entries_after
                   FROM deployments WHERE agent_id = ANY($1::uuid[])),
                 expired AS (DELETE FROM pending_entries
                             WHERE deployment_id = ANY(ARRAY(SELECT deployment_id FROM deps WHERE status <> 'STOPPED'))
                               AND decided_at > $3 AND decided_at <= $2
                             RETURNING deployment_id, size_pct),
                 gone AS (SELECT deployment_id, count(*) AS n, sum(size_pct) AS pct FROM expired GROUP BY deployment_id),
                 counted_out AS (UPDATE pending_added a SET n = a.n - g.n, pct = a.pct - g.pct FROM gone g
                                 WHERE a.deployment_id = g.deployment_id)
               SELECT s.seen, d.deployment_id, d.agent_id, d.status, d.enabled_venues, d.policy, d.resumed_at, d.version,
                      coalesce(x.open_positions, 0) AS open_n, coalesce(x.open_pct, 0) AS open_pct,
                      coalesce(pa.n, 0) - coalesce(ps.n, 0) - coalesce(g.n, 0) AS pending_n,
                      coalesce(pa.pct, 0) - coalesce(ps.pct, 0) - coalesce(g.pct, 0) AS pending_pct, eq.equity_usd,
                      en.instruments AS entry_instruments, en.ats AS entry_ats, cl.ats AS close_ats, cl.pnls AS close_pnls
               FROM (SELECT {Inbox.seen(6)}) s
               LEFT JOIN (deps d
                 LEFT JOIN exposure x ON x.deployment_id = d.deployment_id
                 LEFT JOIN pending_added pa ON pa.deployment_id = d.deployment_id
                 LEFT JOIN pending_settled ps ON ps.deployment_id = d.deployment_id
                 LEFT JOIN gone g ON g.deployment_id = d.deployment_id
                 LEFT JOIN LATERAL (SELECT equity_usd FROM positions WHERE d.status <> 'STOPPED' AND deployment_id = d.deployment_id
                                    ORDER BY opened_at DESC LIMIT 1) eq ON true
                 CROSS JOIN LATERAL (SELECT array_agg(instrument) AS instruments, array_agg(at) AS ats FROM (
                                       SELECT instrument, max(at) AS at FROM (
                                         SELECT instrument, opened_at AS at FROM positions
                                         WHERE d.entries_after IS NOT NULL AND deployment_id = d.deployment_id
                                           AND opened_at > d.entries_after
                                         UNION ALL SELECT instrument, decided_at FROM decisions
                                         WHERE d.entries_after IS NOT NULL AND deployment_id = d.deployment_id
                                           AND status = 'APPROVED' AND decided_at > d.entries_after) e
                                       GROUP BY instrument) g) en
                 CROSS JOIN LATERAL (SELECT array_agg(closed_at ORDER BY closed_at) AS ats,
                                            array_agg(coalesce(realized_pnl_usd, 0) ORDER BY closed_at) AS pnls
                                     FROM positions WHERE d.closes_since IS NOT NULL AND deployment_id = d.deployment_id
                                       AND state = 'CLOSED' AND closed_at >= d.closes_since) cl) ON true
               ORDER BY d.deployment_id""",
            agents, now - pending_ttl, pruned.since(agents) if pruned else BEGINNING, now, BEGINNING,
            *(inbox.seen_params() if inbox else ([], "")),
        )
        state = BatchState(seen=set(rows[0]["seen"] or ()))
        for r in rows:
            if r["deployment_id"] is None:
                continue  # the agents have no deployment: the one row says only what was seen
            view = DeploymentView(r["deployment_id"], r["agent_id"], r["status"], [Venue(v) for v in r["enabled_venues"]],
                                  DeploymentPolicy.model_validate(r["policy"]), r["resumed_at"])
            state.deployments.setdefault(view.agent_id, []).append(view)
            state.versions[view.agent_id] = r["version"]
            if view.status != "STOPPED":
                state.risk[view.deployment_id] = RiskState(
                    open_positions=r["open_n"],
                    pending_entries=r["pending_n"],
                    exposure_pct=r["open_pct"] + r["pending_pct"],
                    last_entry=dict(zip(r["entry_instruments"] or [], r["entry_ats"] or [], strict=True)),
                    equity_usd=r["equity_usd"] or default_equity,
                    closes=[Close(at, pnl) for at, pnl in zip(r["close_ats"] or [], r["close_pnls"] or [], strict=True)],
                )
        return state

    async def record(self, tx: Tx, intents: list[Intent], versions: Mapping[uuid.UUID, int]) -> Recorded:
        """Record the decisions, the inbox rows of `tx.inbox` and the events published about them (`tx.outgoing`, each
        about its intent id), in one statement, if every agent decided for is still at the version it was read at
        (`versions`) and none of the decisions was recorded before; else write nothing (see `Recorded`). Advances those
        agents' versions: each row is compared and advanced by one upsert, which waits for a batch writing it meanwhile
        and compares with what that one wrote; rows in agent order, so two such statements cannot deadlock."""
        outgoing, inbox = tx.outgoing(), tx.inbox
        row = await self.conn.fetchrow(
            f"""WITH advanced AS (
                   INSERT INTO agent_versions AS a (agent_id, version)
                   SELECT id, version + 1 FROM unnest($8::uuid[], $9::bigint[]) AS v(id, version) ORDER BY id
                   ON CONFLICT (agent_id) DO UPDATE SET version = EXCLUDED.version WHERE a.version = EXCLUDED.version - 1
                   RETURNING agent_id),
                 before AS (SELECT array_agg(intent_id) AS ids FROM decisions WHERE intent_id = ANY($1::uuid[])),
                 go AS (SELECT (SELECT count(*) FROM advanced) = cardinality($8::uuid[]) AND (SELECT ids FROM before) IS NULL AS go),
                 recorded AS (
                   INSERT INTO decisions (intent_id, signal_id, deployment_id, status, reasons, instrument, size_pct)
                   SELECT i, s, d, st, r::jsonb, ins, sz
                   FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::float8[])
                     AS u(i, s, d, st, r, ins, sz)
                   WHERE (SELECT go FROM go)
                   ON CONFLICT (intent_id) DO NOTHING RETURNING intent_id),
                {Inbox.cte(10, when="(SELECT go FROM go)")},
                {outbox.ctes(13, only="about IN (SELECT intent_id::text FROM recorded)")}
                SELECT (SELECT go FROM go) AS go, (SELECT ids FROM before) AS before,
                       (SELECT array_agg(intent_id) FROM recorded) AS recorded, {Inbox.FRESH}, {outbox.result(notify=tx.notify)}""",
            [i.intent_id for i in intents], [i.signal_id for i in intents], [i.deployment_id for i in intents],
            [i.status.value for i in intents], [orjson.dumps([r.model_dump() for r in i.reasons]).decode() for i in intents],
            [i.instrument for i in intents], [i.size_pct for i in intents], list(versions), list(versions.values()),
            *(inbox.params() if inbox else ([], "", [])), *outgoing.params(),
        )
        if not row["go"]:
            return Recorded(written=False, before=set(row["before"] or ()))
        tx.wrote(outgoing, row)
        if inbox is not None:
            inbox.record(row)
        return Recorded(written=True, new=set(row["recorded"] or ()))

    @staticmethod
    def save_position(tx: Tx, p: Position) -> None:
        # Deferred: a batch's positions go in one statement (`Tx.flush`, `handlers.positions_changed`).
        tx.insert("positions", dict(position_id=p.position_id, intent_id=p.intent_id, deployment_id=p.deployment_id,
                                    instrument=p.instrument.upper(), state=p.state, size_pct=p.size_pct, equity_usd=p.equity_usd,
                                    opened_at=p.opened_at, closed_at=p.closed_at, realized_pnl_usd=p.realized_pnl_usd,
                                    updated_at=p.occurred_at),
                  on_conflict="""ON CONFLICT (position_id) DO UPDATE SET state = EXCLUDED.state, closed_at = EXCLUDED.closed_at,
                                   realized_pnl_usd = EXCLUDED.realized_pnl_usd, updated_at = EXCLUDED.updated_at
                                 WHERE positions.updated_at <= EXCLUDED.updated_at""",
                  key=p.position_id)

    async def wait_for_deployments(self, agent_id: uuid.UUID, grace_s: float) -> bool:
        """Give registry events in flight a moment to arrive for an agent with no known deployment (each
        statement sees what has committed since)."""
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if await self.conn.fetchval("SELECT true FROM deployments WHERE agent_id = $1 LIMIT 1", agent_id):
                return True
            await asyncio.sleep(0.05)
        return False
