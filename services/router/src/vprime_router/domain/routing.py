"""Agent Where: which venue takes an approved intent, and why. Pure functions: catalogs, books,
breakers, configuration and the clock are passed in.

A venue can take an intent only if its catalog is fresh, its breaker allows it, it lists the
instrument, the market is active (not delisted) and open now, it supports the side (SPOT is
long-only), the leverage fits (clamped to the venue's maximum, or refused, per config) and the order
is above the venue's minimum notional.

Candidates, in order: a fixed-venue agent's venue only; else the deployment's venue order (after
the policy's bias and exclusions); else the agent's routing priority; else the global one. Venues an
earlier attempt failed on are skipped.

- FIRST_AVAILABLE: the first candidate that can take it.
- BEST_EXECUTION: the lowest expected all-in cost for this order's notional (taker fee + half spread
  + impact walked through the book + funding over the expected hold); ties go to priority.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from vprime_shared.contracts import (
    GLOBAL_VENUE_PRIORITY,
    CatalogMarket,
    Intent,
    RoutingConfigBody,
    RoutingStrategy,
    Side,
    Venue,
    VenueCheck,
    VenueCost,
)

from vprime_shared.orderbook import Book
from vprime_router.domain.catalog import Catalogs
from vprime_router.domain.health import CircuitBreaker

FIRST_AVAILABLE = RoutingStrategy.FIRST_AVAILABLE.value
BEST_EXECUTION = RoutingStrategy.BEST_EXECUTION.value
DEFAULT_CONFIG = RoutingConfigBody(venue_priority=list(GLOBAL_VENUE_PRIORITY))
# Impact assumed when no book is known yet for a market (bps per USD 1M of notional).
UNKNOWN_BOOK_IMPACT_BPS_PER_MILLION = 25.0


@dataclass(frozen=True)
class RoutingContext:
    catalogs: Catalogs
    books: Mapping[tuple[Venue, str], Book]
    breakers: Mapping[Venue, CircuitBreaker]
    now: datetime
    stale_after: timedelta = timedelta(seconds=90)
    leverage_mode: Literal["clamp", "reject"] = "clamp"
    expected_hold_hours: float = 24.0


@dataclass(frozen=True)
class Choice:
    selected: CatalogMarket | None
    venue: Venue | None
    reason: str
    checked: list[Venue]
    availability: dict[str, VenueCheck] = field(default_factory=dict)
    costs: dict[str, VenueCost] = field(default_factory=dict)
    leverage: float = 1.0


def candidate_venues(intent: Intent, agent_config: RoutingConfigBody | None, global_config: RoutingConfigBody,
                     failed: list[Venue] = ()) -> list[Venue]:  # type: ignore[assignment]
    fixed = intent.requested_venue.fixed_venue
    if fixed is not None:
        ordered = [fixed]
    elif intent.venue_preference:
        ordered = list(intent.venue_preference)
    elif agent_config is not None:
        ordered = list(agent_config.venue_priority)
    else:
        ordered = list(global_config.venue_priority)
    return [v for v in ordered if v not in intent.excluded_venues and v not in failed]


def check(venue: Venue, intent: Intent, ctx: RoutingContext) -> tuple[VenueCheck, float]:
    """Can `venue` take `intent` now? Returns the check (always with a reason) and the leverage it would use."""
    catalog = ctx.catalogs.get(venue)
    if catalog is None:
        return VenueCheck(available=False, reason="no catalog for this venue yet"), intent.leverage
    if (why := catalog.staleness(ctx.now, ctx.stale_after)) is not None:
        return VenueCheck(available=False, reason=why), intent.leverage
    breaker = ctx.breakers.get(venue)
    if breaker is not None and not breaker.allows(ctx.now):
        return VenueCheck(available=False, reason=breaker.describe(ctx.now)), intent.leverage
    market = catalog.markets.get(intent.instrument.upper())
    if market is None:
        return VenueCheck(available=False, reason=f"{intent.instrument} not listed"), intent.leverage
    symbol = market.venue_symbol
    if market.is_delisted:
        return VenueCheck(available=False, reason=f"{symbol} is delisted", venue_symbol=symbol), intent.leverage
    if not market.is_open:
        return VenueCheck(available=False, reason=f"{symbol} market is closed now", venue_symbol=symbol), intent.leverage
    if intent.side is Side.SHORT and not market.supports_short:
        return VenueCheck(available=False, reason=f"{symbol} cannot be shorted", venue_symbol=symbol), intent.leverage
    leverage, note = intent.leverage, ""
    if leverage > market.max_leverage:
        if ctx.leverage_mode == "reject":
            return VenueCheck(available=False, reason=f"leverage {leverage:g}x above {symbol}'s maximum {market.max_leverage:g}x",
                              venue_symbol=symbol), leverage
        leverage, note = market.max_leverage, f", leverage clamped to {market.max_leverage:g}x"
    if intent.notional_usd and intent.notional_usd < market.min_notional_usd:
        return VenueCheck(available=False, reason=f"notional {intent.notional_usd:.2f} below {symbol}'s minimum {market.min_notional_usd:g}",
                          venue_symbol=symbol), leverage
    return VenueCheck(available=True, reason=f"{intent.instrument} available as {symbol}{note}", venue_symbol=symbol), leverage


def expected_cost(market: CatalogMarket, book: Book | None, intent: Intent, hold_hours: float) -> VenueCost:
    notional = intent.notional_usd
    if book is not None and book.mid:
        half_spread = book.half_spread_bps() or 0.0
        impact = book.impact_bps(intent.side, notional)
        if impact is None:  # deeper than the book: everything there and the rest at the last level's distance, doubled
            levels = book.asks if intent.side is Side.LONG else book.bids
            impact = 2 * abs(levels[-1][0] - levels[0][0]) / levels[0][0] * 10_000
    else:
        mid = (market.bid + market.ask) / 2 if market.bid and market.ask else None
        half_spread = (market.ask - market.bid) / 2 / mid * 10_000 if mid and market.ask and market.bid else 0.0
        impact = notional / 1_000_000 * UNKNOWN_BOOK_IMPACT_BPS_PER_MILLION
    direction = 1 if intent.side is Side.LONG else -1  # longs pay positive funding, shorts receive it
    funding = market.funding_rate_hourly * hold_hours * 10_000 * direction
    total = market.taker_fee_bps + half_spread + impact + funding
    return VenueCost(fee_bps=round(market.taker_fee_bps, 4), half_spread_bps=round(half_spread, 4),
                     impact_bps=round(impact, 4), funding_bps=round(funding, 4), total_bps=round(total, 4))


def route(intent: Intent, candidates: list[Venue], strategy: RoutingStrategy, ctx: RoutingContext) -> Choice:
    checked: list[Venue] = []
    availability: dict[str, VenueCheck] = {}
    usable: list[tuple[Venue, CatalogMarket, float]] = []
    for venue in candidates:
        result, leverage = check(venue, intent, ctx)
        checked.append(venue)
        availability[venue.value] = result
        if result.available:
            market = ctx.catalogs.market(venue, intent.instrument)
            assert market is not None
            usable.append((venue, market, leverage))
            if strategy is RoutingStrategy.FIRST_AVAILABLE:
                break
    if not usable:
        why = "; ".join(f"{v}: {c.reason}" for v, c in availability.items()) or "no candidate venue"
        return Choice(None, None, f"no venue for {intent.instrument} {intent.side.value}: {why}", checked, availability)

    costs: dict[str, VenueCost] = {}
    if strategy is RoutingStrategy.BEST_EXECUTION:
        for venue, market, _ in usable:
            costs[venue.value] = expected_cost(market, ctx.books.get((venue, intent.instrument.upper())), intent, ctx.expected_hold_hours)
        venue, market, leverage = min(usable, key=lambda u: (costs[u[0].value].total_bps, candidates.index(u[0])))
        ranked = ", ".join(f"{v}: {c.total_bps:.2f} bps" for v, c in sorted(costs.items(), key=lambda kv: kv[1].total_bps))
        reason = f"{venue.value}: lowest expected cost for {intent.notional_usd:,.0f} USD ({ranked})"
    else:
        venue, market, leverage = usable[0]
        skipped = [f"{v}: {c.reason}" for v, c in availability.items() if not c.available]
        reason = f"{venue.value}: {availability[venue.value].reason}" + (f" (skipped {'; '.join(skipped)})" if skipped else "")
    return Choice(market, venue, reason, checked, availability, costs, leverage)
