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

from vprime_policy.adapters.repository import PolicyRepository
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
