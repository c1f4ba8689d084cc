"""Ostium's catalog on responses in the venue's documented shapes, with figures worked out by hand."""

from __future__ import annotations

import json

import httpx
import pytest

from vprime_venues.ostium.catalog import OstiumSync

from venues.tests.ostium import shapes

SUBGRAPH, PRICES = "https://subgraph.test/gn", "https://prices.test/PricePublish/latest-prices"


@pytest.fixture
def seen() -> list[httpx.Request]:
    return []


@pytest.fixture
def http(seen: list[httpx.Request]) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if str(request.url) == SUBGRAPH:
            return httpx.Response(200, json=shapes.PAIRS)
        return httpx.Response(200, json=shapes.PRICES)
    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


async def test_pairs_scaled_as_the_sdk_scales_them(http: httpx.AsyncClient, seen: list[httpx.Request]) -> None:
    catalog = OstiumSync(SUBGRAPH, PRICES)
    btc, eur = await catalog.markets(http)
    query = json.loads(seen[0].content)["query"]
    assert "isDelisted" not in query  # not a field the venue serves
    # BTC: group maxLeverage 0, so the pair's 5000 (PRECISION_2) = 50x; takerFeeP 100,000 (PRECISION_6 %) = 0.1 % = 10 bps.
    assert (btc.venue_symbol, btc.instrument, btc.asset_class) == ("BTC-USD", "BTC", "crypto")
    assert (btc.max_leverage, btc.taker_fee_bps, btc.maker_fee_bps) == (50.0, 10.0, 3.0)
    assert btc.min_notional_usd == 5.0  # minLevPos 5,000,000 USDC units
    # curFundingLong 10,950,000,000 / 1e9 = 10.95 % a year = 0.1095 / 8,760 h = 0.0000125 an hour.
    assert btc.funding_rate_hourly == pytest.approx(0.0000125, rel=1e-12)
    assert (btc.bid, btc.mark_price, btc.ask, btc.is_open, btc.keeps_market_hours) == (59994.0, 60000.0, 60006.0, True, False)
    # EUR: the forex group's 10000 overrides the pair's 5000: 100x. Rollover 2.19 % a year = 0.0000025 an hour.
    assert (eur.instrument, eur.asset_class, eur.max_leverage, eur.taker_fee_bps) == ("EURUSD", "fx", 100.0, 3.0)
    assert eur.min_notional_usd == 25.0 and eur.funding_rate_hourly == pytest.approx(0.0000025, rel=1e-12)
    assert (eur.is_open, eur.keeps_market_hours, eur.is_delisted) == (False, True, False)


async def test_depth_is_the_room_under_the_open_interest_cap(http: httpx.AsyncClient) -> None:
    catalog = OstiumSync(SUBGRAPH, PRICES)
    btc, eur = await catalog.markets(http)
    book = await catalog.book(http, btc)
    # maxOI $1,000,000; longs 5 BTC x 60,000 = $300,000 -> $700,000 of room to buy at the ask;
    # shorts 2 BTC = $120,000 -> $880,000 to sell at the bid.
    assert book.asks == [(60006.0, pytest.approx(700_000 / 60006))]
    assert book.bids == [(59994.0, pytest.approx(880_000 / 59994))]
    empty = await catalog.book(http, eur)  # a cap of 0: nothing to take
    assert (empty.bids, empty.asks) == ([], [])
