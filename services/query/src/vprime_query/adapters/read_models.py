"""Queries over the read models (the `query` schema)."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from vprime_shared.contracts import Venue

from vprime_query.adapters.stats import pct, unrealized


SIGNAL_COLUMNS = """s.signal_id AS id, s.agent_id, s.instrument AS token_symbol, s.side, s.confidence, s.requested_venue,
    s.origin, s.size_model, s.risk_model, s.drive, st.status, s.created_at, s.source_tweets, s.source_research, s.score,
    (SELECT selected_venue FROM routing_decisions d WHERE d.signal_id = s.signal_id AND selected_venue IS NOT NULL
     ORDER BY decided_at LIMIT 1) AS final_venue"""


class BadCursor(ValueError):
    pass


class NotYours(PermissionError):
    """A restricted read of data that belongs to other wallets (403)."""


# What a wallet may read under READ_ACCESS=token: the deployments it trades for, and every deployment of the agents it
# created. `{wallet}` is the statement's parameter holding the lower-case wallet (NULL: no limit).
VISIBLE_TO = """({wallet}::text IS NULL
     OR {alias}deployment_id IN (SELECT deployment_id FROM deployments WHERE lower(user_wallet) = {wallet})
     OR {alias}agent_id IN (SELECT agent_id FROM agents WHERE lower(creator_wallet) = {wallet}))"""


def encode_cursor(created_at: datetime, signal_id: str | uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{signal_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        stamp, signal_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(stamp), uuid.UUID(signal_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor(f"cursor {cursor!r} is not one this API gave out") from exc


def _pct(part: int, total: int) -> str:
    """The seed's percentage strings ("79.2"), and "0.0" rather than NaN when there is nothing yet."""
    return f"{(100.0 * part / total) if total else 0.0:.1f}"


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _row(record: asyncpg.Record) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, uuid.UUID) else _iso(v)) for k, v in record.items()}


class ReadModels:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def overview(self) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            agents = await conn.fetch("SELECT status, count(*) AS n FROM agents GROUP BY status")
            deployments = await conn.fetch("SELECT status, count(*) AS n FROM deployments GROUP BY status")
            signals = await conn.fetch("SELECT status, count(*) AS n FROM signal_status GROUP BY status")
            positions = await conn.fetchrow(
                """SELECT count(*) AS total, count(*) FILTER (WHERE state = 'OPEN') AS open,
                          count(*) FILTER (WHERE state = 'CLOSED') AS closed,
                          coalesce(sum(realized_pnl_usd), 0) AS realized_pnl_usd FROM positions"""
            )
            routing = await conn.fetch(
                """SELECT coalesce(selected_venue, 'NONE') AS venue, count(*) AS n, avg(duration_ms) AS avg_ms,
                          percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms
                   FROM routing_decisions GROUP BY 1"""
            )
            unrealized_pnl = await unrealized(conn)
            timing = await conn.fetchrow(
                """SELECT coalesce(avg(duration_ms), 0) AS avg_ms,
                          coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms), 0) AS p95_ms
                   FROM routing_decisions WHERE strategy <> 'SETTLED'"""  # a give-up record is not a timed decision
            )
            rejections = await conn.fetch(
                """SELECT r->>'rule' AS rule, count(*) AS n FROM intents, jsonb_array_elements(reasons) r
                   WHERE status = 'REJECTED' GROUP BY 1 ORDER BY 2 DESC"""
            )
        by_agent = {r["status"]: r["n"] for r in agents}
        by_deployment = {r["status"]: r["n"] for r in deployments}
        by_signal = {r["status"]: r["n"] for r in signals}
        by_venue = {r["venue"]: r["n"] for r in routing}
        routed_total = sum(by_venue.values())
        return {
            "agents": {"total": sum(by_agent.values()), "active": by_agent.get("ACTIVE", 0), "by_status": by_agent},
            "deployments": {"total": sum(by_deployment.values()), "active": by_deployment.get("ACTIVE", 0)},
            "signals": {
                "total": sum(by_signal.values()),
                **{s.lower(): by_signal.get(s, 0) for s in ("PENDING", "ROUTED", "EXECUTED", "FAILED", "SKIPPED", "REJECTED")},
            },
            "positions": {
                "total": positions["total"],
                "open": positions["open"],
                "closed": positions["closed"],
                "realized_pnl_usd": float(positions["realized_pnl_usd"]),
                "unrealized_pnl_usd": round(unrealized_pnl, 6),
            },
            "routing": {
                "total": routed_total,
                **{v.value.lower(): by_venue.get(v.value, 0) for v in Venue},
                "no_venue": by_venue.get("NONE", 0),
                "avg_duration_ms": round(float(timing["avg_ms"]), 3),
                "p95_duration_ms": round(float(timing["p95_ms"]), 3),
                "by_venue": {
                    r["venue"]: {"count": r["n"], "share_pct": pct(r["n"], routed_total), "avg_ms": round(float(r["avg_ms"]), 4),
                                 "p95_ms": round(float(r["p95_ms"]), 4)}
                    for r in routing
                },
            },
            "rejections_by_rule": {r["rule"]: r["n"] for r in rejections},
        }

    async def routing_history(self, *, token_symbol: str | None, selected_venue: str | None, agent_id: uuid.UUID | None,
                              deployment_id: uuid.UUID | None, limit: int, offset: int, strategy: str | None = None,
                              outcome: str | None = None, since: datetime | None = None, until: datetime | None = None,
                              cursor: str | None = None, wallet: str | None = None) -> dict[str, Any]:
        """`wallet`: only what that wallet may read (READ_ACCESS=token)."""
        where = """WHERE ($1::text IS NULL OR instrument = $1)
                     AND ($2::text IS NULL OR coalesce(selected_venue, 'NONE') = $2)
                     AND ($3::uuid IS NULL OR agent_id = $3)
                     AND ($4::uuid IS NULL OR deployment_id = $4)
                     AND ($5::text IS NULL OR strategy = $5)
                     AND ($6::text IS NULL OR ($6 = 'routed') = (selected_venue IS NOT NULL))
                     AND ($7::timestamptz IS NULL OR decided_at >= $7)
                     AND ($8::timestamptz IS NULL OR decided_at < $8)
                     AND """ + VISIBLE_TO.format(wallet="$9", alias="")
        args = (token_symbol, selected_venue, agent_id, deployment_id, strategy, outcome, since, until, wallet)
        after = decode_cursor(cursor) if cursor else None
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"""SELECT decision_id, signal_id, intent_id, agent_id, deployment_id, instrument AS token_symbol, side,
                           requested_venue, selected_venue, reason AS routing_reason, checked_venues, venue_availability,
                           strategy, attempt, failed_venues, costs, duration_ms AS routing_duration_ms,
                           duration_us AS routing_duration_us, decided_at AS created_at
                    FROM routing_decisions {where}
                      AND ($12::timestamptz IS NULL OR (decided_at, decision_id) < ($12, $13::uuid))
                    ORDER BY decided_at DESC, decision_id DESC LIMIT $10 OFFSET $11""",
                *args, limit + 1, offset, after[0] if after else None, after[1] if after else None,
            )
            counts = await conn.fetch(
                f"SELECT coalesce(selected_venue, 'NONE') AS venue, count(*) AS n FROM routing_decisions {where} GROUP BY 1", *args
            )
        by_venue = {r["venue"]: r["n"] for r in counts}
        total = sum(by_venue.values())
        summary: dict[str, Any] = {"total": total}
        for name in [v.value for v in Venue] + ["NONE"]:
            key = "no_venue" if name == "NONE" else name.lower()
            summary[key] = by_venue.get(name, 0)
            summary[f"{key}_pct"] = _pct(by_venue.get(name, 0), total)
        page = rows[:limit]
        next_cursor = encode_cursor(page[-1]["created_at"], page[-1]["decision_id"]) if len(rows) > limit else None
        return {"history": [_row(r) for r in page], "summary": summary, "limit": limit, "offset": offset, "next_cursor": next_cursor}

    async def signals(self, *, agent_id: uuid.UUID | None, token_symbol: str | None, side: str | None,
                      since: datetime | None, until: datetime | None, limit: int, cursor: str | None,
                      wallet: str | None = None) -> dict[str, Any]:
        """Signals newest first with their evidence; keyset pagination on (created_at, signal_id). `wallet`: only
        the signals of agents it created or follows (READ_ACCESS=token)."""
        after = decode_cursor(cursor) if cursor else None
        rows = await self.pool.fetch(
            f"""SELECT {SIGNAL_COLUMNS}
                FROM signals s JOIN signal_status st USING (signal_id)
                WHERE ($1::uuid IS NULL OR s.agent_id = $1) AND ($2::text IS NULL OR s.instrument = $2)
                  AND ($3::text IS NULL OR s.side = $3) AND ($4::timestamptz IS NULL OR s.created_at >= $4)
                  AND ($5::timestamptz IS NULL OR s.created_at < $5)
                  AND ($6::timestamptz IS NULL OR (s.created_at, s.signal_id) < ($6, $7::uuid))
                  AND ($9::text IS NULL
                       OR s.agent_id IN (SELECT agent_id FROM deployments WHERE lower(user_wallet) = $9)
                       OR s.agent_id IN (SELECT agent_id FROM agents WHERE lower(creator_wallet) = $9))
                ORDER BY s.created_at DESC, s.signal_id DESC LIMIT $8""",
            agent_id, token_symbol, side, since, until, after[0] if after else None, after[1] if after else None, limit + 1,
            wallet,
        )
        page = rows[:limit]
        next_cursor = encode_cursor(page[-1]["created_at"], page[-1]["id"]) if len(rows) > limit else None
        return {"signals": [_row(r) for r in page], "count": len(page), "next_cursor": next_cursor}

    async def timeline(self, signal_id: uuid.UUID, *, wallet: str | None = None) -> dict[str, Any] | None:
        """`wallet`: its agent's creator reads it whole, a follower the parts of its own deployments, others nothing
        (`NotYours`)."""
        async with self.pool.acquire() as conn:
            signal = await conn.fetchrow(
                f"SELECT {SIGNAL_COLUMNS} FROM signals s JOIN signal_status st USING (signal_id) WHERE s.signal_id = $1",
                signal_id,
            )
            if signal is None:
                return None
            visible = await self._visible_deployments(conn, signal["agent_id"], wallet) if wallet is not None else None
            intents = await conn.fetch(
                "SELECT * FROM intents WHERE signal_id = $1 ORDER BY decided_at, intent_id", signal_id
            )
            decisions = await conn.fetch(
                "SELECT * FROM routing_decisions WHERE signal_id = $1 ORDER BY decided_at, decision_id", signal_id
            )
            orders = await conn.fetch("SELECT * FROM orders WHERE signal_id = $1 ORDER BY created_at, order_id", signal_id)
            positions = await conn.fetch("SELECT * FROM positions WHERE signal_id = $1 ORDER BY opened_at, position_id", signal_id)
        def seen(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
            return [_row(r) for r in rows if visible is None or r["deployment_id"] in visible]

        return {
            "signal": _row(signal),
            "intents": seen(intents),
            "routing_decisions": seen(decisions),
            "orders": seen(orders),
            "positions": seen(positions),
        }

    async def visible_to(self, wallet: str) -> tuple[set[str], set[str]]:
        """The agents the wallet created and the deployments it trades for, as text ids."""
        rows = await self.pool.fetch(
            """SELECT 'agent' AS kind, agent_id::text AS id FROM agents WHERE lower(creator_wallet) = $1
               UNION ALL SELECT 'deployment', deployment_id::text FROM deployments WHERE lower(user_wallet) = $1""",
            wallet,
        )
        return {r["id"] for r in rows if r["kind"] == "agent"}, {r["id"] for r in rows if r["kind"] == "deployment"}

    @staticmethod
    async def _visible_deployments(conn: asyncpg.Connection, agent_id: uuid.UUID, wallet: str) -> set[uuid.UUID] | None:
        """None: all (the wallet created the agent); else the wallet's own deployments of it, at least one."""
        if await conn.fetchval("SELECT lower(creator_wallet) = $2 FROM agents WHERE agent_id = $1", agent_id, wallet):
            return None
        own = {r["deployment_id"] for r in await conn.fetch(
            "SELECT deployment_id FROM deployments WHERE agent_id = $1 AND lower(user_wallet) = $2", agent_id, wallet)}
        if not own:
            raise NotYours(f"agent {agent_id} is not {wallet}'s and {wallet} follows it with no deployment")
        return own
