"""Agent Where: choose the venue for an approved intent. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from vprime_shared.contracts import GLOBAL_VENUE_PRIORITY, Intent, Venue, VenueCheck

from vprime_router.domain.catalog import Catalog, Market

FIRST_AVAILABLE = "FIRST_AVAILABLE"


@dataclass(frozen=True)
class Choice:
    selected: Market | None
    reason: str
    checked: list[Venue]
    availability: dict[str, VenueCheck] = field(default_factory=dict)


def candidate_venues(intent: Intent) -> list[Venue]:
    """A fixed-venue agent routes only to its venue; otherwise the deployment's order, else the global one."""
    fixed = intent.requested_venue.fixed_venue
    if fixed is not None:
        return [fixed] if fixed not in intent.excluded_venues else []
    ordered = list(intent.venue_preference) or list(GLOBAL_VENUE_PRIORITY)
    return [v for v in ordered if v not in intent.excluded_venues]


def first_available(intent: Intent, catalog: Catalog) -> Choice:
    """The first candidate venue that can take the trade, with every check on the way recorded."""
    checked: list[Venue] = []
    availability: dict[str, VenueCheck] = {}
    for venue in candidate_venues(intent):
        check = catalog.check(venue, intent.instrument, intent.side)
        checked.append(venue)
        availability[venue.value] = check
        if check.available:
            passed = [f"{v}: {c.reason}" for v, c in availability.items() if not c.available]
            reason = f"{venue.value}: {check.reason}" + (f" (skipped {'; '.join(passed)})" if passed else "")
            return Choice(catalog.market(venue, intent.instrument), reason, checked, availability)
    why = "; ".join(f"{v}: {c.reason}" for v, c in availability.items())
    return Choice(None, f"no venue for {intent.instrument} {intent.side.value}: {why}", checked, availability)
