"""Venue adapters, one folder per venue, one shape: place an order (idempotent by client order id),
answering a `Fill` or raising `VenueRefused`/`VenueUnavailable`."""

from __future__ import annotations


class VenueUnavailable(Exception):
    """The venue did not answer (down, timed out): retryable, and another venue may take the order."""


class VenueRefused(Exception):
    """The venue answered no. `venue_specific`: another venue could take it (market closed there, too small for it)."""

    def __init__(self, reason: str, *, venue_specific: bool) -> None:
        super().__init__(reason)
        self.venue_specific = venue_specific
