"""A deployment's risk state, as policy sees it: rebuilt from positions.v1 and its own approvals."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta


@dataclass(frozen=True)
class Close:
    closed_at: datetime
    realized_pnl_usd: float


@dataclass(frozen=True)
class RiskState:
    open_positions: int = 0
    pending_entries: int = 0  # approved, not yet open or given up on (in flight through routing and execution)
    exposure_pct: float = 0.0  # sizes of open positions and pending entries, % of equity
    last_entry: dict[str, datetime] = field(default_factory=dict)  # per instrument
    equity_usd: float = 10_000.0  # the account's equity at the start of the closes below
    closes: list[Close] = field(default_factory=list)  # since the last resume, oldest first

    @property
    def busy_slots(self) -> int:
        return self.open_positions + self.pending_entries

    def with_entry(self, instrument: str, size_pct: float, at: datetime) -> RiskState:
        """The state once an approved entry is pending: what the next decision for the deployment sees."""
        return replace(self, pending_entries=self.pending_entries + 1, exposure_pct=self.exposure_pct + size_pct,
                       last_entry={**self.last_entry, instrument: at})


def utc_midnight(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)


def realized_today(state: RiskState, now: datetime) -> float:
    start = utc_midnight(now)
    return sum(c.realized_pnl_usd for c in state.closes if c.closed_at >= start)


def last_drawdown_breach(state: RiskState, limit_pct: float) -> datetime | None:
    """When the equity curve (from closes) last stood `limit_pct` or more below its peak."""
    equity = peak = state.equity_usd
    breach = None
    for close in state.closes:
        equity += close.realized_pnl_usd
        peak = max(peak, equity)
        if peak > 0 and (peak - equity) / peak * 100 >= limit_pct:
            breach = close.closed_at
    return breach


def pending_cutoff(now: datetime, ttl: timedelta) -> datetime:
    return now - ttl
