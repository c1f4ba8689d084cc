"""Policy's whole-batch path on real Postgres: a batch of signals decided together, each deployment's signals in
the batch's order seeing the entries approved before them (pending slots, exposure, cooldowns), a redelivered
signal deciding nothing again, an agent with no deployment answered with its rejection; every new decision
recorded and in the outbox under the trace of its signal."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest

from tests.e2e.helpers import one_statement, rolled_back_schema, scratch_database
from tests.infra import Endpoints
from vprime_shared import db
from vprime_shared.batches import Received
from vprime_shared.contracts import RequestedVenue, RiskModel, Side, Signal, SignalOrigin, SizeModel
from vprime_shared.contracts.base import utcnow
from vprime_shared.unit_of_work import Tx

from vprime_policy.adapters.repository import PrunedEntries
from vprime_policy.handlers import MAX_DECIDE_ROUNDS, signals_received
from vprime_policy.settings import PolicySettings

pytestmark = pytest.mark.integration
SETTINGS = PolicySettings(registry_grace_s=0)


conn = rolled_back_schema("policy", json_codec=True)


async def deployment(conn: asyncpg.Connection, agent: uuid.UUID, **policy: object) -> uuid.UUID:
    deployment_id = uuid.uuid4()
    await conn.execute("INSERT INTO deployments (deployment_id, agent_id, status, enabled_venues, updated_at, policy) "
                       "VALUES ($1, $2, 'ACTIVE', '{HYPERLIQUID}', now(), $3)", deployment_id, agent, policy)
    return deployment_id


def a_signal(agent: uuid.UUID, instrument: str) -> Received[Signal]:
    signal = Signal(signal_id=uuid.uuid4(), agent_id=agent, instrument=instrument, side=Side.LONG, size_model=SizeModel(value=10),
                    risk_model=RiskModel(type="none"), confidence=0.9, requested_venue=RequestedVenue.MULTI, origin=SignalOrigin.MANUAL)
    return Received(signal, {"traceparent": f"00-{signal.signal_id.hex}-{'1' * 16}-01"})


async def test_a_batch_of_signals_is_decided_in_order_and_recorded_once(conn: asyncpg.Connection) -> None:
    agent, nobody = uuid.uuid4(), uuid.uuid4()
    one_slot = await deployment(conn, agent, max_open_positions=1)
    cooled = await deployment(conn, agent, cooldown_minutes=10, max_exposure_pct=25)
    btc, eth, btc_again, doge, lost = (a_signal(agent, "BTC"), a_signal(agent, "ETH"), a_signal(agent, "BTC"),
                                       a_signal(agent, "DOGE"), a_signal(nobody, "BTC"))

    batch = [btc, eth, btc, btc_again, doge, lost]
    async with one_statement(conn, "policy", batch) as tx:  # as the service runs it
        await signals_received(tx, batch, SETTINGS, utcnow)
    assert tx.inbox is not None and tx.inbox.fresh == {r.event.event_id for r in batch}

    rows = await conn.fetch("SELECT signal_id, deployment_id, status, reasons FROM decisions "
                            "WHERE signal_id = ANY($1::uuid[])", [s.event.signal_id for s in (btc, eth, btc_again, doge, lost)])
    fate = {(r["signal_id"], r["deployment_id"]): (r["status"], [x["rule"] for x in r["reasons"]]) for r in rows}
    assert len(rows) == 9  # four signals × two deployments, and the lost one's rejection: the repeated BTC decided once
    assert fate[(btc.event.signal_id, one_slot)][0] == fate[(btc.event.signal_id, cooled)][0] == "APPROVED"
    assert fate[(eth.event.signal_id, one_slot)] == ("REJECTED", ["max_open_positions"])  # BTC's entry is pending
    assert fate[(eth.event.signal_id, cooled)][0] == "APPROVED"  # the cooldown is per instrument
    assert fate[(btc_again.event.signal_id, cooled)] == ("REJECTED", ["cooldown_minutes", "max_exposure_pct"])  # BTC entered a
    # moment ago; and 10 + 10 pending, + 10 > 25
    assert fate[(doge.event.signal_id, cooled)] == ("REJECTED", ["max_exposure_pct"])
    assert fate[(lost.event.signal_id, None)] == ("REJECTED", ["no_active_deployment"])
    pending = await conn.fetchval("SELECT count(*) FROM pending_entries WHERE deployment_id = ANY($1::uuid[])", [one_slot, cooled])
    assert pending == 3  # what the next batch sees, from the rows themselves
    published = await conn.fetch("SELECT headers, convert_from(payload, 'UTF8')::jsonb ->> 'signal_id' AS signal_id FROM outbox "
                                 "WHERE topic = 'intents.v1' AND (convert_from(payload, 'UTF8')::jsonb ->> 'signal_id')::uuid = ANY($1::uuid[]) "
                                 "ORDER BY id", [s.event.signal_id for s in (btc, eth, btc_again, doge, lost)])
    assert len(published) == 9
    assert all(r["headers"]["traceparent"].split("-")[1] == r["signal_id"].replace("-", "") for r in published)

    async with one_statement(conn, "policy", batch) as tx:  # redelivered
        await signals_received(tx, batch, SETTINGS, utcnow)
    assert tx.inbox is not None and tx.inbox.fresh == set()  # all seen: nothing read beyond that, nothing written
    async with Tx.on(conn) as tx:  # the signals again, with no inbox to stop them: nothing is decided twice
        await signals_received(tx, [btc, eth, btc_again, doge, lost], SETTINGS, utcnow)
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'intents.v1' AND "
                               "(convert_from(payload, 'UTF8')::jsonb ->> 'signal_id')::uuid = ANY($1::uuid[])",
                               [s.event.signal_id for s in (btc, eth, btc_again, doge, lost)]) == 9


async def test_the_prune_mark_advances_only_when_its_transaction_commits(infra: Endpoints) -> None:
    agent = uuid.uuid4()
    pruned, now = PrunedEntries(), utcnow()
    cutoff = now - timedelta(seconds=SETTINGS.pending_entry_ttl_s)
    async with scratch_database(infra, "policy") as pool, pool.acquire() as conn:  # transactions that really commit
        await db.use_json_codecs(conn)
        await deployment(conn, agent)

        with pytest.raises(RuntimeError):
            async with Tx.on(conn) as tx:
                await signals_received(tx, [a_signal(agent, "BTC")], SETTINGS, lambda: now, pruned)
                raise RuntimeError("the batch's transaction fails after the prune")
        assert pruned.until(agent) < cutoff  # its prune was rolled back: the next one reads the range again

        with pytest.raises(RuntimeError):
            async with conn.transaction():  # an outer transaction: the batch's own commit only releases a savepoint
                async with Tx.on(conn) as tx:
                    await signals_received(tx, [a_signal(agent, "BTC")], SETTINGS, lambda: now, pruned)
                assert pruned.until(agent) < cutoff  # not committed yet, and never will be
                raise RuntimeError("the outer transaction rolls back")
        assert pruned.until(agent) < cutoff

        async with Tx.on(conn) as tx:
            await signals_received(tx, [a_signal(agent, "BTC")], SETTINGS, lambda: now, pruned)
        assert pruned.until(agent) == cutoff


class BeforeEachWrite:
    """A policy connection that runs `before_write` ahead of each batch write (the statement that compares and advances
    the agents' versions), to put something between a batch's read and its write."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def before_write(self) -> None:
        raise NotImplementedError

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        if query.lstrip().startswith("WITH advanced"):
            await self.before_write()
        return await self._conn.fetchrow(query, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


class ReadsFirst(BeforeEachWrite):
    """A connection whose first batch write waits until every instance has read: the ten batches are decided on the
    same state, as instances in a rebalance can be."""

    def __init__(self, conn: asyncpg.Connection, everyone_read: asyncio.Barrier) -> None:
        super().__init__(conn)
        self._everyone_read, self._waited = everyone_read, False

    async def before_write(self) -> None:
        if not self._waited:
            self._waited = True
            await self._everyone_read.wait()


async def test_batches_decided_at_once_by_several_instances_never_share_a_slot(infra: Endpoints) -> None:
    """Ten batches for one agent, each by its own connection as if by its own policy instance, all read before any
    writes: the deployment has one slot, and exactly one of them takes it; the others, finding the agent's version
    moved, write nothing, are decided again and see the entry."""
    agent = uuid.uuid4()
    everyone_read = asyncio.Barrier(10)
    async with scratch_database(infra, "policy") as pool:  # transactions that really commit
        async with pool.acquire() as conn:
            await db.use_json_codecs(conn)
            await deployment(conn, agent, max_open_positions=1)
        batches = [[a_signal(agent, "BTC")] for _ in range(10)]

        async def instance(batch: list[Received[Signal]]) -> None:
            async with pool.acquire() as conn:
                await db.use_json_codecs(conn)
                async with one_statement(ReadsFirst(conn, everyone_read), "policy", batch) as tx:  # type: ignore[arg-type]
                    await signals_received(tx, batch, SETTINGS, utcnow)

        await asyncio.gather(*(instance(b) for b in batches))
        statuses = [r["status"] for r in await pool.fetch("SELECT status FROM decisions")]
        version = await pool.fetchval("SELECT version FROM agent_versions WHERE agent_id = $1", agent)
    assert len(statuses) == 10 and statuses.count("APPROVED") == 1
    assert version == 10  # advanced once by each batch written, never by a write that found it moved


class AlwaysOvertaken(BeforeEachWrite):
    """A connection whose every batch write finds the agent's version moved since its read: another writer (a registry
    update, another instance) commits in between, each time."""

    def __init__(self, conn: asyncpg.Connection, other: asyncpg.Connection, agent: uuid.UUID) -> None:
        super().__init__(conn)
        self._other, self._agent, self.writes = other, agent, 0

    async def before_write(self) -> None:
        self.writes += 1
        await self._other.execute("INSERT INTO agent_versions AS a (agent_id, version) VALUES ($1, 1) "
                                  "ON CONFLICT (agent_id) DO UPDATE SET version = a.version + 1", self._agent)


async def test_a_batch_overtaken_every_time_gives_up_after_its_rounds_and_writes_nothing(infra: Endpoints) -> None:
    """Decided again each time its agent's version moved, a batch stops after `MAX_DECIDE_ROUNDS` with an error (as any
    batch that fails, its events are then handled one by one, and one that fails alone goes to the DLQ with its reason)
    and leaves nothing behind: no decision, no intent, no inbox row."""
    agent = uuid.uuid4()
    async with scratch_database(infra, "policy") as pool:
        async with pool.acquire() as conn, pool.acquire() as other:
            await db.use_json_codecs(conn)
            await deployment(conn, agent, max_open_positions=1)
            batch = [a_signal(agent, "BTC")]
            overtaken = AlwaysOvertaken(conn, other, agent)
            with pytest.raises(RuntimeError, match=f"changed {MAX_DECIDE_ROUNDS} times in a row"):
                async with one_statement(overtaken, "policy", batch) as tx:  # type: ignore[arg-type]
                    await signals_received(tx, batch, SETTINGS, utcnow)
            assert overtaken.writes == MAX_DECIDE_ROUNDS
            left = await conn.fetchrow("SELECT (SELECT count(*) FROM decisions) AS decisions, (SELECT count(*) FROM outbox) AS outbox, "
                                       "(SELECT count(*) FROM inbox) AS inbox")
    assert dict(left) == {"decisions": 0, "outbox": 0, "inbox": 0}
