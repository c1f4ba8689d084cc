"""The SPOT venue's tokens: a Uniswap token list (tokenlists.org schema, as https://tokens.uniswap.org serves it:
`tokens` with `chainId`, `address`, `decimals`, `symbol`, optional `extensions`), the tokens of one chain. Locally
the venue simulator serves one with the local chain's addresses.

A token's canonical instrument is `extensions.canonical` when the list says it, else what the catalog fixture maps
its symbol to (WETH → ETH, WBTC → BTC), else the symbol."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from eth_utils import is_address, to_checksum_address

from vprime_shared.reference import venue_symbol_map

from vprime_venues.execution import VenueRefused, VenueUnavailable
from vprime_venues.spot.constants import TOKEN_LIST_RETRY_S, TOKEN_LIST_TTL_S


@dataclass(frozen=True)
class SpotToken:
    symbol: str
    address: str  # checksummed
    decimals: int
    instrument: str


def parse_token_list(body: object, chain_id: int, *, exclude: tuple[str, ...] = (),
                     symbols: dict[str, str] | None = None) -> dict[str, SpotToken]:
    """The tokens of `chain_id` by symbol (the first of a symbol wins), without the `exclude` addresses (USDC itself).
    Entries that are not tokens in the schema's shape are skipped."""
    if not isinstance(body, dict) or not isinstance(body.get("tokens"), list):
        raise ValueError("a token list has a `tokens` array")
    symbols = symbols if symbols is not None else venue_symbol_map("SPOT")
    excluded = {a.lower() for a in exclude}
    out: dict[str, SpotToken] = {}
    for entry in body["tokens"]:
        try:
            if int(entry["chainId"]) != chain_id or not is_address(entry["address"]):
                continue
            symbol, decimals, address = str(entry["symbol"]), int(entry["decimals"]), to_checksum_address(entry["address"])
        except (KeyError, TypeError, ValueError):
            continue
        if address.lower() in excluded or symbol in out or not 0 <= decimals <= 255:
            continue
        extensions = entry.get("extensions") if isinstance(entry.get("extensions"), dict) else {}
        instrument = str(extensions.get("canonical") or symbols.get(symbol) or symbol.upper())
        out[symbol] = SpotToken(symbol, address, decimals, instrument)
    return out


class TokenList:
    """The list at `url`, read at most every `TOKEN_LIST_TTL_S`, and again (at most every `TOKEN_LIST_RETRY_S`) when
    a symbol is not in it."""

    def __init__(self, url: str, *, exclude: tuple[str, ...] = (), clock: Callable[[], float] = time.monotonic) -> None:
        self.url, self.exclude, self.clock = url, exclude, clock
        self._tokens: dict[str, SpotToken] | None = None
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def tokens(self, http: httpx.AsyncClient, chain_id: int, *, fresh_within: float = TOKEN_LIST_TTL_S) -> dict[str, SpotToken]:
        async with self._lock:
            if self._tokens is None or self.clock() - self._read_at > fresh_within:
                try:
                    r = await http.get(self.url)
                except httpx.HTTPError as exc:
                    if self._tokens is None:
                        raise VenueUnavailable(f"SPOT: the token list at {self.url} did not answer ({type(exc).__name__})") from exc
                    return self._tokens
                if r.status_code != 200:
                    if self._tokens is None:
                        raise VenueUnavailable(f"SPOT: the token list at {self.url} answered {r.status_code}")
                    return self._tokens
                try:
                    self._tokens = parse_token_list(r.json(), chain_id, exclude=self.exclude)
                except ValueError as exc:
                    raise VenueUnavailable(f"SPOT: the token list at {self.url} is not one: {exc}") from exc
                self._read_at = self.clock()
            return self._tokens

    async def token(self, http: httpx.AsyncClient, chain_id: int, symbol: str) -> SpotToken:
        found = (await self.tokens(http, chain_id)).get(symbol)
        if found is None:
            found = (await self.tokens(http, chain_id, fresh_within=TOKEN_LIST_RETRY_S)).get(symbol)
        if found is None:
            raise VenueRefused(f"SPOT: {symbol} is not in the token list", venue_specific=True)
        return found
