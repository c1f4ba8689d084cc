from __future__ import annotations

import httpx
import pytest

from vprime_venues.execution import VenueUnavailable
from vprime_venues.hyperliquid.catalog import HyperliquidSync
from vprime_venues.ratelimit import RateBudget

from venues.tests.hyperliquid import shapes
from venues.tests.hyperliquid.conftest import BASE, no_sleep
from venues.tests.hyperliquid.fakes import FakeHyperliquid


@pytest.fixture
def catalog() -> HyperliquidSync:
    catalog = HyperliquidSync(BASE, budget=RateBudget(1_000_000))
    catalog.sleep = no_sleep
    return catalog


async def test_only_isolated_markets_are_marked(catalog: HyperliquidSync, http: httpx.AsyncClient) -> None:
    markets = {m.venue_symbol: m for m in await catalog.markets(http)}
    assert markets["HPOS"].only_isolated and markets["XYZ"].only_isolated  # onlyIsolated; marginMode strictIsolated
    assert not markets["ETH"].only_isolated and not markets["BTC"].only_isolated
    assert markets["LOOM"].is_delisted


async def test_impact_prices_are_not_bid_and_ask(catalog: HyperliquidSync, http: httpx.AsyncClient, fake: FakeHyperliquid) -> None:
    fake.ctxs = [shapes.asset_ctx(shapes.MIDS[a["name"]], shapes.MIDS[a["name"]], ("2990.0", "3010.0")) for a in fake.universe]
    eth = next(m for m in await catalog.markets(http) if m.venue_symbol == "ETH")
    assert eth.bid is None and eth.ask is None  # no book read yet: unknown, not the impact prices
    assert eth.mark_price == pytest.approx(3000.5)


async def test_bid_and_ask_come_from_the_book_that_was_read(catalog: HyperliquidSync, http: httpx.AsyncClient,
                                                            fake: FakeHyperliquid) -> None:
    fake.books["kPEPE"] = shapes.l2_book("kPEPE", [("0.012344", "1000"), ("0.01234", "5000")],
                                         [("0.012346", "2000"), ("0.01235", "8000")], 1_700_000_000_000)
    now = [50.0]
    catalog.clock = lambda: now[0]
    pepe = next(m for m in await catalog.markets(http) if m.venue_symbol == "kPEPE")
    book = await catalog.book(http, pepe)
    assert book.bids[0] == pytest.approx((0.000012344, 1_000_000)) and book.asks[1] == pytest.approx((0.00001235, 8_000_000))

    pepe = next(m for m in await catalog.markets(http) if m.venue_symbol == "kPEPE")
    assert pepe.bid == pytest.approx(0.000012344) and pepe.ask == pytest.approx(0.000012346)
    now[0] += 31  # the book read is too old to quote from
    pepe = next(m for m in await catalog.markets(http) if m.venue_symbol == "kPEPE")
    assert pepe.bid is None and pepe.ask is None


async def test_reads_spend_their_documented_weights(http: httpx.AsyncClient, fake: FakeHyperliquid) -> None:
    budget = RateBudget(60_000, burst=1_000, clock=lambda: 0.0, sleep=no_sleep)
    catalog = HyperliquidSync(BASE, budget=budget)
    fake.books["ETH"] = shapes.l2_book("ETH", [("3000.0", "1.0")], [("3001.0", "1.0")], 1_700_000_000_000)
    eth = next(m for m in await catalog.markets(http) if m.venue_symbol == "ETH")
    assert budget.available == 1_000 - 20
    await catalog.book(http, eth)
    assert budget.available == 1_000 - 20 - 2


async def test_a_throttled_catalog_read_is_retried_then_unavailable(catalog: HyperliquidSync, http: httpx.AsyncClient,
                                                                    fake: FakeHyperliquid) -> None:
    fake.throttle["metaAndAssetCtxs"] = 1
    assert await catalog.markets(http)
    fake.throttle["metaAndAssetCtxs"] = 99
    with pytest.raises(VenueUnavailable):
        await catalog.markets(http)
