from __future__ import annotations

import uuid

import pytest

from vprime_shared import ids
from vprime_shared.contracts import Intent, IntentStatus, RequestedVenue, RiskModel, Side, Venue
from vprime_router.domain.catalog import Catalog
from vprime_router.domain.routing import candidate_venues, first_available
from vprime_router.settings import SHIPPED_CATALOG


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_file(SHIPPED_CATALOG)


def intent(instrument: str, venues: list[Venue], side: Side = Side.LONG, requested: RequestedVenue = RequestedVenue.MULTI) -> Intent:
    signal_id, deployment_id = uuid.uuid4(), uuid.uuid4()
    return Intent(
        intent_id=ids.intent_id(signal_id, deployment_id, 0), signal_id=signal_id, agent_id=uuid.uuid4(),
        deployment_id=deployment_id, status=IntentStatus.APPROVED, instrument=instrument, side=side, size_pct=10,
        leverage=2, risk_model=RiskModel(), requested_venue=requested, venue_preference=venues,
    )


def test_shipped_catalog_covers_every_venue(catalog: Catalog) -> None:
    assert len(catalog) > 300
    assert catalog.market(Venue.OSTIUM, "GOLD").venue_symbol == "XAU-USD"
    # Same ticker, different things: Hyperliquid's SPX is the SPX6900 memecoin, Ostium's SPX-USD the S&P 500.
    assert catalog.market(Venue.HYPERLIQUID, "SPX6900").venue_symbol == "SPX"
    assert catalog.market(Venue.OSTIUM, "SPX500").venue_symbol == "SPX-USD"
    assert catalog.market(Venue.HYPERLIQUID, "SPX500") is None


def test_first_enabled_venue_listing_the_instrument_wins(catalog: Catalog) -> None:
    choice = first_available(intent("ETH", [Venue.HYPERLIQUID, Venue.OSTIUM]), catalog)
    assert choice.selected.venue is Venue.HYPERLIQUID
    assert choice.checked == [Venue.HYPERLIQUID]


def test_falls_back_and_says_why(catalog: Catalog) -> None:
    choice = first_available(intent("GOLD", [Venue.HYPERLIQUID, Venue.OSTIUM]), catalog)
    assert choice.selected.venue is Venue.OSTIUM
    assert choice.checked == [Venue.HYPERLIQUID, Venue.OSTIUM]
    assert choice.availability["HYPERLIQUID"].available is False
    assert choice.reason == "OSTIUM: GOLD available as XAU-USD (skipped HYPERLIQUID: GOLD not listed)"


def test_no_venue_names_every_reason(catalog: Catalog) -> None:
    choice = first_available(intent("MAGIC", [Venue.HYPERLIQUID, Venue.OSTIUM]), catalog)
    assert choice.selected is None
    assert choice.reason == "no venue for MAGIC LONG: HYPERLIQUID: MAGIC not listed; OSTIUM: MAGIC not listed"


def test_delisted_markets_are_unavailable(catalog: Catalog) -> None:
    choice = first_available(intent("MATIC", [Venue.HYPERLIQUID]), catalog)
    assert choice.selected is None and "delisted" in choice.availability["HYPERLIQUID"].reason


def test_spot_cannot_short(catalog: Catalog) -> None:
    assert first_available(intent("LINK", [Venue.SPOT]), catalog).selected.venue is Venue.SPOT
    short = first_available(intent("LINK", [Venue.SPOT, Venue.GMX], side=Side.SHORT), catalog)
    assert short.selected.venue is Venue.GMX
    assert short.availability["SPOT"].reason == "LINK cannot be shorted"


def test_fixed_venue_agent_routes_only_to_its_venue(catalog: Catalog) -> None:
    fixed = intent("ETH", [Venue.HYPERLIQUID, Venue.OSTIUM], requested=RequestedVenue.OSTIUM)
    assert candidate_venues(fixed) == [Venue.OSTIUM]
    assert first_available(fixed, catalog).selected.venue is Venue.OSTIUM
    only_hl = intent("GOLD", [Venue.OSTIUM], requested=RequestedVenue.HYPERLIQUID)
    assert first_available(only_hl, catalog).selected is None


def test_no_preference_uses_the_global_priority(catalog: Catalog) -> None:
    assert candidate_venues(intent("ETH", [])) == [Venue.HYPERLIQUID, Venue.OSTIUM, Venue.GMX, Venue.SPOT]
