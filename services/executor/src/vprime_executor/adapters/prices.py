"""Latest prices from market.ticks.v1, kept in the executor's schema."""

from __future__ import annotations

from collections.abc import Iterable

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
        return await (await self.snapshot([(venue, instrument)])).latest(venue, instrument)

    async def snapshot(self, wanted: Iterable[tuple[str, str]]) -> PriceSnapshot:
        """`latest` for several (venue, instrument) pairs, read in one query: for a batch of orders at once."""
        pairs = {(v.upper(), i.upper()) for v, i in wanted}
        if not pairs:
            return PriceSnapshot({})
        rows = await self.conn.fetch(
            """SELECT DISTINCT ON (w.venue, w.instrument) w.venue, w.instrument, p.mid
               FROM unnest($1::text[], $2::text[]) AS w(venue, instrument)
               JOIN prices p ON p.instrument = w.instrument AND p.venue IN (w.venue, $3)
               ORDER BY w.venue, w.instrument, (p.venue = w.venue) DESC""",
            [v for v, _ in pairs], [i for _, i in pairs], ANY_VENUE,
        )
        return PriceSnapshot({(r["venue"], r["instrument"]): r["mid"] for r in rows})


class PriceSnapshot:
    """Prices read once for a batch of orders; answers `latest` as the book did when it was read."""

    def __init__(self, mids: dict[tuple[str, str], float]) -> None:
        self.mids = mids

    async def latest(self, venue: str, instrument: str) -> float | None:
        return self.mids.get((venue.upper(), instrument.upper()))
