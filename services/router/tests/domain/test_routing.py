"""Eligibility, strategies, candidate order and failover, on the shipped catalog. Clock injected."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from vprime_shared import ids
from vprime_shared.contracts import (
    CatalogStatus,
    Intent,
    IntentStatus,
    RequestedVenue,
    RiskModel,
    RoutingConfigBody,
    RoutingStrategy,
    Side,
    Venue,
)
from vprime_shared.orderbook import Book
from vprime_router.domain.catalog import Catalogs, fixture_catalogs
from vprime_router.domain.health import CircuitBreaker
from vprime_router.domain.routing import DEFAULT_CONFIG, RoutingContext, candidate_venues, route

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
HL, OS, GMX, SPOT = Venue.HYPERLIQUID, Venue.OSTIUM, Venue.GMX, Venue.SPOT
FIRST, BEST = RoutingStrategy.FIRST_AVAILABLE, RoutingStrategy.BEST_EXECUTION


def intent(instrument: str = "ETH", venues: list[Venue] | None = None, *, side: Side = Side.LONG, leverage: float = 2,
           notional: float = 10_000, requested: RequestedVenue = RequestedVenue.MULTI, excluded: list[Venue] | None = None) -> Intent:
    signal_id, deployment_id = uuid.uuid4(), uuid.uuid4()
    return Intent(
        intent_id=ids.intent_id(signal_id, deployment_id, 0), signal_id=signal_id, agent_id=uuid.uuid4(),
        deployment_id=deployment_id, status=IntentStatus.APPROVED, instrument=instrument, side=side, size_pct=10,
        leverage=leverage, risk_model=RiskModel(leverage=leverage), requested_venue=requested,
        venue_preference=[HL, OS] if venues is None else venues, excluded_venues=excluded or [], notional_usd=notional,
    )


@pytest.fixture
def catalogs() -> Catalogs:
    return fixture_catalogs(NOW)


def ctx(catalogs: Catalogs, *, books: dict | None = None, breakers: dict | None = None, now: datetime = NOW,
        leverage_mode: str = "clamp") -> RoutingContext:
    return RoutingContext(catalogs, books or {}, breakers or {}, now, timedelta(seconds=90), leverage_mode)  # type: ignore[arg-type]


def book(mid: float, half_spread_bps: float, depth_usd: float, step_bps: float = 2.0, levels: int = 10) -> Book:
    bids, asks = [], []
    for i in range(levels):
        off = (half_spread_bps + i * step_bps) / 10_000
        bids.append((mid * (1 - off), depth_usd / (mid * (1 - off))))
        asks.append((mid * (1 + off), depth_usd / (mid * (1 + off))))
    return Book(bids, asks)


# ---- eligibility -----------------------------------------------------------------------------------
def test_listed_and_open_market_is_taken(catalogs: Catalogs) -> None:
    choice = route(intent("ETH"), [HL, OS], FIRST, ctx(catalogs))
    assert choice.venue is HL and choice.checked == [HL] and choice.reason == "HYPERLIQUID: ETH available as ETH"


def test_not_listed_falls_back_with_the_reason(catalogs: Catalogs) -> None:
    choice = route(intent("GOLD"), [HL, OS], FIRST, ctx(catalogs))
    assert choice.venue is OS and choice.availability["HYPERLIQUID"].reason == "GOLD not listed"
    assert choice.reason == "OSTIUM: GOLD available as XAU-USD (skipped HYPERLIQUID: GOLD not listed)"


def test_delisted_closed_and_short_rules(catalogs: Catalogs) -> None:
    assert route(intent("MATIC", [HL]), [HL], FIRST, ctx(catalogs)).availability["HYPERLIQUID"].reason == "MATIC is delisted"
    gold = catalogs.market(OS, "GOLD")
    assert gold is not None
    catalogs.get(OS).markets["GOLD"] = gold.model_copy(update={"is_open": False})  # type: ignore[union-attr]
    closed = route(intent("GOLD", [OS]), [OS], FIRST, ctx(catalogs))
    assert closed.venue is None and closed.availability["OSTIUM"].reason == "XAU-USD market is closed now"
    short = route(intent("LINK", [SPOT, GMX], side=Side.SHORT), [SPOT, GMX], FIRST, ctx(catalogs))
    assert short.venue is GMX and short.availability["SPOT"].reason == "LINK cannot be shorted"


def test_leverage_is_clamped_or_refused_per_config(catalogs: Catalogs) -> None:
    clamped = route(intent("ETH", [HL], leverage=40), [HL], FIRST, ctx(catalogs))
    assert clamped.venue is HL and clamped.leverage == 25 and "leverage clamped to 25x" in clamped.reason
    refused = route(intent("ETH", [HL, OS], leverage=40), [HL, OS], FIRST, ctx(catalogs, leverage_mode="reject"))
    assert refused.venue is OS and refused.leverage == 40  # Ostium takes 50x
    assert refused.availability["HYPERLIQUID"].reason == "leverage 40x above ETH's maximum 25x"


def test_minimum_notional(catalogs: Catalogs) -> None:
    eth = catalogs.market(HL, "ETH")
    catalogs.get(HL).markets["ETH"] = eth.model_copy(update={"min_notional_usd": 10})  # type: ignore[union-attr]
    small = route(intent("ETH", [HL, OS], notional=5), [HL, OS], FIRST, ctx(catalogs))
    assert small.venue is OS and small.availability["HYPERLIQUID"].reason == "notional 5.00 below ETH's minimum 10"


def test_unhealthy_venue_is_skipped(catalogs: Catalogs) -> None:
    breaker = CircuitBreaker(threshold=1, open_for=timedelta(seconds=30))
    breaker.record_failure(NOW, "down")
    choice = route(intent("ETH"), [HL, OS], FIRST, ctx(catalogs, breakers={HL: breaker}))
    assert choice.venue is OS and choice.availability["HYPERLIQUID"].reason.startswith("circuit open after 1 failures (down)")


def test_stale_and_degraded_catalogs_are_not_routed_on(catalogs: Catalogs) -> None:
    hl = catalogs.get(HL)
    hl.static, hl.synced_at = False, NOW - timedelta(seconds=300)  # type: ignore[union-attr]
    stale = route(intent("ETH"), [HL, OS], FIRST, ctx(catalogs))
    assert stale.venue is OS and stale.availability["HYPERLIQUID"].reason == "catalog stale (last sync 300s ago)"
    hl.synced_at, hl.status, hl.error = NOW, CatalogStatus.DEGRADED, "HTTPStatusError: 503"  # type: ignore[union-attr]
    degraded = route(intent("ETH", [HL]), [HL], FIRST, ctx(catalogs))
    assert degraded.venue is None and "catalog degraded (HTTPStatusError: 503" in degraded.reason


def test_symbol_collisions_resolve_to_canonical_instruments(catalogs: Catalogs) -> None:
    assert catalogs.market(HL, "SPX6900").venue_symbol == "SPX"  # type: ignore[union-attr]
    assert catalogs.market(OS, "SPX500").venue_symbol == "SPX-USD"  # type: ignore[union-attr]
    assert catalogs.market(HL, "SPX500") is None
    pepe = catalogs.market(HL, "PEPE")  # both live kPEPE and delisted PEPE map to PEPE: the live one wins
    assert pepe is not None and pepe.venue_symbol == "kPEPE" and pepe.contract_multiplier == 1000
    assert route(intent("SPX500", [HL, OS]), [HL, OS], FIRST, ctx(catalogs)).venue is OS


# ---- candidates and configuration ----------------------------------------------------------------
def test_candidate_precedence_deployment_then_agent_then_global() -> None:
    agent = RoutingConfigBody(venue_priority=[GMX, OS])
    assert candidate_venues(intent(venues=[OS, HL]), agent, DEFAULT_CONFIG) == [OS, HL]
    assert candidate_venues(intent(venues=[]), agent, DEFAULT_CONFIG) == [GMX, OS]
    assert candidate_venues(intent(venues=[]), None, RoutingConfigBody(venue_priority=[SPOT, HL])) == [SPOT, HL]
    assert candidate_venues(intent(venues=[], excluded=[GMX]), agent, DEFAULT_CONFIG) == [OS]
    assert candidate_venues(intent(requested=RequestedVenue.GMX), agent, DEFAULT_CONFIG) == [GMX]
    assert candidate_venues(intent(venues=[HL, OS, GMX]), None, DEFAULT_CONFIG, failed=[HL]) == [OS, GMX]


def test_routing_config_is_validated() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="twice"):
        RoutingConfigBody(venue_priority=[HL, HL])
    with pytest.raises(ValidationError, match="max_attempts"):
        RoutingConfigBody(venue_priority=[HL], max_attempts=0)
    with pytest.raises(ValidationError, match="venue_priority"):
        RoutingConfigBody(venue_priority=["BINANCE"])  # type: ignore[list-item]


# ---- strategies --------------------------------------------------------------------------------
def test_best_execution_picks_the_cheapest_when_priority_disagrees(catalogs: Catalogs) -> None:
    books = {
        (HL, "ETH"): book(3000, half_spread_bps=1, depth_usd=20_000),  # cheap fee, but thin: a 200k order walks far
        (OS, "ETH"): book(3000, half_spread_bps=1.5, depth_usd=500_000),
    }
    big = intent("ETH", [HL, OS], notional=200_000)
    assert route(big, [HL, OS], FIRST, ctx(catalogs, books=books)).venue is HL  # priority says Hyperliquid
    best = route(big, [HL, OS], BEST, ctx(catalogs, books=books))
    assert best.venue is OS and best.checked == [HL, OS]
    assert best.costs["HYPERLIQUID"].impact_bps > best.costs["OSTIUM"].impact_bps
    assert best.costs["OSTIUM"].total_bps < best.costs["HYPERLIQUID"].total_bps
    assert best.reason.startswith("OSTIUM: lowest expected cost for 200,000 USD (OSTIUM:")
    small = route(intent("ETH", [HL, OS], notional=1_000), [HL, OS], BEST, ctx(catalogs, books=books))
    assert small.venue is HL  # a small order: Hyperliquid's lower fee wins


def test_best_execution_counts_fees_spread_impact_and_funding(catalogs: Catalogs) -> None:
    eth = catalogs.market(HL, "ETH")
    catalogs.get(HL).markets["ETH"] = eth.model_copy(update={"funding_rate_hourly": 0.0001})  # type: ignore[union-attr]
    books = {(HL, "ETH"): book(3000, 1, 1_000_000)}
    long_ = route(intent("ETH", [HL], notional=1_000), [HL], BEST, ctx(catalogs, books=books)).costs["HYPERLIQUID"]
    assert long_.fee_bps == 4.5 and long_.half_spread_bps == pytest.approx(1, abs=1e-3)
    assert long_.funding_bps == pytest.approx(24)  # 0.01 %/h for 24 h, paid by longs
    short = route(intent("ETH", [HL], side=Side.SHORT, notional=1_000), [HL], BEST, ctx(catalogs, books=books)).costs["HYPERLIQUID"]
    assert short.funding_bps == pytest.approx(-24)
    assert long_.total_bps == pytest.approx(long_.fee_bps + long_.half_spread_bps + long_.impact_bps + long_.funding_bps, abs=1e-3)


def test_best_execution_ties_go_to_priority(catalogs: Catalogs) -> None:
    for venue in (HL, GMX):
        market = catalogs.market(venue, "ETH")
        catalogs.get(venue).markets["ETH"] = market.model_copy(update={"taker_fee_bps": 5.0, "funding_rate_hourly": 0})  # type: ignore[union-attr]
    same = book(3000, 1, 1_000_000)
    books = {(HL, "ETH"): same, (GMX, "ETH"): same}
    assert route(intent("ETH", [GMX, HL]), [GMX, HL], BEST, ctx(catalogs, books=books)).venue is GMX
    assert route(intent("ETH", [HL, GMX]), [HL, GMX], BEST, ctx(catalogs, books=books)).venue is HL


def test_failover_chain_across_three_venues(catalogs: Catalogs) -> None:
    order = [HL, OS, GMX]
    failed: list[Venue] = []
    chosen = []
    for _ in range(3):
        choice = route(intent("ETH", order), candidate_venues(intent("ETH", order), None, DEFAULT_CONFIG, failed), FIRST, ctx(catalogs))
        chosen.append(choice.venue)
        failed.append(choice.venue)  # type: ignore[arg-type]
    assert chosen == [HL, OS, GMX]
    assert route(intent("ETH", order), candidate_venues(intent("ETH", order), None, DEFAULT_CONFIG, failed), FIRST, ctx(catalogs)).venue is None
