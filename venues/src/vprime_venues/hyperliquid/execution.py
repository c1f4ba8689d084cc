"""Hyperliquid's execution side: market orders as IoC limit orders on `POST /exchange`, and the account read on
`POST /info`. What each behaviour follows (docs: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api;
SDK: hyperliquid-python-sdk):

- Accounts (nonces-and-api-wallets): the agent (API) wallet only signs. Every info query names the account that
  approved it, `Signer.trader`; querying the agent "leads to an empty result".
- Signing (signing; SDK `utils/signing.py` `sign_l1_action`): the action is signed as an L1 action by the agent
  wallet, for mainnet or testnet (`mainnet`), no vault; the body is the SDK's `_post_action` body. Orders carry
  `expiresAfter` (exchange-endpoint; SDK `Exchange.set_expires_after`), 30 s after signing, so an order whose
  answer was lost is known never to land once `lookup_window_s` (constants.LOOKUP_WINDOW_S) has passed.
- Nonces (nonces-and-api-wallets): from a `NonceSource`, unique and increasing per signing wallet.
- Order wire (SDK `order_request_to_order_wire`, `order_wires_to_order_action`; tick-and-lot-size): asset index from
  `meta`, size rounded down to `szDecimals`, price at 5 significant figures and at most 6 - szDecimals decimals
  (integers always allowed), both as the strings `float_to_wire` makes (8 decimals at most, trailing zeros
  stripped) but computed in `Decimal`, so no float artefact reaches the wire. The `cloid` is our client id.
- Limit price (SDK `Exchange._slippage_price`): the mid from `allMids` moved by `slippage` against us, rounded
  inwards (a buy down, a sell up) so the limit never passes the slippage. `allMids` is read at most once a second
  for opening orders; a close reads it afresh (a stop follows a price move).
- Minimum (error-responses, MinTradeNtl): an order under $10 is refused before it is sent.
- Leverage (exchange-endpoint `updateLeverage`; info-endpoint/perpetuals `activeAssetData`): before an opening
  order, the account's leverage on the asset is read and set when it differs: the order's leverage rounded down
  to an integer (never more than asked, at least 1), isolated where `meta` marks the asset `onlyIsolated`, cross
  otherwise. What is known is kept per (account, asset) for `LEVERAGE_CACHE_S`. A refusal refuses the order.
- Answers (exchange-endpoint; error-responses): `filled` gives the fill (`totalSz` at `avgPx`: a partial IoC fill
  is what filled), its fee from `userFillsByTime` for that oid when the budget allows one more read (else the
  order's taker rate); `error` is a refusal, venue-specific for "could not immediately match" and the other
  market-level errors listed in constants. A lost answer (timeout after sending, reset, a 5xx but 503) is
  `VenueUnknown`, as `vprime_venues.execution.call` maps it; HTTP 429 is `VenueUnavailable` (not taken).
- Status (info-endpoint "Query order status by oid or cloid"), by cloid for the account:
    unknownOid                         -> None: the venue has no such order (never placed, or not yet within
                                          `lookup_window_s` of a lost answer: the order may still land until
                                          its expiry)
    filled                             -> the fill, from `userFillsByTime` fills of its oid (sizes summed, price
                                          size-weighted, fees summed); VenueUnknown while no fill is visible
    canceled (any *Canceled)           -> the fill if any part filled (an IoC's remainder is canceled), else
                                          VenueRefused
    rejected (any *Rejected)           -> VenueRefused (venue-specific for market-level reasons)
    open, triggered, anything else     -> VenueUnknown: still in flight, ask again
- Rate limits (rate-limits): every request spends its documented weight from the `RateBudget` first; a read
  answered 429 is retried with backoff, an order is not.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

import httpx
from hyperliquid.utils.signing import order_wires_to_order_action, sign_l1_action

from vprime_shared.contracts import Order, Position, Side, Venue

from vprime_venues.execution import (Signer, VenueFill, VenueRefused, VenueUnavailable, VenueUnknown, call,
                                     entry_fee_bps)
from vprime_venues.hyperliquid import constants as C
from vprime_venues.hyperliquid.nonces import MemoryNonces, NonceSource, now_ms
from vprime_venues.ratelimit import READ_TRIES, BudgetExhausted, RateBudget, read_with_backoff, refuse_throttled_order

log = logging.getLogger(__name__)
NAME = "HYPERLIQUID"
CLOID = re.compile(r"^0x[0-9a-f]{32}$")
FLOAT_NOISE = Decimal("1e-12")  # a float's last-digit noise, dropped before a size is rounded down
WIDE = Context(prec=60)  # room for any size or price to be quantized exactly


# ---- numbers on the wire -------------------------------------------------------------------------
def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """A number as the exact decimal it was written as: a float by its shortest repr (0.1 + 0.2 is
    0.30000000000000004, not 0.3000000000000000444089209850062616169452667236328125)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        return Decimal(repr(value))
    return Decimal(str(value))


def round_size(size: Decimal, sz_decimals: int) -> Decimal:
    """Rounded down to `szDecimals` (tick-and-lot-size), after dropping float noise below 1e-12."""
    denoised = size.quantize(FLOAT_NOISE, rounding=ROUND_HALF_EVEN, context=WIDE)
    return denoised.quantize(Decimal(1).scaleb(-sz_decimals), rounding=ROUND_DOWN, context=WIDE)


def round_price(px: Decimal, sz_decimals: int, *, is_buy: bool) -> Decimal:
    """At most 5 significant figures and at most 6 - szDecimals decimals; an integer whatever its figures
    (tick-and-lot-size). A buy's limit rounds down and a sell's up, so rounding never widens the slippage."""
    if px <= 0:
        raise ValueError(f"not a price: {px}")
    sig_decimals = C.PRICE_SIGNIFICANT_FIGURES - 1 - px.adjusted()
    decimals = max(0, min(C.PERP_MAX_DECIMALS - sz_decimals, sig_decimals))
    return px.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_FLOOR if is_buy else ROUND_CEILING, context=WIDE)


def wire(value: Decimal) -> str:
    """The string the SDK's `float_to_wire` makes: at most 8 decimals, trailing zeros removed, no exponent."""
    quantized = value.quantize(Decimal(1).scaleb(-C.WIRE_DECIMALS), context=WIDE)
    if quantized != value:
        raise ValueError(f"{value} has more than {C.WIRE_DECIMALS} decimals")
    text = f"{quantized.normalize():f}"
    return "0" if text == "-0" else text


def venue_leverage(leverage: float) -> int:
    """The venue takes an integer: rounded down (never more than the order asked), at least 1."""
    return max(1, math.floor(leverage + 1e-9))


# ---- what the venue says -------------------------------------------------------------------------
@dataclass(frozen=True)
class Asset:
    index: int  # the perp's asset id: its place in `meta.universe`
    name: str
    sz_decimals: int
    max_leverage: int
    only_isolated: bool
    delisted: bool


def venue_fill(px: Decimal, sz: Decimal, oid: object, multiplier: float, fee_usd: Decimal | None,
               fee_bps: float) -> VenueFill:
    notional = px * sz
    fee = float(fee_usd) if fee_usd is not None else float(notional) * fee_bps / 10_000
    return VenueFill(price=float(px) / multiplier, qty=float(sz) * multiplier, notional_usd=float(notional),
                     fee_usd=fee, venue_order_id=str(oid))


def fill_from_fills(fills: list[dict[str, Any]], oid: object, multiplier: float) -> VenueFill:
    """One fill from the venue's fills of one order: sizes summed, price weighted by size, fees summed."""
    size = sum((Decimal(f["sz"]) for f in fills), Decimal(0))
    notional = sum((Decimal(f["px"]) * Decimal(f["sz"]) for f in fills), Decimal(0))
    fee = sum((Decimal(str(f.get("fee", "0"))) for f in fills), Decimal(0))
    return venue_fill(notional / size, size, oid, multiplier, fee, 0.0)


def _refusal(message: str) -> VenueRefused:
    return VenueRefused(f"{NAME}: {message}", venue_specific=C.venue_specific_error(message))


class HyperliquidVenue:
    venue = Venue.HYPERLIQUID
    lookup_window_s = float(C.LOOKUP_WINDOW_S)  # unknownOid this long after a lost answer: never placed

    def __init__(self, http: httpx.AsyncClient, base_url: str, *, mainnet: bool, slippage: float = 0.01,
                 budget: RateBudget | None = None, nonces: NonceSource | None = None) -> None:
        self.http, self.mainnet = http, mainnet
        base = base_url.rstrip("/")
        self.info_url, self.exchange_url = f"{base}/info", f"{base}/exchange"
        self.slippage = to_decimal(slippage)
        self.budget = budget if budget is not None else RateBudget(C.EXECUTOR_WEIGHT_PER_MINUTE)
        self.nonces: NonceSource = nonces if nonces is not None else MemoryNonces()
        self.clock = time.monotonic  # for the caches
        self.sleep = asyncio.sleep  # for read backoff
        self._assets: dict[str, Asset] = {}
        self._meta_at = -math.inf
        self._meta_lock = asyncio.Lock()
        self._mids: dict[str, Any] | None = None
        self._mids_at = -math.inf
        self._mids_lock = asyncio.Lock()
        self._leverage: dict[tuple[str, int], tuple[tuple[int, bool], float]] = {}
        self._leverage_locks: dict[tuple[str, int], asyncio.Lock] = {}

    # ---- reads -----------------------------------------------------------------------------------
    async def _info(self, body: dict[str, Any], *, prepaid: bool = False, tries: int | None = None) -> Any:
        kind = body["type"]
        r = await read_with_backoff(lambda: call(self.http, "POST", self.info_url, self.venue, json=body), NAME,
                                    budget=None if prepaid else self.budget, weight=C.info_weight(kind),
                                    tries=tries or READ_TRIES, sleep=self.sleep)
        if r.status_code != 200:
            raise VenueUnavailable(f"{NAME} info {kind} answered {r.status_code}: {r.text[:200]}")
        try:
            data = r.json()
        except ValueError as exc:
            raise VenueUnavailable(f"{NAME} info {kind} answered no JSON") from exc
        if isinstance(data, list) and (extra := C.extra_item_weight(kind, len(data))):
            self.budget.debit(extra)
        return data

    async def asset(self, symbol: str) -> Asset:
        asset = self._assets.get(symbol)
        if asset is None:
            async with self._meta_lock:  # one `meta` read for every order waiting on it
                asset = self._assets.get(symbol)
                if asset is None and self.clock() - self._meta_at >= C.META_REFRESH_MIN_S:
                    meta = await self._info({"type": "meta"})
                    try:
                        self._assets = {a["name"]: Asset(index=i, name=a["name"], sz_decimals=int(a["szDecimals"]),
                                                         max_leverage=int(a["maxLeverage"]), only_isolated=C.only_isolated(a),
                                                         delisted=bool(a.get("isDelisted", False)))
                                        for i, a in enumerate(meta["universe"])}
                    except (KeyError, TypeError, ValueError) as exc:
                        raise VenueUnavailable(f"{NAME} meta in an unexpected shape: {exc!r}") from exc
                    self._meta_at = self.clock()
                    asset = self._assets.get(symbol)
        if asset is None:
            raise VenueRefused(f"{NAME} has no perp {symbol}", venue_specific=True)
        return asset

    async def _mid(self, symbol: str, *, fresh: bool = False) -> Decimal:
        """The mid from `allMids`, at most `MIDS_MAX_AGE_S` old; `fresh`: read now (a close follows a price move, and a
        limit priced from the mid before the move would not cross the book)."""
        async with self._mids_lock:  # at most one `allMids` a second, shared by every order
            if fresh or self._mids is None or self.clock() - self._mids_at > C.MIDS_MAX_AGE_S:
                self._mids = await self._info({"type": "allMids"})
                self._mids_at = self.clock()
            mids = self._mids
        try:
            mid = Decimal(str(mids[symbol]))
        except (KeyError, TypeError, InvalidOperation):
            raise VenueRefused(f"{NAME} has no mid price for {symbol}", venue_specific=True) from None
        if not mid.is_finite() or mid <= 0:
            raise VenueRefused(f"{NAME} has no mid price for {symbol}", venue_specific=True)
        return mid

    async def _state(self, signer: Signer) -> dict[str, Any]:
        state = await self._info({"type": "clearinghouseState", "user": signer.trader})
        if not isinstance(state, dict):
            raise VenueUnavailable(f"{NAME} clearinghouseState in an unexpected shape")
        return state

    async def equity(self, signer: Signer) -> float:
        try:
            return float((await self._state(signer))["marginSummary"]["accountValue"])
        except (KeyError, TypeError, ValueError) as exc:
            raise VenueUnavailable(f"{NAME} clearinghouseState in an unexpected shape: {exc!r}") from exc

    async def positions(self, signer: Signer) -> dict[str, float]:
        try:
            return {p["position"]["coin"]: float(p["position"]["szi"]) for p in (await self._state(signer))["assetPositions"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise VenueUnavailable(f"{NAME} clearinghouseState in an unexpected shape: {exc!r}") from exc

    async def _fills(self, account: str, oid: int, since_ms: int, *, prepaid: bool = False,
                     tries: int | None = None) -> list[dict[str, Any]]:
        fills = await self._info({"type": "userFillsByTime", "user": account, "startTime": max(0, since_ms)},
                                 prepaid=prepaid, tries=tries)
        if not isinstance(fills, list):
            raise VenueUnavailable(f"{NAME} userFillsByTime in an unexpected shape")
        return [f for f in fills if isinstance(f, dict) and f.get("oid") == oid]

    async def _fee(self, account: str, oid: int, since_ms: int) -> Decimal | None:
        """The fee the venue charged for a fill just made, or None (then the order's rate prices it). Never
        waits for budget and never raises: the fill stands whatever this read does."""
        if not self.budget.try_take(C.info_weight("userFillsByTime")):
            return None
        try:
            fills = await self._fills(account, oid, since_ms, prepaid=True, tries=1)
            return sum((Decimal(str(f["fee"])) for f in fills), Decimal(0)) if fills else None
        except Exception as exc:  # noqa: BLE001 - the order filled; its fee falls back to the rate
            log.info("fee of %s order %s not read: %r", NAME, oid, exc)
            return None

    # ---- actions ---------------------------------------------------------------------------------
    async def _exchange(self, signer: Signer, action: dict[str, Any], *, sends_order: bool) -> dict[str, Any]:
        """Sign `action` with the agent wallet and send it; an order expires `ORDER_EXPIRES_AFTER_S` after signing.
        Not sent (budget, connection, 429): `VenueUnavailable`. Sent and the answer lost: `VenueUnknown` for an
        order, `VenueUnavailable` otherwise."""
        try:
            await self.budget.take(C.exchange_weight(len(action.get("orders", ())) or 1), max_wait_s=C.ORDER_BUDGET_WAIT_S)
        except BudgetExhausted as exc:
            raise VenueUnavailable(f"{NAME}: {exc}; not sent") from exc
        nonce = await self.nonces.next(signer.address)
        expires_after = now_ms() + C.ORDER_EXPIRES_AFTER_S * 1000 if sends_order else None
        signature = sign_l1_action(signer.account, action, None, nonce, expires_after, self.mainnet)
        payload = {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None,
                   "expiresAfter": expires_after}
        r = await call(self.http, "POST", self.exchange_url, self.venue, sends_order=sends_order, json=payload)
        refuse_throttled_order(r, NAME, self.budget)
        if r.status_code != 200:  # the venue did not parse or accept the request: nothing was taken
            raise VenueRefused(f"{NAME} answered {r.status_code}: {r.text[:200]}", venue_specific=False)
        try:
            body = r.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if sends_order:
                raise VenueUnknown(f"{NAME} answered the order with no JSON object; looking it up")
            raise VenueUnavailable(f"{NAME} answered {action['type']} with no JSON object")
        return body

    async def _ensure_leverage(self, signer: Signer, asset: Asset, leverage: int) -> None:
        account = signer.trader
        key = (account.lower(), asset.index)
        want = (leverage, not asset.only_isolated)  # (leverage, cross)
        async with self._leverage_locks.setdefault(key, asyncio.Lock()):
            known = self._leverage.get(key)
            if known is not None and self.clock() - known[1] <= C.LEVERAGE_CACHE_S:
                current = known[0]
            else:
                data = await self._info({"type": "activeAssetData", "user": account, "coin": asset.name})
                try:
                    current = (int(data["leverage"]["value"]), data["leverage"]["type"] == "cross")
                except (KeyError, TypeError, ValueError) as exc:
                    raise VenueUnavailable(f"{NAME} activeAssetData in an unexpected shape: {exc!r}") from exc
                self._leverage[key] = (current, self.clock())
            if current == want:
                return
            self._leverage.pop(key, None)  # until the venue confirms, what we knew may no longer hold
            mode = "cross" if want[1] else "isolated"
            body = await self._exchange(signer, {"type": "updateLeverage", "asset": asset.index, "isCross": want[1],
                                                 "leverage": leverage}, sends_order=False)
            if body.get("status") != "ok":
                raise VenueRefused(f"{NAME} refused leverage {leverage}x {mode} on {asset.name}: {body.get('response')}",
                                   venue_specific=False)
            self._leverage[key] = (want, self.clock())

    async def _send(self, signer: Signer, asset: Asset, is_buy: bool, size: Decimal, mid: Decimal, client_id: str, *,
                    reduce_only: bool, multiplier: float, fee_bps: float) -> VenueFill:
        if not CLOID.match(client_id):
            raise ValueError(f"a Hyperliquid cloid is 0x and 32 hex digits, not {client_id!r}")
        try:
            limit = round_price(mid * (1 + self.slippage if is_buy else 1 - self.slippage), asset.sz_decimals, is_buy=is_buy)
        except ValueError as exc:
            raise VenueRefused(f"{NAME}: no valid limit price for {asset.name}: {exc}", venue_specific=True) from exc
        order_wire = {"a": asset.index, "b": is_buy, "p": wire(limit), "s": wire(size), "r": reduce_only,
                      "t": {"limit": {"tif": "Ioc"}}, "c": client_id}
        sent_ms = now_ms()
        body = await self._exchange(signer, order_wires_to_order_action([order_wire]), sends_order=True)
        if body.get("status") != "ok":
            raise _refusal(str(body.get("response")))
        try:
            status = body["response"]["data"]["statuses"][0]
        except (KeyError, IndexError, TypeError):
            raise VenueUnknown(f"{NAME} answered the order in an unexpected shape; looking it up") from None
        if isinstance(status, dict) and "filled" in status:
            filled = status["filled"]
            try:
                px, sz, oid = Decimal(str(filled["avgPx"])), Decimal(str(filled["totalSz"])), int(filled["oid"])
            except (KeyError, TypeError, ValueError, InvalidOperation):
                raise VenueUnknown(f"{NAME} answered a fill in an unexpected shape; looking it up") from None
            fee = await self._fee(signer.trader, oid, sent_ms - C.FILL_LOOKBACK_MS)
            return venue_fill(px, sz, oid, multiplier, fee, fee_bps)
        if isinstance(status, dict) and "error" in status:
            raise _refusal(str(status["error"]))
        # `resting` (an IoC never rests) or a shape the docs do not list: the venue holds the answer.
        raise VenueUnknown(f"{NAME} answered the order with {status!r}; looking it up")

    # ---- the adapter -----------------------------------------------------------------------------
    async def place(self, signer: Signer, order: Order, notional_usd: float, client_id: str) -> VenueFill:
        asset = await self.asset(order.venue_symbol)
        if asset.delisted:
            raise VenueRefused(f"{NAME} has delisted {asset.name}", venue_specific=True)
        leverage = venue_leverage(order.leverage)
        if leverage > asset.max_leverage:
            raise VenueRefused(f"{NAME} takes at most {asset.max_leverage}x on {asset.name}, not {leverage}x",
                               venue_specific=True)
        mid = await self._mid(asset.name)
        size = round_size(to_decimal(notional_usd) / mid, asset.sz_decimals)
        if size * mid < C.MIN_ORDER_VALUE_USD:
            raise VenueRefused(f"{NAME}: order value {size * mid:.2f} USD is below the minimum {C.MIN_ORDER_VALUE_USD} USD",
                               venue_specific=True)
        await self._ensure_leverage(signer, asset, leverage)
        return await self._send(signer, asset, order.side is Side.LONG, size, mid, client_id, reduce_only=False,
                                multiplier=order.contract_multiplier, fee_bps=order.taker_fee_bps)

    async def close(self, signer: Signer, position: Position, client_id: str) -> VenueFill:
        multiplier = float(position.extra.get("contract_multiplier", 1.0))
        asset = await self.asset(position.venue_symbol)
        size = round_size(to_decimal(position.qty) / to_decimal(multiplier), asset.sz_decimals)
        if size <= 0:
            raise VenueRefused(f"{NAME}: {position.qty:g} {position.instrument} is below {asset.name}'s lot size",
                               venue_specific=False)
        mid = await self._mid(asset.name, fresh=True)
        return await self._send(signer, asset, position.side is Side.SHORT, size, mid, client_id, reduce_only=True,
                                multiplier=multiplier, fee_bps=entry_fee_bps(position))

    async def status(self, signer: Signer, order: Order, client_id: str) -> VenueFill | None:
        found = await self._info({"type": "orderStatus", "user": signer.trader, "oid": client_id})
        if not isinstance(found, dict):
            raise VenueUnknown(f"{NAME} orderStatus in an unexpected shape; ask again")
        if found.get("status") == "unknownOid":
            return None
        try:
            state, placed = found["order"]["status"], found["order"]["order"]
            oid, placed_ms = int(placed["oid"]), int(placed["timestamp"])
        except (KeyError, TypeError, ValueError):
            raise VenueUnknown(f"{NAME} orderStatus for {client_id} in an unexpected shape; ask again") from None
        if state == C.FILLED_STATUS or state in C.CANCELED_STATUSES:
            fills = await self._fills(signer.trader, oid, placed_ms - C.FILL_LOOKBACK_MS)
            if fills:
                return fill_from_fills(fills, oid, order.contract_multiplier)
            if state == C.FILLED_STATUS:
                raise VenueUnknown(f"{NAME} order {client_id} filled, its fills not visible yet; ask again")
            raise VenueRefused(f"{NAME}: order {client_id} {state} with nothing filled",
                               venue_specific=state in C.VENUE_SPECIFIC_STATUSES)
        if state in C.REJECTED_STATUSES:
            raise VenueRefused(f"{NAME}: order {client_id} {state}", venue_specific=state in C.VENUE_SPECIFIC_STATUSES)
        raise VenueUnknown(f"{NAME} order {client_id} is {state}; ask again")


__all__ = ["HyperliquidVenue", "VenueUnavailable", "VenueUnknown"]
