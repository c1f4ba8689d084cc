"""The catalog side of every venue, one shape (`CatalogReader`): read the venue's market list and prices in its
own API's shape, translate venue symbols to canonical instruments, and read books for the markets routing is
watching."""

from __future__ import annotations

from typing import Protocol

import httpx

from vprime_shared.contracts import CatalogMarket, Venue

from vprime_shared.orderbook import Book


class CatalogReader(Protocol):
    venue: Venue

    async def markets(self, http: httpx.AsyncClient) -> list[CatalogMarket]: ...

    async def book(self, http: httpx.AsyncClient, market: CatalogMarket) -> Book: ...


def scaled_book(bids: list[tuple[float, float]], asks: list[tuple[float, float]], multiplier: float) -> Book:
    """A venue-unit book in canonical units (a kPEPE contract is 1,000 PEPE)."""
    return Book([(p / multiplier, s * multiplier) for p, s in bids], [(p / multiplier, s * multiplier) for p, s in asks])
