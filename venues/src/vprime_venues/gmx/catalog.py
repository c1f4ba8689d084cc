"""GMX v2's catalog from its Oracle API (`/ping`, `/tokens`, `/prices/tickers`, `/markets/info`; see `oracle.py`).

- One catalog market per GMX market that takes USDC collateral (Vprime posts USDC), named by the market's full name
  (`ETH/USD [WETH-USDC]`), so several markets of one index token stay apart; its instrument is the index token's
  symbol unless the catalog fixture maps it.
- Bid and ask are the index token's min and max price, each scaled by 10^(30 - that token's decimals) (`/tokens`).
- Funding: `fundingRateLong` is an annual rate x 10^30, turned into a fraction per hour.
- Max leverage: not a field of the API. GMX's interface derives it from the market's min collateral factor (SDK
  `getMaxAllowedLeverageByMinCollateralFactor`); the factor is read from the DataStore when a reader is given
  (`min_collateral_factor`), else GMX's documented base config (1 %: 50x).
- Depth: GMX fills at the oracle price plus a price impact, within what the pool can still open. The book is built
  from the venue's own figures: `availableLiquidityLong/Short` of `/markets/info` is its total size, and the price
  moves by GMX's documented base position impact (negativePositionImpactFactor 10^-7 per USD at exponent 2, so a
  trade of S USD moves the price by 10^-7 x S), capped at negativeMaxPositionImpactFactor (0.5 %).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import httpx

from vprime_shared.contracts import CatalogMarket, Venue
from vprime_shared.orderbook import Book
from vprime_shared.reference import canonical_instruments, venue_symbol_map

from vprime_venues.gmx import constants as C
from vprime_venues.gmx.oracle import MarketInfo, OracleApi

POSITION_IMPACT_PER_USD = Decimal("1e-7")  # config/markets.ts baseMarketConfig.negativePositionImpactFactor
MAX_POSITION_IMPACT = Decimal("0.005")  # negativeMaxPositionImpactFactor
BOOK_LEVELS = 20


def impact_book(bid: float, ask: float, liquidity_bid_usd: float, liquidity_ask_usd: float) -> Book:
    """Levels of equal USD size up to the liquidity on each side, each priced with GMX's impact for the size so far."""
    def side(price: float, liquidity: float, sign: int) -> list[tuple[float, float]]:
        if liquidity <= 0:
            return []
        step = liquidity / BOOK_LEVELS
        levels = []
        for i in range(1, BOOK_LEVELS + 1):
            impact = min(float(POSITION_IMPACT_PER_USD) * step * i, float(MAX_POSITION_IMPACT))
            level_price = price * (1 + sign * impact)
            levels.append((level_price, step / level_price))
        return levels

    return Book(side(bid, liquidity_bid_usd, -1), side(ask, liquidity_ask_usd, 1))


class GmxSync:
    venue = Venue.GMX

    def __init__(self, base_url: str, *, usdc: str = C.ARBITRUM["usdc"], taker_fee_bps: float = C.TAKER_FEE_BPS,
                 maker_fee_bps: float = C.MAKER_FEE_BPS,
                 min_collateral_factor: Callable[[str], Awaitable[Decimal]] | None = None) -> None:
        self.base_url, self.usdc = base_url.rstrip("/"), usdc.lower()
        self.taker_fee_bps, self.maker_fee_bps = taker_fee_bps, maker_fee_bps
        self.min_collateral_factor = min_collateral_factor
        self.symbols = venue_symbol_map(self.venue.value)
        self.asset_classes = canonical_instruments()
        self._liquidity: dict[str, tuple[float, float]] = {}  # venue symbol -> USD the pool can open short, long

    def trades_usdc(self, market: MarketInfo) -> bool:
        return not self.usdc or self.usdc in (market.short_token.lower(), market.long_token.lower())

    async def markets(self, http: httpx.AsyncClient) -> list[CatalogMarket]:
        oracle = OracleApi(http, self.base_url)
        await oracle.ping()
        tokens = await oracle.tokens()
        tickers = await oracle.tickers()
        out = []
        for m in await oracle.markets(tokens):
            if not self.trades_usdc(m):
                continue
            instrument = self.symbols.get(m.symbol.split(" [")[0], m.index_symbol.upper())
            ticker = tickers.get(m.index_token.lower())
            bid, ask = (float(p) for p in ticker.usd(m.index_decimals)) if ticker else (None, None)
            factor = (await self.min_collateral_factor(m.market_token) if self.min_collateral_factor
                      else C.DEFAULT_MIN_COLLATERAL_FACTOR)
            self._liquidity[m.symbol] = (int(m.raw.get("availableLiquidityShort") or 0) / C.USD_SCALE,
                                         int(m.raw.get("availableLiquidityLong") or 0) / C.USD_SCALE)
            out.append(CatalogMarket(
                venue_symbol=m.symbol, instrument=instrument, asset_class=self.asset_classes.get(instrument, "crypto"),
                max_leverage=C.max_leverage(factor), min_notional_usd=C.MIN_NOTIONAL_USD, supports_short=True,
                is_delisted=not m.is_listed, is_open=True, taker_fee_bps=self.taker_fee_bps, maker_fee_bps=self.maker_fee_bps,
                funding_rate_hourly=C.funding_rate_hourly(m.raw.get("fundingRateLong") or 0),
                mark_price=(bid + ask) / 2 if bid and ask else None, bid=bid or None, ask=ask or None,
            ))
        return out

    async def book(self, http: httpx.AsyncClient, market: CatalogMarket) -> Book:
        short_usd, long_usd = self._liquidity.get(market.venue_symbol, (0.0, 0.0))
        if not market.bid or not market.ask:
            return Book([], [])
        return impact_book(market.bid, market.ask, short_usd, long_usd)
