"""A circuit breaker per venue. Pure state: the clock is passed in.

CLOSED counts consecutive failures (retryable execution failures, failed syncs); at the threshold it
OPENS and the venue takes nothing for `open_for`. Then it is HALF_OPEN: one probe at a time may go
through; a success CLOSES it, a failure OPENS it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass
class CircuitBreaker:
    threshold: int = 3
    open_for: timedelta = timedelta(seconds=30)
    failures: int = 0
    opened_at: datetime | None = None
    probing_since: datetime | None = None
    last_error: str = ""

    def state(self, now: datetime) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if now - self.opened_at < self.open_for:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def allows(self, now: datetime) -> bool:
        """May the venue take an order now? In HALF_OPEN, one probe at a time (a stuck probe expires)."""
        state = self.state(now)
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        return self.probing_since is None or now - self.probing_since > self.open_for

    def probe(self, now: datetime) -> None:
        if self.state(now) is BreakerState.HALF_OPEN:
            self.probing_since = now

    def record_failure(self, now: datetime, error: str) -> None:
        self.failures += 1
        self.last_error = error
        self.probing_since = None
        if self.state(now) is BreakerState.HALF_OPEN or self.failures >= self.threshold:
            self.opened_at = now

    def persisted(self) -> tuple[int, datetime | None, str]:
        """What the router keeps of a breaker across restarts."""
        return self.failures, self.opened_at, self.last_error

    def record_success(self) -> None:
        self.failures, self.opened_at, self.probing_since, self.last_error = 0, None, None, ""

    def describe(self, now: datetime) -> str:
        state = self.state(now)
        if state is BreakerState.OPEN:
            assert self.opened_at is not None
            left = (self.open_for - (now - self.opened_at)).total_seconds()
            return f"circuit open after {self.failures} failures ({self.last_error}); retry in {left:.0f}s"
        if state is BreakerState.HALF_OPEN:
            return "circuit half-open: a probe is in flight"
        return "healthy"
