"""Latest prices from market.ticks.v1, kept in the executor's schema."""

from __future__ import annotations

import asyncpg

from vprime_shared.contracts import MarketTick

ANY_VENUE = "*"


class PriceBook:
    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self.conn = conn

    async def update(self, tick: MarketTick) -> None:
        # A tick is a fact about a time: an older one arriving late never overwrites a newer one.
        await self.conn.executemany(
            """INSERT INTO prices (venue, instrument, mid, ts) VALUES ($1, $2, $3, $4)
               ON CONFLICT (venue, instrument) DO UPDATE SET mid = EXCLUDED.mid, ts = EXCLUDED.ts
               WHERE prices.ts <= EXCLUDED.ts""",
            [(tick.venue.upper(), tick.instrument.upper(), tick.mid, tick.ts), (ANY_VENUE, tick.instrument.upper(), tick.mid, tick.ts)],
        )

    async def latest(self, venue: str, instrument: str) -> float | None:
        """The venue's own latest mid, else the freshest mid of any venue."""
        return await self.conn.fetchval(
            "SELECT mid FROM prices WHERE instrument = $2 AND venue IN ($1, $3) ORDER BY (venue = $1) DESC LIMIT 1",
            venue.upper(), instrument.upper(), ANY_VENUE,
        )
