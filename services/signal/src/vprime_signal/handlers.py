"""Agent What's intake: keep the context each agent's scoring will read. Scoring publishes signals.v1."""

from __future__ import annotations

from vprime_shared.contracts import AgentState, MarketTick, Post, Research
from vprime_shared.unit_of_work import Tx


async def agent_changed(tx: Tx, agent: AgentState) -> None:
    await tx.conn.execute(
        """INSERT INTO agents (agent_id, status, x_account_ids, research_institute_ids, weights, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6)
           ON CONFLICT (agent_id) DO UPDATE SET status = EXCLUDED.status, x_account_ids = EXCLUDED.x_account_ids,
             research_institute_ids = EXCLUDED.research_institute_ids, weights = EXCLUDED.weights, updated_at = EXCLUDED.updated_at
           WHERE agents.updated_at <= EXCLUDED.updated_at""",
        agent.agent_id, agent.status.value, agent.x_account_ids, agent.research_institute_ids, agent.weights, agent.occurred_at,
    )


async def post_received(tx: Tx, post: Post) -> None:
    await tx.conn.execute(
        """INSERT INTO posts (post_id, account_id, author_handle, text, posted_at) VALUES ($1,$2,$3,$4,$5)
           ON CONFLICT (post_id) DO NOTHING""",
        post.post_id, post.account_id, post.author_handle, post.text, post.posted_at,
    )


async def research_received(tx: Tx, note: Research) -> None:
    await tx.conn.execute(
        """INSERT INTO research (research_id, institute_id, instrument, side, conviction, text, published_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (research_id) DO NOTHING""",
        note.research_id, note.institute_id, note.instrument, note.side.value if note.side else None, note.conviction,
        note.text, note.published_at,
    )


async def tick_received(tx: Tx, tick: MarketTick) -> None:
    await tx.conn.execute(
        """INSERT INTO ticks (venue, instrument, mid, ts) VALUES ($1,$2,$3,$4)
           ON CONFLICT (venue, instrument) DO UPDATE SET mid = EXCLUDED.mid, ts = EXCLUDED.ts WHERE ticks.ts <= EXCLUDED.ts""",
        tick.venue.upper(), tick.instrument.upper(), tick.mid, tick.ts,
    )
