"""Policy's risk state on real Postgres: the running aggregates (open positions, pending entries) that the
triggers keep, and the windows read for cooldowns and loss limits, against what the rows say; and the version
check that stands in for a lock between a batch's read and its write."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import pytest

from tests.e2e.helpers import rolled_back_schema
from vprime_shared.batches import Received
from vprime_shared.unit_of_work import Tx
from vprime_shared.contracts import (
    DeploymentState,
    DeploymentStatus,
    Intent,
    IntentStatus,
    Position,
    PositionState,
    RequestedVenue,
    RiskModel,
    Side,
    Venue,
)
from vprime_shared.contracts.base import utcnow

from vprime_policy.adapters.repository import BEGINNING, PolicyRepository, PrunedEntries
from vprime_policy.domain.risk import RiskState
from vprime_policy.handlers import positions_changed

pytestmark = pytest.mark.integration
TTL = timedelta(minutes=2)


conn = rolled_back_schema("policy", json_codec=True)


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


async def deployed(conn: asyncpg.Connection, agent: uuid.UUID | None = None, **policy: object) -> uuid.UUID:
    """A deployment of `agent` (a new one by default) in policy's table; its id."""
    deployment_id = uuid.uuid4()
    await conn.execute("INSERT INTO deployments (deployment_id, agent_id, status, enabled_venues, updated_at, policy) "
                       "VALUES ($1, $2, 'ACTIVE', '{HYPERLIQUID}', now(), $3)", deployment_id, agent or uuid.uuid4(), policy)
    return deployment_id


async def risk(conn: asyncpg.Connection, *deployments: uuid.UUID, ttl: timedelta = TTL, now=None,
               pruned: PrunedEntries | None = None) -> dict[uuid.UUID, RiskState]:
    """The risk states a batch of signals from these deployments' agents is decided on."""
    agents = await conn.fetch("SELECT agent_id FROM deployments WHERE deployment_id = ANY($1::uuid[])", list(deployments))
    state = await PolicyRepository(conn).batch_state([a["agent_id"] for a in agents], now or utcnow(), ttl, 10_000.0, pruned)
    return state.risk


async def test_open_positions_and_pending_entries_follow_every_write(conn: asyncpg.Connection) -> None:
    d, other = await deployed(conn), await deployed(conn)
    first = await position(conn, d, "OPEN", 10)
    await position(conn, d, "OPEN", 5)
    await position(conn, d, "CLOSED", 7, closed_ago=timedelta(minutes=1), pnl=-3)
    await position(conn, other, "OPEN", 50)  # another deployment's: not ours
    opened = await decision(conn, d, "APPROVED", 2)
    await position(conn, d, "OPEN", 2, intent=opened)  # its position arrived: no longer pending
    await decision(conn, d, "APPROVED", 4)  # pending
    stale = await decision(conn, d, "APPROVED", 8, ago=TTL * 2)  # past the TTL: neither pending nor kept
    await decision(conn, d, "REJECTED", 9)

    state = (await risk(conn, d))[d]
    assert (state.open_positions, state.pending_entries, state.exposure_pct) == (3, 1, 10 + 5 + 2 + 4)
    assert state.equity_usd == 20_000
    assert state.closes == [] and state.last_entry == {}  # no limit and no cooldown: never read
    assert await conn.fetchval("SELECT count(*) FROM pending_entries WHERE intent_id = $1", stale) == 0

    # A close frees its slot; a late, older update of the same position changes nothing.
    await conn.execute("UPDATE positions SET state = 'CLOSED', closed_at = now() WHERE position_id = $1", first)
    await conn.execute("UPDATE positions SET size_pct = 99 WHERE position_id = $1", first)  # closed: not exposure
    state = (await risk(conn, d))[d]
    assert (state.open_positions, state.pending_entries, state.exposure_pct) == (2, 1, 5 + 2 + 4)


async def test_cooldowns_and_loss_limits_read_their_windows(conn: asyncpg.Connection) -> None:
    agent = uuid.uuid4()
    d = await deployed(conn, agent, cooldown_minutes=30, daily_loss_limit_pct=5)
    await deployed(conn, agent)  # another of the agent's, with no window to read
    await position(conn, d, "CLOSED", 5, opened_ago=timedelta(hours=3), closed_ago=timedelta(hours=2), pnl=-40, instrument="ETH")
    await position(conn, d, "CLOSED", 5, opened_ago=timedelta(hours=2), closed_ago=timedelta(hours=1), pnl=15, instrument="SOL")
    await decision(conn, d, "APPROVED", 3, ago=timedelta(minutes=5), instrument="BTC")
    await decision(conn, d, "APPROVED", 3, ago=timedelta(minutes=50), instrument="DOGE")  # outside a 30-minute cooldown

    state = (await risk(conn, d, ttl=timedelta(hours=1)))[d]
    assert set(state.last_entry) == {"BTC"}
    assert [c.realized_pnl_usd for c in state.closes] == [-40, 15]  # oldest first
    assert state.pending_entries == 2 and state.open_positions == 0


async def test_an_entry_pruned_past_its_ttl_is_counted_out_once(conn: asyncpg.Connection) -> None:
    d = await deployed(conn)
    late = await decision(conn, d, "APPROVED", 6, ago=TTL * 2)
    await decision(conn, d, "APPROVED", 3)

    state = (await risk(conn, d))[d]  # prunes the late one
    assert (state.pending_entries, state.exposure_pct) == (1, 3)
    await position(conn, d, "OPEN", 6, intent=late)  # its position arrives after all: open, not settled twice
    state = (await risk(conn, d))[d]
    assert (state.open_positions, state.pending_entries, state.exposure_pct) == (1, 1, 6 + 3)
    assert await conn.fetchval("SELECT n FROM pending_added WHERE deployment_id = $1", d) == 1
    assert await conn.fetchval("SELECT count(*) FROM pending_settled WHERE deployment_id = $1", d) == 0


async def test_totals_follow_statements_of_many_rows(conn: asyncpg.Connection) -> None:
    """A batch writes its decisions and its positions in one statement each (and upserts positions): the totals
    move by the sum of the statement's rows, per deployment."""
    d, other = await deployed(conn), await deployed(conn)
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
    states = await risk(conn, d, other)
    assert (states[d].open_positions, states[d].pending_entries, states[d].exposure_pct) == (2, 1, 2 + 5 + 3)
    assert (states[other].open_positions, states[other].pending_entries, states[other].exposure_pct) == (0, 0, 0)

    # one statement closes one position and resizes the other (an upsert: its rows are updates)
    await conn.execute(upsert, positions[:2], entries[:2], [d, d], ["CLOSED", "OPEN"], [2.0, 7.0])
    state = (await risk(conn, d))[d]
    assert (state.open_positions, state.pending_entries, state.exposure_pct) == (1, 1, 7 + 3)


async def test_a_prune_reads_only_what_was_decided_since_the_last_one(conn: asyncpg.Connection) -> None:
    agent = uuid.uuid4()
    d = await deployed(conn, agent)
    pruned, now = PrunedEntries(), utcnow()
    pruned.advance([agent], now - TTL * 3)  # this process pruned the agent's entries up to three TTLs ago
    below = await decision(conn, d, "APPROVED", 1, ago=TTL * 4)  # cannot happen (entries are decided now): shows the bound
    expired = await decision(conn, d, "APPROVED", 2, ago=TTL * 2)
    await decision(conn, d, "APPROVED", 4)

    state = (await risk(conn, d, now=now, pruned=pruned))[d]
    assert await conn.fetchval("SELECT count(*) FROM pending_entries WHERE intent_id = $1", expired) == 0
    assert await conn.fetchval("SELECT count(*) FROM pending_entries WHERE intent_id = $1", below) == 1  # not read
    assert state.pending_entries == 2  # the one below the bound still counts: only a prune counts an entry out

    assert pruned.until(uuid.uuid4()) == BEGINNING  # an agent not pruned yet: its whole range
    pruned.advance([agent], now - TTL * 5)  # never backwards
    assert pruned.until(agent) == now - TTL * 3


def an_intent(deployment: uuid.UUID, agent: uuid.UUID) -> Intent:
    return Intent(intent_id=uuid.uuid4(), signal_id=uuid.uuid4(), agent_id=agent, deployment_id=deployment, instrument="BTC",
                  side=Side.LONG, size_pct=10, leverage=1, status=IntentStatus.APPROVED, risk_model=RiskModel(type="none"),
                  requested_venue=RequestedVenue.MULTI)


async def test_a_batch_read_before_a_deployment_changed_writes_nothing(conn: asyncpg.Connection) -> None:
    """Two batches for one agent read the same state; the first to write advances the agent's version, and the
    second, decided on what is no longer there, records nothing (its handler decides it again). So does a batch read
    before a registry update of one of the agent's deployments."""
    agent = uuid.uuid4()
    d = await deployed(conn, agent, max_open_positions=1)
    repo, now = PolicyRepository(conn), utcnow()
    first = await repo.batch_state([agent], now, TTL, 10_000.0)
    second = await repo.batch_state([agent], now, TTL, 10_000.0)
    assert first.versions == second.versions == {agent: 0}

    async with Tx.on(conn) as tx:
        mine = await repo.record(tx, [an_intent(d, agent)], first.versions)
    async with Tx.on(conn) as tx:
        late = await repo.record(tx, [late_intent := an_intent(d, agent)], second.versions)
    assert mine.written and len(mine.new) == 1
    assert not late.written and not late.new
    assert await conn.fetchval("SELECT count(*) FROM decisions WHERE intent_id = $1", late_intent.intent_id) == 0
    assert (await risk(conn, d))[d].pending_entries == 1  # the second batch, decided again, sees the first one's entry

    state = await repo.batch_state([agent], now, TTL, 10_000.0)
    await repo.save_deployment(DeploymentState(deployment_id=d, agent_id=agent, user_wallet="0x" + "ab" * 20, created_at=now,
                                               status=DeploymentStatus.PAUSED, enabled_venues=[Venue.HYPERLIQUID]))
    async with Tx.on(conn) as tx:
        assert not (await repo.record(tx, [an_intent(d, agent)], state.versions)).written
    assert (await repo.batch_state([agent], now, TTL, 10_000.0)).deployments[agent][0].status == "PAUSED"


async def test_a_batch_with_a_decision_recorded_before_writes_nothing_and_says_which(conn: asyncpg.Connection) -> None:
    agent = uuid.uuid4()
    d = await deployed(conn, agent)
    repo = PolicyRepository(conn)
    old, new = an_intent(d, agent), an_intent(d, agent)
    async with Tx.on(conn) as tx:
        assert (await repo.record(tx, [old], (await repo.batch_state([agent], utcnow(), TTL, 10_000.0)).versions)).written
    async with Tx.on(conn) as tx:
        again = await repo.record(tx, [old, new], (await repo.batch_state([agent], utcnow(), TTL, 10_000.0)).versions)
    assert not again.written and again.before == {old.intent_id}
    assert await conn.fetchval("SELECT count(*) FROM decisions WHERE intent_id = $1", new.intent_id) == 0


class Statements:
    """A connection that counts the statements sent through it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn, self.sent = conn, 0

    async def execute(self, query: str, *args: object) -> str:
        self.sent += 1
        return await self._conn.execute(query, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


def a_position(deployment: uuid.UUID, state: str, size_pct: float, *, like: Position | None = None) -> Position:
    now = utcnow()
    if like is not None:  # a later update of the same position
        return like.model_copy(update={"state": PositionState(state), "event_id": uuid.uuid4(), "occurred_at": now,
                                       "closed_at": now if state == "CLOSED" else None, "realized_pnl_usd": 1.0})
    return Position(position_id=uuid.uuid4(), order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(),
                    agent_id=uuid.uuid4(), deployment_id=deployment, venue=Venue.HYPERLIQUID, venue_symbol="BTC",
                    instrument="BTC", side=Side.LONG, state=PositionState(state), entry_price=100.0, qty=1.0,
                    notional_usd=100.0, size_pct=size_pct, equity_usd=20_000, leverage=1, opened_at=now)


async def test_a_batch_of_positions_is_one_statement_and_the_totals_follow_its_latest_states(conn: asyncpg.Connection) -> None:
    """A position opened and closed in one batch is written once, as closed; the totals move as if each update had
    been applied in turn."""
    d = await deployed(conn)
    kept = a_position(d, "OPEN", 4)
    brief = a_position(d, "OPEN", 6)
    batch = [kept, brief, a_position(d, "CLOSED", 6, like=brief)]
    counting = Statements(conn)
    async with Tx.on(counting, transaction=False) as tx:  # type: ignore[arg-type]
        await positions_changed(tx, [Received(p, {}) for p in batch])
    assert counting.sent == 1
    assert await conn.fetchval("SELECT state FROM positions WHERE position_id = $1", brief.position_id) == "CLOSED"
    state = (await risk(conn, d))[d]
    assert (state.open_positions, state.exposure_pct) == (1, 4)
