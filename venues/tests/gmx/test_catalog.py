"""The catalog on responses in the Oracle API's documented shapes (docs: api/rest-api/oracle-prices and markets;
SDK `Oracle.getTokens` / `getTickers`): per-token decimals, funding as an annual rate x 10^30, several markets per
index token kept apart, leverage from the min collateral factor, depth from the venue's liquidity."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from vprime_venues.gmx.catalog import GmxSync

USDC = "0xaf88d065e77c8cC2239327C5EDb3A432268e5831"
WETH = "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1"
WBTC = "0x2f2a2543B76A4166549F7aaB2e75Bef0aefC5B0f"
XRP = "0xc14e065b0067dE91534e032868f5Ac6ecf2c6868"
TOKENS = {"tokens": [
    {"symbol": "ETH", "address": WETH, "decimals": 18, "synthetic": False},
    {"symbol": "BTC", "address": WBTC, "decimals": 8, "synthetic": False},
    {"symbol": "XRP", "address": XRP, "decimals": 6, "synthetic": True},
    {"symbol": "USDC", "address": USDC, "decimals": 6, "synthetic": False},
]}
TICKERS = [
    {"tokenAddress": WETH, "tokenSymbol": "ETH", "minPrice": str(2999 * 10**12), "maxPrice": str(3001 * 10**12), "updatedAt": 1},
    {"tokenAddress": WBTC, "tokenSymbol": "BTC", "minPrice": str(59990 * 10**22), "maxPrice": str(60010 * 10**22), "updatedAt": 1},
    {"tokenAddress": XRP, "tokenSymbol": "XRP", "minPrice": str(4999 * 10**20), "maxPrice": str(5001 * 10**20), "updatedAt": 1},
]


def market(name: str, token: str, index: str, long: str, short: str, funding_annual: str = "0", liquidity_usd: int = 0) -> dict:
    return {"name": name, "marketToken": token, "indexToken": index, "longToken": long, "shortToken": short, "isListed": True,
            "listingDate": "2023-08-01T00:00:00.000Z", "openInterestLong": "0", "openInterestShort": "0",
            "availableLiquidityLong": str(liquidity_usd * 10**30), "availableLiquidityShort": str(liquidity_usd * 10**30),
            "fundingRateLong": funding_annual, "fundingRateShort": "0", "borrowingRateLong": "0", "borrowingRateShort": "0"}


MARKETS = {"markets": [
    market("ETH/USD [WETH-USDC]", "0x70d95587d40A2caf56bd97485aB3Eec10Bee6336", WETH, WETH, USDC,
           str(int(Decimal("0.0876") * 10**30)), liquidity_usd=200_000),
    market("ETH/USD [WETH-WETH]", "0x450bb6774Dd8a756274E0ab4107953259d2ac541", WETH, WETH, WETH),
    market("ETH/USD [WETH-USDC.e]", "0x1111111111111111111111111111111111111111", WETH, WETH,
           "0xFF970A61A04b1cA14834A43f5dE4533eBDDB5CC8"),  # bridged USDC.e: not the USDC Vprime posts
    market("BTC/USD [WBTC-USDC]", "0x47c031236e19d024b42f8AE6780E44A573170703", WBTC, WBTC, USDC),
    market("XRP/USD [WETH-USDC]", "0x0CCB4fAa6f1F1B30911619f1184082aB4E25813c", XRP, WETH, USDC),
    market("swap-only [USDC-USDT]", "0x2222222222222222222222222222222222222222", "0x0000000000000000000000000000000000000000", USDC, USDC),
]}


def transport(request: httpx.Request) -> httpx.Response:
    body = {"/ping": {"ok": True}, "/tokens": TOKENS, "/prices/tickers": TICKERS, "/markets/info": MARKETS}[request.url.path]
    return httpx.Response(200, json=body)


@pytest.fixture
async def synced():
    sync = GmxSync("https://arbitrum-api.gmxinfra.io", usdc=USDC)
    async with httpx.AsyncClient(transport=httpx.MockTransport(transport)) as http:
        yield sync, {m.venue_symbol: m for m in await sync.markets(http)}, http


async def test_prices_scale_by_each_tokens_decimals(synced) -> None:
    _, markets, _ = synced
    btc, eth, xrp = markets["BTC/USD [WBTC-USDC]"], markets["ETH/USD [WETH-USDC]"], markets["XRP/USD [WETH-USDC]"]
    assert (btc.bid, btc.ask, btc.mark_price) == (59990, 60010, 60000)
    assert (eth.bid, eth.ask) == (2999, 3001)
    assert (xrp.bid, xrp.ask) == (0.4999, 0.5001)


async def test_markets_of_one_index_token_stay_apart_and_only_usdc_ones_are_listed(synced) -> None:
    _, markets, _ = synced
    assert sorted(markets) == ["BTC/USD [WBTC-USDC]", "ETH/USD [WETH-USDC]", "XRP/USD [WETH-USDC]"]
    assert markets["ETH/USD [WETH-USDC]"].instrument == "ETH"


async def test_funding_is_read_as_an_annual_rate(synced) -> None:
    _, markets, _ = synced
    assert markets["ETH/USD [WETH-USDC]"].funding_rate_hourly == pytest.approx(0.0876 / 8760)  # 1e-5 an hour


async def test_leverage_from_the_min_collateral_factor(synced) -> None:
    _, markets, http = synced
    assert markets["BTC/USD [WBTC-USDC]"].max_leverage == 50  # GMX's base config: 1 %

    async def factor(market_token: str) -> Decimal:
        return Decimal("0.005")

    chain_read = GmxSync("https://arbitrum-api.gmxinfra.io", usdc=USDC, min_collateral_factor=factor)
    assert {m.max_leverage for m in await chain_read.markets(http)} == {100}


async def test_depth_comes_from_the_pools_liquidity_and_gmx_price_impact(synced) -> None:
    sync, markets, http = synced
    book = await sync.book(http, markets["ETH/USD [WETH-USDC]"])
    assert sum(price * size for price, size in book.asks) == pytest.approx(200_000)
    assert book.asks[0][0] == pytest.approx(3001 * (1 + 1e-7 * 10_000))  # the first 10,000 USD move it 0.1 %
    assert book.asks[-1][0] == pytest.approx(3001 * 1.005)  # 200,000 USD: 2 %, capped at the max impact, 0.5 %
    assert book.bids[0][0] == pytest.approx(2999 * (1 - 1e-7 * 10_000))
    assert (await sync.book(http, markets["BTC/USD [WBTC-USDC]"])).asks == []  # no liquidity left: no depth
