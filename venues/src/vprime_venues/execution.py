"""The execution side of every venue, one shape (`ExecutionAdapter`): the account's equity, placing an order
(idempotent by client order id), its status by client id, closing reduce-only, and the venue's view of open
positions (for reconciliation).

Outcomes: a `VenueFill`; `VenueRefused` (the venue said no: definitive, maybe specific to this venue);
`VenueUnavailable` (the order did not reach the venue: retryable, another venue may take it); or
`VenueUnknown` (it may have reached the venue and the answer was lost: it is looked up by its client id,
never sent elsewhere until the venue says it is not there)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from vprime_shared.contracts import Order, Position, Venue



@dataclass(frozen=True)
class Signer:
    """A venue agent (API) wallet, unsealed for the moment of signing, and the account it trades for. On
    Hyperliquid an API wallet holds nothing: every query names `account_address`, the account that approved it."""

    address: str
    account: object  # eth_account LocalAccount
    account_address: str = ""  # the venue account; the agent wallet's own address when empty

    @property
    def trader(self) -> str:
        return self.account_address or self.address

    def __repr__(self) -> str:  # never show the key
        return f"Signer({self.address} for {self.trader})"


class VenueUnavailable(Exception):
    """The order did not reach the venue (refused connection, down, throttled before sending): retryable, and
    another venue may take it."""


class VenueUnknown(Exception):
    """The request may have reached the venue and its answer was lost (a timeout after sending, a reset connection,
    a 5xx). Whether the order exists is the venue's to say: look it up by its client id."""


class VenueRefused(Exception):
    """The venue answered no. `venue_specific`: another venue could take it (market closed there, too small for it)."""

    def __init__(self, reason: str, *, venue_specific: bool) -> None:
        super().__init__(reason)
        self.venue_specific = venue_specific


@dataclass(frozen=True)
class VenueFill:
    price: float  # per canonical unit
    qty: float  # canonical units
    notional_usd: float
    fee_usd: float
    venue_order_id: str
    trade_id: str | None = None  # Ostium closes by trade id


class ExecutionAdapter(Protocol):
    venue: Venue  # the venue its fills are reported on
    # PAPER (`vprime_venues.paper`) also has `paper = True`: its fills are simulated, nothing is sent to `venue`. An
    # adapter without the attribute trades on its venue.

    async def equity(self, signer: Signer) -> float: ...

    async def place(self, signer: Signer, order: Order, notional_usd: float, client_id: str) -> VenueFill: ...

    async def status(self, signer: Signer, order: Order, client_id: str) -> VenueFill | None: ...

    async def close(self, signer: Signer, position: Position, client_id: str) -> VenueFill: ...

    async def positions(self, signer: Signer) -> dict[str, float]: ...


async def call(http: httpx.AsyncClient, method: str, url: str, venue: Venue, *, sends_order: bool = False,
               **kwargs: Any) -> httpx.Response:
    """One venue HTTP call. A failure before the request left (no connection) is `VenueUnavailable`, and so is a 503
    (Service Unavailable: the server did not handle it). After it left (a timeout waiting for the answer, a reset,
    another 5xx), a call that `sends_order` raises `VenueUnknown`: the venue may have taken it. Other calls (reads)
    raise `VenueUnavailable` either way."""
    try:
        r = await http.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise VenueUnavailable(f"{venue.value} unreachable: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        if sends_order:
            raise VenueUnknown(f"{venue.value}: no answer to the order ({type(exc).__name__}); looking it up") from exc
        raise VenueUnavailable(f"{venue.value} did not answer: {type(exc).__name__}") from exc
    if r.status_code >= 500:
        if sends_order and r.status_code != 503:  # 503: the server says it did not handle the request
            raise VenueUnknown(f"{venue.value} answered {r.status_code} to the order; looking it up")
        raise VenueUnavailable(f"{venue.value} answered {r.status_code}: {r.text[:200]}")
    return r


def entry_fee_bps(position: Position) -> float:
    """The fee rate the position paid on entry, for pricing its close."""
    return position.fees_usd / position.notional_usd * 10_000 if position.notional_usd else 0.0
