"""Query projects each venue's market catalog (`market.catalog.v1`): the pair counts and status a user sees when
choosing venues to deploy on, as the router last published them."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import httpx
import pytest

from tests.conftest import eventually
from tests.e2e.helpers import rolled_back_schema
from vprime_shared.contracts import CatalogStatus, MarketCatalog, Venue
from vprime_shared.contracts.base import utcnow
from vprime_shared.contracts.routing import CatalogMarket
from vprime_shared.unit_of_work import Tx

from vprime_query import projections

pytestmark = pytest.mark.integration

conn = rolled_back_schema("query", json_codec=True)


async def latest_catalogs(admin_db: asyncpg.Pool) -> dict[str, MarketCatalog]:
    """The router's last good catalog of each venue, read back from its outbox."""
    rows = await admin_db.fetch("SELECT payload FROM router.outbox WHERE topic = $1 ORDER BY id DESC LIMIT 200", MarketCatalog.TOPIC)
    found: dict[str, MarketCatalog] = {}
    for r in rows:
        event = MarketCatalog.model_validate_json(r["payload"])
        if event.status == CatalogStatus.OK:
            found.setdefault(event.venue.value, event)
    return found


async def test_every_venue_shows_its_pair_count_and_status(query_url: str, admin_db: asyncpg.Pool) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        async def all_synced() -> list[dict] | None:
            venues = (await client.get(f"{query_url}/api/v3/venues")).json()["venues"]
            return venues if all(v["status"] == "OK" and v["pairs"] for v in venues) else None

        venues = await eventually(all_synced, what="query to project every venue's catalog")
    assert [v["venue"] for v in venues] == [v.value for v in Venue]  # the global order
    published = await latest_catalogs(admin_db)
    for v in venues:
        listed = [m for m in published[v["venue"]].markets if not m.is_delisted]
        assert v["pairs"] == len(listed), v
        assert sum(v["asset_classes"].values()) == len(listed)
        assert v["age_s"] is not None and v["age_s"] < 60
    by = {v["venue"]: v for v in venues}
    assert by["SPOT"]["long_only"] is True and by["HYPERLIQUID"]["long_only"] is False
    assert by["HYPERLIQUID"]["pairs"] > by["OSTIUM"]["pairs"]  # ~200 perps against ~40 synthetics, as the fixture lists


def market(symbol: str, **overrides: object) -> CatalogMarket:
    return CatalogMarket(**{"venue_symbol": symbol, "instrument": symbol, "asset_class": "crypto", "max_leverage": 20,
                            "taker_fee_bps": 4.5, **overrides})


async def test_a_degraded_sync_keeps_the_last_counts_and_an_older_catalog_changes_nothing(conn: asyncpg.Connection) -> None:
    now = utcnow()
    good = MarketCatalog(venue=Venue.GMX, status=CatalogStatus.OK, synced_at=now, occurred_at=now,
                         markets=[market("ETH"), market("BTC", max_leverage=50, is_open=False), market("OLD", is_delisted=True)])
    failed = MarketCatalog(venue=Venue.GMX, status=CatalogStatus.DEGRADED, synced_at=now, occurred_at=now + timedelta(seconds=5),
                           error="ConnectError: venue unreachable")
    stale = MarketCatalog(venue=Venue.GMX, status=CatalogStatus.OK, synced_at=now - timedelta(minutes=5),
                          occurred_at=now - timedelta(minutes=5), markets=[market("ETH")])
    await conn.execute("DELETE FROM venue_catalogs WHERE venue = 'GMX'")  # rolled back with the test's transaction
    for event in (good, failed, stale):
        async with Tx.on(conn) as tx:
            projections.catalog(tx, event)
    row = dict(await conn.fetchrow("SELECT * FROM venue_catalogs WHERE venue = 'GMX'"))
    assert (row["status"], row["error"], row["updated_at"]) == ("DEGRADED", "ConnectError: venue unreachable", failed.occurred_at)
    assert (row["pairs"], row["open_pairs"], row["short_pairs"], row["max_leverage"]) == (2, 1, 2, 50)
    assert row["asset_classes"] == {"crypto": 2}
