"""Policy's risk state on real Postgres: the running aggregates (open positions, pending entries) that the
triggers keep, and the windows read for cooldowns and loss limits, against what the rows say."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import pytest

from tests.e2e.helpers import rolled_back_schema
from vprime_shared.contracts import DeploymentPolicy
from vprime_shared.contracts.base import utcnow

from vprime_policy.adapters.repository import BEGINNING, PolicyRepository, PrunedEntries
from vprime_policy.domain.policy import DeploymentView

pytestmark = pytest.mark.integration
TTL = timedelta(minutes=2)


conn = rolled_back_schema("policy")


async def position(conn: asyncpg.Connection, deployment: uuid.UUID, state: str, size_pct: float, *, intent: uuid.UUID | None = None,
                   opened_ago: timedelta = timedelta(0), closed_ago: timedelta | None = None, pnl: float | None = None,
                   instrument: str = "BTC") -> uuid.UUID:
    now, position_id = utcnow(), uuid.uuid4()
    await conn.execute(
        """INSERT INTO positions (position_id, intent_id, deployment_id, instrument, state, size_pct, equity_usd, opened_at,
               closed_at, realized_pnl_usd, updated_at) VALUES ($1,$2,$3,$4,$5,$6,20000,$7,$8,$9,$10)""",
        position_id, intent or uuid.uuid4(), deployment, instrument, state, size_pct, now - opened_ago,
        now - closed_ago if closed_ago is not None else None, pnl, now,
    )
    return position_id


async def decision(conn: asyncpg.Connection, deployment: uuid.UUID, status: str, size_pct: float, *, ago: timedelta = timedelta(0),
                   instrument: str = "BTC") -> uuid.UUID:
    intent_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO decisions (intent_id, signal_id, deployment_id, status, reasons, instrument, size_pct, decided_at)
           VALUES ($1, $2, $3, $4, '[]'::jsonb, $5, $6, $7)""",
        intent_id, uuid.uuid4(), deployment, status, instrument, size_pct, utcnow() - ago,
    )
    return intent_id


def view(deployment: uuid.UUID, **policy: object) -> DeploymentView:
    return DeploymentView(deployment, uuid.uuid4(), "ACTIVE", [], DeploymentPolicy.model_validate(policy))


async def test_open_positions_and_pending_entries_follow_every_write(conn: asyncpg.Connection) -> None:
    d, other = uuid.uuid4(), uuid.uuid4()
    repo = PolicyRepository(conn)
    first = await position(conn, d, "OPEN", 10)
    await position(conn, d, "OPEN", 5)
    await position(conn, d, "CLOSED", 7, closed_ago=timedelta(minutes=1), pnl=-3)
    await position(conn, other, "OPEN", 50)  # another deployment's: not ours
    opened = await decision(conn, d, "APPROVED", 2)
    await position(conn, d, "OPEN", 2, intent=opened)  # its position arrived: no longer pending
    await decision(conn, d, "APPROVED", 4)  # pending
    stale = await decision(conn, d, "APPROVED", 8, ago=TTL * 2)  # past the TTL: neither pending nor kept
    await decision(conn, d, "REJECTED", 9)

    state = (await repo.risk_states([view(d)], utcnow(), TTL, 10_000.0))[d]
    assert (state.open_positions, state.pending_entries, state.exposure_pct) == (3, 1, 10 + 5 + 2 + 4)
    assert state.equity_usd == 20_000
    assert state.closes == [] and state.last_entry == {}  # no limit and no cooldown: never read
    assert await conn.fetchval("SELECT count(*) FROM pending_entries WHERE intent_id = $1", stale) == 0

    # A close frees its slot; a late, older update of the same position changes nothing.
    await conn.execute("UPDATE positions SET state = 'CLOSED', closed_at = now() WHERE position_id = $1", first)
    await conn.execute("UPDATE positions SET size_pct = 99 WHERE position_id = $1", first)  # closed: not exposure
    state = (await repo.risk_states([view(d)], utcnow(), TTL, 10_000.0))[d]
    assert (state.open_positions, state.pending_entries, state.exposure_pct) == (2, 1, 5 + 2 + 4)


async def test_cooldowns_and_loss_limits_read_their_windows(conn: asyncpg.Connection) -> None:
    d = uuid.uuid4()
    repo = PolicyRepository(conn)
    await position(conn, d, "CLOSED", 5, opened_ago=timedelta(hours=3), closed_ago=timedelta(hours=2), pnl=-40, instrument="ETH")
    await position(conn, d, "CLOSED", 5, opened_ago=timedelta(hours=2), closed_ago=timedelta(hours=1), pnl=15, instrument="SOL")
    await decision(conn, d, "APPROVED", 3, ago=timedelta(minutes=5), instrument="BTC")
    await decision(conn, d, "APPROVED", 3, ago=timedelta(minutes=50), instrument="DOGE")  # outside a 30-minute cooldown

    limited = view(d, cooldown_minutes=30, daily_loss_limit_pct=5)
    state = (await repo.risk_states([limited, view(uuid.uuid4())], utcnow(), timedelta(hours=1), 10_000.0))[d]
    assert set(state.last_entry) == {"BTC"}
    assert [c.realized_pnl_usd for c in state.closes] == [-40, 15]  # oldest first
    assert state.pending_entries == 2 and state.open_positions == 0


async def test_an_entry_pruned_past_its_ttl_is_counted_out_once(conn: asyncpg.Connection) -> None:
    d = uuid.uuid4()
    repo = PolicyRepository(conn)
    late = await decision(conn, d, "APPROVED", 6, ago=TTL * 2)
    await decision(conn, d, "APPROVED", 3)

    state = (await repo.risk_states([view(d)], utcnow(), TTL, 10_000.0))[d]  # prunes the late one
    assert (state.pending_entries, state.exposure_pct) == (1, 3)
    await position(conn, d, "OPEN", 6, intent=late)  # its position arrives after all: open, not settled twice
    state = (await repo.risk_states([view(d)], utcnow(), TTL, 10_000.0))[d]
    assert (state.open_positions, state.pending_entries, state.exposure_pct) == (1, 1, 6 + 3)
    assert await conn.fetchval("SELECT n FROM pending_added WHERE deployment_id = $1", d) == 1
    assert await conn.fetchval("SELECT count(*) FROM pending_settled WHERE deployment_id = $1", d) == 0


async def test_totals_follow_statements_of_many_rows(conn: asyncpg.Connection) -> None:
    """A batch writes its decisions and its positions in one statement each (and upserts positions): the totals
    move by the sum of the statement's rows, per deployment."""
    d, other = uuid.uuid4(), uuid.uuid4()
    repo = PolicyRepository(conn)
    entries = [uuid.uuid4() for _ in range(3)]
    await conn.execute(
        """INSERT INTO decisions (intent_id, signal_id, deployment_id, status, reasons, instrument, size_pct)
           SELECT i, gen_random_uuid(), dep, st, '[]'::jsonb, 'BTC', sz
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::float8[]) AS u(i, dep, st, sz)""",
        [*entries, uuid.uuid4()], [d, d, other, d], ["APPROVED", "APPROVED", "APPROVED", "REJECTED"], [2.0, 3.0, 4.0, 9.0])
    positions = [uuid.uuid4() for _ in range(3)]
    upsert = """INSERT INTO positions (position_id, intent_id, deployment_id, instrument, state, size_pct, equity_usd, opened_at, updated_at)
                SELECT p, i, dep, 'BTC', st, sz, 20000, now(), now()
                FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::float8[]) AS u(p, i, dep, st, sz)
                ON CONFLICT (position_id) DO UPDATE SET state = EXCLUDED.state, size_pct = EXCLUDED.size_pct"""
    # entries[0]'s position opens (settling it), one opens with no entry, other's entry settles into a closed one
    await conn.execute(upsert, positions, [entries[0], uuid.uuid4(), entries[2]], [d, d, other], ["OPEN", "OPEN", "CLOSED"],
                       [2.0, 5.0, 4.0])
    states = await repo.risk_states([view(d), view(other)], utcnow(), TTL, 10_000.0)
    assert (states[d].open_positions, states[d].pending_entries, states[d].exposure_pct) == (2, 1, 2 + 5 + 3)
    assert (states[other].open_positions, states[other].pending_entries, states[other].exposure_pct) == (0, 0, 0)

    # one statement closes one position and resizes the other (an upsert: its rows are updates)
    await conn.execute(upsert, positions[:2], entries[:2], [d, d], ["CLOSED", "OPEN"], [2.0, 7.0])
    state = (await repo.risk_states([view(d)], utcnow(), TTL, 10_000.0))[d]
    assert (state.open_positions, state.pending_entries, state.exposure_pct) == (1, 1, 7 + 3)


async def test_a_prune_reads_only_what_was_decided_since_the_last_one(conn: asyncpg.Connection) -> None:
    d = uuid.uuid4()
    repo, pruned = PolicyRepository(conn), PrunedEntries()
    now = utcnow()
    pruned.advance([d], now - TTL * 3)  # this process pruned d up to three TTLs ago
    below = await decision(conn, d, "APPROVED", 1, ago=TTL * 4)  # cannot happen (entries are decided now): shows the bound
    expired = await decision(conn, d, "APPROVED", 2, ago=TTL * 2)
    await decision(conn, d, "APPROVED", 4)

    state = (await repo.risk_states([view(d)], now, TTL, 10_000.0, pruned))[d]
    assert await conn.fetchval("SELECT count(*) FROM pending_entries WHERE intent_id = $1", expired) == 0
    assert await conn.fetchval("SELECT count(*) FROM pending_entries WHERE intent_id = $1", below) == 1  # not read
    assert state.pending_entries == 2  # the one below the bound still counts: only a prune counts an entry out

    assert pruned.until(uuid.uuid4()) == BEGINNING  # a deployment not pruned yet: its whole range
    pruned.advance([d], now - TTL * 5)  # never backwards
    assert pruned.until(d) == now - TTL * 3
