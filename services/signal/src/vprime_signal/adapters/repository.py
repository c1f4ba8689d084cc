"""Postgres persistence for Agent What (the `signal` schema)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from vprime_shared.contracts import AgentState, MarketTick, Post, RequestedVenue, Research, Side, Signal

from vprime_signal.domain.aggregation import AgentProfile, Evidence, Source


@dataclass(frozen=True)
class Follower:
    agent_id: uuid.UUID
    venue: RequestedVenue
    profile: AgentProfile


class SignalRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save_agent(self, agent: AgentState) -> None:
        await self.conn.execute(
            """INSERT INTO agents (agent_id, status, x_account_ids, research_institute_ids, weights, updated_at, venue, signal_threshold)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
               ON CONFLICT (agent_id) DO UPDATE SET status = EXCLUDED.status, x_account_ids = EXCLUDED.x_account_ids,
                 research_institute_ids = EXCLUDED.research_institute_ids, weights = EXCLUDED.weights,
                 updated_at = EXCLUDED.updated_at, venue = EXCLUDED.venue, signal_threshold = EXCLUDED.signal_threshold
               WHERE agents.updated_at <= EXCLUDED.updated_at""",
            agent.agent_id, agent.status.value, agent.x_account_ids, agent.research_institute_ids, agent.weights,
            agent.occurred_at, agent.venue.value, agent.signal_threshold,
        )

    async def followers(self, source: Source, source_account: str) -> list[Follower]:
        """Active agents that follow this X account or research institute."""
        column = "x_account_ids" if source is Source.X else "research_institute_ids"
        rows = await self.conn.fetch(
            f"SELECT agent_id, venue, weights, signal_threshold FROM agents WHERE status = 'ACTIVE' AND $1 = ANY({column})",
            source_account,
        )
        return [Follower(r["agent_id"], RequestedVenue(r["venue"]), AgentProfile.from_weights(r["weights"], r["signal_threshold"])) for r in rows]

    async def save_post(self, post: Post) -> None:
        await self.conn.execute(
            """INSERT INTO posts (post_id, account_id, author_handle, text, posted_at) VALUES ($1,$2,$3,$4,$5)
               ON CONFLICT (post_id) DO NOTHING""",
            post.post_id, post.account_id, post.author_handle, post.text, post.posted_at,
        )

    async def save_research(self, note: Research) -> None:
        await self.conn.execute(
            """INSERT INTO research (research_id, institute_id, instrument, side, conviction, text, published_at)
               VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (research_id) DO NOTHING""",
            note.research_id, note.institute_id, note.instrument, note.side.value if note.side else None, note.conviction,
            note.text, note.published_at,
        )

    async def add_evidence(self, agent_id: uuid.UUID, instrument: str, e: Evidence) -> bool:
        """Record one piece of evidence; False if this source already counted for this agent and instrument."""
        status = await self.conn.execute(
            """INSERT INTO evidence (agent_id, instrument, source, source_id, direction, strength, observed_at)
               VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING""",
            agent_id, instrument, e.source.value, e.source_id, e.direction, e.strength, e.observed_at,
        )
        return status.endswith("1")

    async def evidence(self, agent_id: uuid.UUID, instrument: str, since: datetime) -> list[Evidence]:
        rows = await self.conn.fetch(
            """SELECT source, source_id, direction, strength, observed_at FROM evidence
               WHERE agent_id = $1 AND instrument = $2 AND observed_at >= $3 ORDER BY observed_at""",
            agent_id, instrument, since,
        )
        return [Evidence(Source(r["source"]), r["source_id"], r["direction"], r["strength"], r["observed_at"]) for r in rows]

    async def latest_evidence_time(self, agent_id: uuid.UUID, instrument: str) -> datetime | None:
        return await self.conn.fetchval(
            "SELECT max(observed_at) FROM evidence WHERE agent_id = $1 AND instrument = $2", agent_id, instrument
        )

    async def live_side(self, agent_id: uuid.UUID, instrument: str, now: datetime, window: timedelta) -> Side | None:
        side = await self.conn.fetchval(
            """SELECT side FROM signals WHERE agent_id = $1 AND instrument = $2 AND emitted_at > $3
               ORDER BY emitted_at DESC LIMIT 1""",
            agent_id, instrument, now - window,
        )
        return Side(side) if side else None

    async def save_signal(self, signal: Signal, emitted_at: datetime) -> None:
        await self.conn.execute(
            """INSERT INTO signals (signal_id, agent_id, instrument, side, confidence, emitted_at, payload)
               VALUES ($1,$2,$3,$4,$5,$6,$7)""",
            signal.signal_id, signal.agent_id, signal.instrument, signal.side.value, signal.confidence, emitted_at,
            signal.model_dump(mode="json"),
        )

    async def recent_mids(self, instrument: str, limit: int) -> list[float]:
        rows = await self.conn.fetch(
            "SELECT mid FROM (SELECT ts, mid FROM tick_history WHERE instrument = $1 ORDER BY ts DESC LIMIT $2) t ORDER BY ts",
            instrument, limit,
        )
        return [r["mid"] for r in rows]

    async def record_tick(self, tick: MarketTick, keep: int) -> None:
        instrument = tick.instrument.upper()
        await self.conn.execute(
            """INSERT INTO ticks (venue, instrument, mid, ts) VALUES ($1,$2,$3,$4)
               ON CONFLICT (venue, instrument) DO UPDATE SET mid = EXCLUDED.mid, ts = EXCLUDED.ts WHERE ticks.ts <= EXCLUDED.ts""",
            tick.venue.upper(), instrument, tick.mid, tick.ts,
        )
        await self.conn.execute(
            "INSERT INTO tick_history (instrument, ts, mid) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", instrument, tick.ts, tick.mid
        )
        await self.conn.execute(
            """DELETE FROM tick_history WHERE instrument = $1 AND ts < (
                 SELECT ts FROM tick_history WHERE instrument = $1 ORDER BY ts DESC OFFSET $2 LIMIT 1)""",
            instrument, keep,
        )
