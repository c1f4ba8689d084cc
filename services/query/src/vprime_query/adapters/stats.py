"""The dashboard's aggregates over the read models: venues, routes, agent performance."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from vprime_shared.contracts import Venue

DAYS_PER_YEAR = 365.0


def pct(part: float, total: float) -> float:
    return round(100.0 * part / total, 1) if total else 0.0


UNREALIZED_SQL = """
    SELECT coalesce(sum((coalesce(own.mid, anyv.mid, p.entry_price) - p.entry_price) * p.qty
                        * CASE WHEN p.side = 'LONG' THEN 1 ELSE -1 END), 0)
    FROM positions p
    LEFT JOIN prices own ON own.venue = p.venue AND own.instrument = p.instrument
    LEFT JOIN LATERAL (SELECT mid FROM prices x WHERE x.instrument = p.instrument ORDER BY ts DESC LIMIT 1) anyv ON true
    WHERE p.state = 'OPEN' {filter}
"""


async def unrealized(conn: asyncpg.Connection | asyncpg.Pool, agent_id: uuid.UUID | None = None) -> float:
    if agent_id is None:
        return float(await conn.fetchval(UNREALIZED_SQL.format(filter="")))
    return float(await conn.fetchval(UNREALIZED_SQL.format(filter="AND p.agent_id = $1"), agent_id))


async def venues(pool: asyncpg.Pool, agent_id: uuid.UUID | None) -> dict[str, Any]:
    args = (agent_id,)
    where = "WHERE ($1::uuid IS NULL OR agent_id = $1)"
    perf = await pool.fetch(f"""
        SELECT venue, count(*) AS positions, count(*) FILTER (WHERE state = 'OPEN') AS open,
               count(*) FILTER (WHERE state = 'CLOSED') AS closed, coalesce(sum(realized_pnl_usd), 0) AS total_pnl,
               avg(realized_pnl_usd) FILTER (WHERE state = 'CLOSED') AS avg_pnl,
               count(*) FILTER (WHERE state = 'CLOSED' AND realized_pnl_usd > 0) AS wins
        FROM positions {where} GROUP BY venue""", *args)
    away = await pool.fetch(f"""
        SELECT v AS venue, count(*) AS n FROM routing_decisions, unnest(failed_venues) AS v
        {where} AND attempt > 1 AND cardinality(failed_venues) > 0
          AND v = failed_venues[cardinality(failed_venues)] GROUP BY v""", *args)
    absorbed = await pool.fetch(f"""
        SELECT selected_venue AS venue, count(*) AS n FROM routing_decisions
        {where} AND attempt > 1 AND selected_venue IS NOT NULL GROUP BY selected_venue""", *args)
    by = {r["venue"]: r for r in perf}
    failed_from = {r["venue"]: r["n"] for r in away}
    took = {r["venue"]: r["n"] for r in absorbed}
    total_trades = sum(r["positions"] for r in perf)
    out = {}
    for venue in (v.value for v in Venue):
        r = by.get(venue)
        closed = r["closed"] if r else 0
        out[venue] = {
            "trades": r["positions"] if r else 0,
            "share_pct": pct(r["positions"] if r else 0, total_trades),
            "performance": {
                "positions": r["positions"] if r else 0, "open": r["open"] if r else 0, "closed": closed,
                "total_pnl_usd": round(float(r["total_pnl"]), 6) if r else 0.0,
                "avg_pnl_usd": round(float(r["avg_pnl"]), 6) if r and r["avg_pnl"] is not None else 0.0,
                "win_rate_pct": pct(r["wins"], closed) if r else 0.0,
            },
            "failovers": {"away_from": failed_from.get(venue, 0), "absorbed": took.get(venue, 0)},
        }
    return {"total_trades": total_trades, "venues": out}


async def routes(pool: asyncpg.Pool, agent_id: uuid.UUID | None, instrument: str | None, limit: int) -> list[dict[str, Any]]:
    """Per instrument, where intents went and how often the first candidate did not take them."""
    rows = await pool.fetch("""
        SELECT instrument, selected_venue, count(*) AS n,
               count(*) FILTER (WHERE selected_venue IS DISTINCT FROM checked_venues[1] OR attempt > 1) AS fallbacks
        FROM routing_decisions d
        WHERE ($1::uuid IS NULL OR agent_id = $1) AND ($2::text IS NULL OR instrument = $2)
          AND attempt = (SELECT max(attempt) FROM routing_decisions x WHERE x.intent_id = d.intent_id)
        GROUP BY instrument, selected_venue""", agent_id, instrument)
    by_instrument: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = by_instrument.setdefault(r["instrument"], {"instrument": r["instrument"], "total": 0, "fallbacks": 0, "venues": {}})
        entry["total"] += r["n"]
        entry["fallbacks"] += r["fallbacks"]
        entry["venues"][r["selected_venue"] or "NONE"] = {"count": r["n"]}
    out = []
    for entry in sorted(by_instrument.values(), key=lambda e: (-e["total"], e["instrument"]))[:limit]:
        for v in entry["venues"].values():
            v["share_pct"] = pct(v["count"], entry["total"])
        top = max(entry["venues"].items(), key=lambda kv: kv[1]["count"])[0]
        entry["fallback_pct"] = pct(entry["fallbacks"], entry["total"])
        entry["most_common_route"] = f"{entry['instrument']} → {top}, fallback {entry['fallback_pct']:.1f} %"
        out.append(entry)
    return out


async def agent_performance(pool: asyncpg.Pool, agent_id: uuid.UUID, now: datetime | None = None) -> dict[str, Any] | None:
    now = now or datetime.now(UTC)
    agent = await pool.fetchrow("SELECT agent_id, name, venue, status FROM agents WHERE agent_id = $1", agent_id)
    if agent is None:
        return None
    deployments = await pool.fetch("SELECT deployment_id, enabled_venues FROM deployments WHERE agent_id = $1", agent_id)
    positions = await pool.fetch(
        "SELECT deployment_id, venue, state, realized_pnl_usd, opened_at, closed_at, equity_usd FROM positions WHERE agent_id = $1", agent_id
    )
    capital = sum({r["deployment_id"]: r["equity_usd"] for r in positions}.values()) or 10_000.0 * max(len(deployments), 1)
    closed = [r for r in positions if r["state"] == "CLOSED" and r["closed_at"] is not None]
    realized = sum(r["realized_pnl_usd"] or 0.0 for r in closed)

    def apr(days: float | None, since: datetime | None) -> float | None:
        if since is None:
            return None
        window = [r for r in closed if r["closed_at"] >= since]
        span = max((now - since).total_seconds() / 86400, 1.0) if days is None else days
        return round(sum(r["realized_pnl_usd"] or 0.0 for r in window) / capital / span * DAYS_PER_YEAR * 100, 4)

    inception = min((r["opened_at"] for r in positions), default=None)
    sharpe = _sharpe(closed, capital, now)
    by_venue: dict[str, int] = {}
    for r in positions:
        by_venue[r["venue"]] = by_venue.get(r["venue"], 0) + 1
    venues_enabled = sorted({v for d in deployments for v in d["enabled_venues"]})
    return {
        "agent": {"id": str(agent["agent_id"]), "name": agent["name"], "venue": agent["venue"], "status": agent["status"],
                  "enabled_venues": venues_enabled, "multi_venue": len(venues_enabled) > 1},
        "capital_usd": capital,
        "pnl": {"realized_usd": round(realized, 6), "unrealized_usd": round(await unrealized(pool, agent_id), 6)},
        "apr_30d_pct": apr(30, now - timedelta(days=30)) if positions else None,
        "apr_90d_pct": apr(90, now - timedelta(days=90)) if positions else None,
        "apr_since_inception_pct": apr(None, inception),
        "sharpe_30d": sharpe,
        "positions": {"total": len(positions), "open": sum(1 for r in positions if r["state"] == "OPEN"), "closed": len(closed)},
        "trades_by_venue": by_venue,
    }


async def agents(pool: asyncpg.Pool, limit: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Agent cards: enabled venues (the multi-venue badge, in the global venue order), status, APR 30d/90d and Sharpe 30d
    (as `agent_performance` computes them, over positions closed in the last 90 days), open positions, realised PnL."""
    now = now or datetime.now(UTC)
    rows = await pool.fetch("""
        SELECT a.agent_id, a.name, a.venue, a.status, a.creator_wallet, a.updated_at,
               coalesce((SELECT array_agg(DISTINCT v) FROM deployments d, unnest(d.enabled_venues) v
                         WHERE d.agent_id = a.agent_id AND d.status = 'ACTIVE'), '{}') AS venues,
               (SELECT count(*) FROM deployments d WHERE d.agent_id = a.agent_id) AS deployments,
               (SELECT count(*) FROM positions p WHERE p.agent_id = a.agent_id) AS positions,
               (SELECT count(*) FROM positions p WHERE p.agent_id = a.agent_id AND p.state = 'OPEN') AS open,
               (SELECT coalesce(sum(realized_pnl_usd), 0) FROM positions p WHERE p.agent_id = a.agent_id) AS pnl,
               (SELECT sum(e) FROM (SELECT DISTINCT ON (deployment_id) equity_usd AS e FROM positions p
                                    WHERE p.agent_id = a.agent_id ORDER BY deployment_id, opened_at DESC) x) AS capital
        FROM agents a ORDER BY a.updated_at DESC LIMIT $1""", limit)
    closed = await pool.fetch("""
        SELECT agent_id, closed_at, realized_pnl_usd FROM positions
        WHERE state = 'CLOSED' AND closed_at >= $1 AND agent_id = ANY($2::uuid[])""",
        now - timedelta(days=90), [r["agent_id"] for r in rows])
    by_agent: dict[uuid.UUID, list[asyncpg.Record]] = {}
    for r in closed:
        by_agent.setdefault(r["agent_id"], []).append(r)
    order = [v.value for v in Venue]
    out = []
    for r in rows:
        capital = float(r["capital"] or 0) or 10_000.0 * max(r["deployments"], 1)
        mine = by_agent.get(r["agent_id"], [])
        out.append({
            "id": str(r["agent_id"]), "name": r["name"], "venue": r["venue"], "status": r["status"],
            "creator_wallet": r["creator_wallet"],
            "enabled_venues": sorted(r["venues"], key=order.index), "multi_venue": len(r["venues"]) > 1,
            "positions": r["positions"], "open_positions": r["open"], "realized_pnl_usd": round(float(r["pnl"]), 6),
            "apr_30d_pct": _apr(mine, capital, now, 30) if r["positions"] else None,
            "apr_90d_pct": _apr(mine, capital, now, 90) if r["positions"] else None,
            "sharpe_30d": _sharpe(mine, capital, now),
        })
    return out


def _apr(closed: list[Any], capital: float, now: datetime, days: int) -> float:
    since = now - timedelta(days=days)
    return round(sum(r["realized_pnl_usd"] or 0.0 for r in closed if r["closed_at"] >= since) / capital / days * DAYS_PER_YEAR * 100, 4)


def _sharpe(closed: list[Any], capital: float, now: datetime) -> float | None:
    """Annualised Sharpe of the last 30 days' daily realised returns; None with fewer than two trading days."""
    daily = [0.0] * 30
    for r in closed:
        age = (now - r["closed_at"]).days
        if 0 <= age < 30:
            daily[29 - age] += (r["realized_pnl_usd"] or 0.0) / capital
    mean = sum(daily) / 30
    std = math.sqrt(sum((d - mean) ** 2 for d in daily) / 29)
    return round(mean / std * math.sqrt(DAYS_PER_YEAR), 4) if std > 0 and sum(1 for d in daily if d != 0) >= 2 else None


async def venue_catalogs(pool: asyncpg.Pool, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every venue in the global order, with its catalog as last published (`UNKNOWN` before the first one)."""
    now = now or datetime.now(UTC)
    rows = {r["venue"]: r for r in await pool.fetch("SELECT * FROM venue_catalogs")}
    out = []
    for venue in (v.value for v in Venue):
        r = rows.get(venue)
        if r is None:
            out.append({"venue": venue, "status": "UNKNOWN", "pairs": None, "open_pairs": None, "short_pairs": None,
                        "asset_classes": {}, "median_taker_fee_bps": None, "max_leverage": None, "long_only": None,
                        "synced_at": None, "updated_at": None, "age_s": None, "error": None})
            continue
        out.append({
            "venue": venue, "status": r["status"], "pairs": r["pairs"], "open_pairs": r["open_pairs"],
            "short_pairs": r["short_pairs"], "asset_classes": r["asset_classes"] or {},
            "median_taker_fee_bps": r["median_taker_fee_bps"], "max_leverage": r["max_leverage"],
            "long_only": r["short_pairs"] == 0 if r["pairs"] else None,
            "synced_at": r["synced_at"].isoformat(), "updated_at": r["updated_at"].isoformat(),
            "age_s": round((now - r["updated_at"]).total_seconds(), 1), "error": r["error"],
        })
    return out


# Routing decision latency buckets (µs, upper bounds): a decision in memory takes tens of µs, one that waits on a
# venue's book or a failover far more.
LATENCY_EDGES_US = [25, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 50_000]


async def charts(pool: asyncpg.Pool, agent_id: uuid.UUID | None, hours: int, now: datetime | None = None) -> dict[str, Any]:
    """The dashboard's and an agent page's series over the last `hours`, in `POINTS` buckets: cumulative realised PnL
    (from everything closed before, so the curve starts where it stood) and routed decisions per venue; signals per
    hour; and the histogram of routing decision latency."""
    now = now or datetime.now(UTC)
    since = now - timedelta(hours=hours)
    bucket = timedelta(seconds=max(60, hours * 3600 // POINTS))
    args = (agent_id, since, bucket)
    async with pool.acquire() as conn:
        start_pnl = await conn.fetchval("""
            SELECT coalesce(sum(realized_pnl_usd), 0) FROM positions
            WHERE state = 'CLOSED' AND closed_at < $2 AND ($1::uuid IS NULL OR agent_id = $1)""", agent_id, since)
        pnl = await conn.fetch("""
            SELECT date_bin($3::interval, closed_at, $2) AS t, sum(realized_pnl_usd) AS pnl, count(*) AS n FROM positions
            WHERE state = 'CLOSED' AND closed_at >= $2 AND ($1::uuid IS NULL OR agent_id = $1) GROUP BY 1 ORDER BY 1""", *args)
        share = await conn.fetch("""
            SELECT date_bin($3::interval, decided_at, $2) AS t, coalesce(selected_venue, 'NONE') AS venue, count(*) AS n
            FROM routing_decisions WHERE decided_at >= $2 AND ($1::uuid IS NULL OR agent_id = $1) GROUP BY 1, 2 ORDER BY 1""", *args)
        signals = await conn.fetch("""
            SELECT date_trunc('hour', created_at) AS t, count(*) AS n FROM signals
            WHERE created_at >= $2 AND ($1::uuid IS NULL OR agent_id = $1) GROUP BY 1 ORDER BY 1""", agent_id, since)
        latency = await conn.fetch("""
            SELECT width_bucket(duration_us, $3::double precision[]) AS b, count(*) AS n FROM routing_decisions
            WHERE decided_at >= $2 AND strategy <> 'SETTLED' AND ($1::uuid IS NULL OR agent_id = $1) GROUP BY 1""",
            agent_id, since, [float(e) for e in LATENCY_EDGES_US])
    cumulative, pnl_points = float(start_pnl), []
    for r in pnl:
        cumulative += float(r["pnl"] or 0)
        pnl_points.append({"t": r["t"].isoformat(), "realized_usd": round(cumulative, 6), "closed": r["n"]})
    by_time: dict[datetime, dict[str, int]] = {}
    for r in share:
        by_time.setdefault(r["t"], {})[r["venue"]] = r["n"]
    counts = {r["b"]: r["n"] for r in latency}
    labels = [f"≤{e:,} µs" for e in LATENCY_EDGES_US] + [f">{LATENCY_EDGES_US[-1]:,} µs"]
    return {
        "since": since.isoformat(), "until": now.isoformat(), "bucket_s": int(bucket.total_seconds()),
        "pnl": {"start_usd": round(float(start_pnl), 6), "points": pnl_points},
        "venue_share": [{"t": t.isoformat(), **venues} for t, venues in sorted(by_time.items())],
        "signals_per_hour": [{"t": r["t"].isoformat(), "n": r["n"]} for r in signals],
        "latency_us": [{"bucket": label, "count": counts.get(i, 0)} for i, label in enumerate(labels)],
    }


POINTS = 96


async def deployments(pool: asyncpg.Pool, agent_id: uuid.UUID, wallet: str | None) -> list[dict[str, Any]]:
    """An agent's deployments as last projected; `wallet` (READ_ACCESS=token): the agent's creator sees all, another
    wallet its own."""
    rows = await pool.fetch("""
        SELECT d.deployment_id, d.user_wallet, d.status, d.enabled_venues, d.updated_at,
               (SELECT count(*) FROM positions p WHERE p.deployment_id = d.deployment_id AND p.state = 'OPEN') AS open,
               (SELECT coalesce(sum(realized_pnl_usd), 0) FROM positions p WHERE p.deployment_id = d.deployment_id) AS pnl
        FROM deployments d JOIN agents a USING (agent_id)
        WHERE d.agent_id = $1 AND ($2::text IS NULL OR lower(d.user_wallet) = $2 OR lower(a.creator_wallet) = $2)
        ORDER BY d.updated_at DESC""", agent_id, wallet)
    return [{"id": str(r["deployment_id"]), "user_wallet": r["user_wallet"], "status": r["status"],
             "enabled_venues": list(r["enabled_venues"]), "open_positions": r["open"],
             "realized_pnl_usd": round(float(r["pnl"]), 6), "updated_at": r["updated_at"].isoformat()} for r in rows]


async def positions(pool: asyncpg.Pool, *, agent_id: uuid.UUID | None, deployment_id: uuid.UUID | None, state: str | None,
                    limit: int, wallet: str | None) -> list[dict[str, Any]]:
    rows = await pool.fetch("""
        SELECT p.position_id, p.signal_id, p.agent_id, p.deployment_id, p.venue, p.venue_symbol, p.instrument, p.side,
               p.state, p.entry_price, p.exit_price, p.qty, p.notional_usd, p.leverage, p.fees_usd, p.realized_pnl_usd,
               p.close_reason, p.opened_at, p.closed_at
        FROM positions p
        WHERE ($1::uuid IS NULL OR p.agent_id = $1) AND ($2::uuid IS NULL OR p.deployment_id = $2)
          AND ($3::text IS NULL OR p.state = $3)
          AND ($5::text IS NULL
               OR p.deployment_id IN (SELECT deployment_id FROM deployments WHERE lower(user_wallet) = $5)
               OR p.agent_id IN (SELECT agent_id FROM agents WHERE lower(creator_wallet) = $5))
        ORDER BY p.opened_at DESC LIMIT $4""", agent_id, deployment_id, state, limit, wallet)
    return [{k: (str(v) if isinstance(v, uuid.UUID) else v.isoformat() if isinstance(v, datetime) else v)
             for k, v in r.items()} for r in rows]
