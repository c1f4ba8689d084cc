"""SPOT's catalog from the chain: markets are the listed tokens with a USDC pool, priced from the pool; depth is the
pool's own quotes, so walking the book for a size gives what a swap of that size gets."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from vprime_shared.contracts import Side
from vprime_venues.execution import VenueUnavailable
from vprime_venues.spot.catalog import SpotSync, ladder_levels

from venues.tests.spot.conftest import PRICES, TOKEN_LIST_URL, an_order, cid, funded_signer, spot_venue


def sync_for(chain) -> SpotSync:
    _, d = chain
    return SpotSync(TOKEN_LIST_URL, d.rpc_url, factory=d.contracts["uniswap_factory"], quoter=d.contracts["uniswap_quoter"],
                    usdc=d.tokens["USDC"].address)


async def test_markets_are_the_listed_tokens_with_a_pool(chain, http: httpx.AsyncClient) -> None:
    markets = {m.venue_symbol: m for m in await sync_for(chain).markets(http)}
    assert set(markets) == set(PRICES)  # USDC is the quote, not a market; the other chain's WETH is not listed here
    weth = markets["WETH"]
    assert (weth.instrument, weth.asset_class, weth.max_leverage, weth.supports_short) == ("ETH", "crypto", 1.0, False)
    assert weth.taker_fee_bps == weth.maker_fee_bps == 30.0
    assert markets["WBTC"].instrument == "BTC"
    for symbol, price in PRICES.items():
        assert markets[symbol].mark_price == pytest.approx(float(price), rel=0.002)  # other tests trade these pools


async def test_the_book_walks_to_what_a_swap_of_that_size_gets(chain, http: httpx.AsyncClient) -> None:
    sync = sync_for(chain)
    [link] = [m for m in await sync.markets(http) if m.venue_symbol == "LINK"]
    book = await sync.book(http, link)
    assert len(book.asks) == len(book.bids) == 5
    assert book.asks[0][0] == pytest.approx(link.mark_price, rel=0.0001)
    assert [p for p, _ in book.asks] == sorted(p for p, _ in book.asks)  # dearer as it goes
    assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
    # $50M a side, full range: a $100k buy moves the price 2 · 100k / 50M = 40 bps and pays half that on average.
    assert book.impact_bps(Side.LONG, 100_000) == pytest.approx(20, rel=0.05)
    # The walk's average for $10,000 is what the swap of $10,000 fills at.
    expected = book.asks[0][0] * (1 + book.impact_bps(Side.LONG, 10_000) / 10_000)
    signer = await funded_signer(chain, usdc="20000")
    fill = await spot_venue(chain, http).place(signer, an_order("LINK"), 10_000.0, cid())
    assert fill.price == pytest.approx(expected, rel=0.0002)
    assert book.impact_bps(Side.LONG, 5_000_000) is None  # beyond the ladder: too thin to say


async def test_without_a_chain_the_venue_is_unavailable(http: httpx.AsyncClient) -> None:
    sync = SpotSync(TOKEN_LIST_URL, "", factory="0x" + "11" * 20, quoter="0x" + "22" * 20, usdc="0x" + "33" * 20)
    with pytest.raises(VenueUnavailable, match="ARBITRUM_RPC_URL"):
        await sync.markets(http)


def test_levels_are_what_lies_between_two_rungs() -> None:
    rungs = [(Decimal(100), Decimal(1)), (Decimal(1_000), Decimal("9.9")), (Decimal(10_000), Decimal(98))]
    assert ladder_levels(rungs) == [(100.0, 1.0), (pytest.approx(900 / 8.9), pytest.approx(8.9)),
                                    (pytest.approx(9_000 / 88.1), pytest.approx(88.1))]
    assert ladder_levels([(Decimal(100), Decimal(1)), (Decimal(100), Decimal(1))]) == [(100.0, 1.0)]
