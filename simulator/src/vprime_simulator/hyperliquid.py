"""Hyperliquid's clearinghouse, as the venue keeps it: accounts, API wallets, nonces, leverage, orders and fills.
No I/O: the HTTP side (signatures, rate limits, faults) is `hyperliquid_api.py`.

What each rule follows (docs: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api; SDK:
hyperliquid-python-sdk):
- Accounts and API wallets: "Nonces and API wallets". An account holds USDC and positions; an API wallet signs for
  the account that approved it and holds nothing. A query naming an API wallet answers as for an empty address.
  A new unnamed approval deregisters the account's previous unnamed one; a named one replaces the same name.
- Nonces: the same page. Per signer (the account's own key, or the API wallet's) the 100 highest nonces are kept. A
  nonce already kept is refused; once 100 are kept, a nonce not above the smallest is refused; a nonce outside
  (T - 2 days, T + 1 day) is refused. Until 100 are kept, any unused nonce in the window is taken.
- Leverage: "Exchange endpoint" (updateLeverage: asset, isCross, leverage) and "Trading / Margining" (margin =
  notional / leverage). An account that never set leverage on an asset has cross at min(20, maxLeverage). The docs
  do not say; the SDK's recorded clearinghouseState (tests/cassettes/info_test/test_get_user_state.yaml) shows cross
  20 on all twelve positions, and its recorded meta of the time (test_get_info.yaml) gives those assets
  maxLeverage 50. An onlyIsolated asset defaults to isolated at the same value and refuses cross ("Cross margin is
  not allowed for this asset."). The simulated onlyIsolated asset is TON (`ONLY_ISOLATED`).
- Margin: an order must fit the account's free margin (account value - margin used - resting orders' margin): what
  it adds to the position at its fill price, and what rests at its limit price, each over the leverage.
- Orders: "Exchange endpoint" (order wire a/b/p/s/r/t/c; IoC, Gtc, Alo; reduce-only) and "Tick and lot size": a size
  has at most szDecimals decimals; a price has at most 5 significant figures (integers always pass) and at most
  6 - szDecimals decimals. Order errors are the texts of "Error responses"; the statuses are those the info
  endpoint's orderStatus lists (filled, open, canceled, iocCancelRejected, perpMarginRejected, reduceOnlyRejected,
  minTradeNtlRejected, badAloPxRejected). The minimum order value and the fees come from
  `vprime_venues.hyperliquid.constants`.
- A cloid the account has already used is refused as "Duplicate cloid." (the docs do not say what the venue does).
  A cloid counts as used once the venue gave its order an oid, whatever that order's fate.
- Fills: one per book level taken, shaped as userFills (coin, px, sz, side, time, startPosition, dir, closedPnl,
  hash, oid, crossed, fee, tid, feeToken), newest first, as the SDK's recorded userFills answer is ordered.
- Resting orders (Gtc, Alo) fill at their own price, as maker, once the book crosses them (`sweep`).

Texts the docs do not give, chosen here: "Duplicate cloid.", "Invalid asset.", "Trading is halted for this
asset.", "Trigger orders are not simulated.", "Invalid leverage value" (a leverage outside 1..maxLeverage).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from vprime_venues.hyperliquid.constants import MAKER_FEE_BPS, MIN_NOTIONAL_USD, TAKER_FEE_BPS

if TYPE_CHECKING:
    from vprime_simulator.exchange import Exchange, SimMarket

VENUE = "HYPERLIQUID"
ONLY_ISOLATED = frozenset({"TON"})  # simulated: assets whose meta carries "onlyIsolated": true
DEFAULT_LEVERAGE = 20  # capped at the asset's maxLeverage
MAX_DECIMALS = 6  # perps: a price has at most MAX_DECIMALS - szDecimals decimals
MAX_SIG_FIGS = 5
KEPT_NONCES = 100
NONCE_BEHIND_MS = 2 * 24 * 3600 * 1000
NONCE_AHEAD_MS = 24 * 3600 * 1000
BOOK_LEVELS = 50
MAX_FILLS = 2000  # userFills and userFillsByTime answer at most this many
USD = Decimal("0.000001")
ZERO = Decimal(0)

# Errors, as the venue writes them ("Error responses", and what the venue answers for signers and nonces).
IOC_NO_MATCH = "Order could not immediately match against any resting orders. asset={asset}"
INSUFFICIENT_MARGIN = "Insufficient margin to place order."
MIN_VALUE = f"Order must have minimum value of ${MIN_NOTIONAL_USD:g}."
REDUCE_ONLY = "Reduce only order would increase position."
BAD_ALO = "Post only order would have immediately matched, bbo was {bid}@{ask}"
INVALID_PRICE = "Order has invalid price."
INVALID_SIZE = "Order has invalid size."
ZERO_SIZE = "Order has zero size."
CANCEL_MISSING = "Order was never placed, already canceled, or filled. asset={asset}"
UNKNOWN_SIGNER = "User or API Wallet {signer} does not exist."
MUST_DEPOSIT = "Must deposit before performing actions. User: {user}"
DUPLICATE_NONCE = "Invalid nonce: duplicate nonce {nonce}"
NONCE_TOO_LOW = "Invalid nonce: nonce too low {nonce} < {least}"
NONCE_TOO_HIGH = "Invalid nonce: nonce too high {nonce} > {most}"
CROSS_NOT_ALLOWED = "Cross margin is not allowed for this asset."
SWITCH_WITH_POSITION = "Cannot switch leverage type with open position."
DECREASE_WITHOUT_MARGIN = "{kind} position does not have sufficient margin available to decrease leverage."
INVALID_LEVERAGE = "Invalid leverage value"
DUPLICATE_CLOID = "Duplicate cloid."
INVALID_ASSET = "Invalid asset."
HALTED = "Trading is halted for this asset."
NO_TRIGGERS = "Trigger orders are not simulated."


class VenueError(Exception):
    """An action the venue refuses as a whole: `{"status": "err", "response": <text>}`."""


class Malformed(Exception):
    """A body the venue cannot deserialize: HTTP 422, plain text."""


# ---- numbers as the venue writes them ------------------------------------------------------------


def wire(x: Decimal | float | int, places: int = 8) -> str:
    """A decimal string as the venue writes one: no exponent, no trailing zeros, at least one decimal ("20.0")."""
    d = x if isinstance(x, Decimal) else Decimal(str(x))
    d = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN).normalize()
    s = format(d, "f")
    if "." not in s:
        s += ".0"
    return "0.0" if s in ("-0.0", "-0") else s


def usd(x: Decimal) -> str:
    return wire(x, 6)


def price_decimals(px: float | Decimal, sz_decimals: int) -> int:
    """How many decimals a valid price of this size has: 5 significant figures, at most 6 - szDecimals decimals."""
    value = float(px)
    if value <= 0:
        return MAX_DECIMALS - sz_decimals
    return max(0, min(MAX_DECIMALS - sz_decimals, MAX_SIG_FIGS - 1 - math.floor(math.log10(value))))


def valid_px(px: float | Decimal, sz_decimals: int, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """The nearest valid price (rounded down for bids, up for asks)."""
    d = Decimal(str(px))
    return d.quantize(Decimal(1).scaleb(-price_decimals(d, sz_decimals)), rounding=rounding)


def price_ok(px: Decimal, sz_decimals: int) -> bool:
    if px <= 0:
        return False
    t = px.normalize().as_tuple()
    decimals = max(-int(t.exponent), 0)
    integral = px == px.to_integral_value()
    return (integral or len(t.digits) <= MAX_SIG_FIGS) and decimals <= MAX_DECIMALS - sz_decimals


def size_ok(sz: Decimal, sz_decimals: int) -> bool:
    return sz >= 0 and max(-int(sz.normalize().as_tuple().exponent), 0) <= sz_decimals


def address_ok(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 42 and value[:2] in ("0x", "0X") and _hex(value[2:])


def cloid_ok(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 34 and value.startswith("0x") and _hex(value[2:])


def _hex(s: str) -> bool:
    try:
        int(s, 16)
    except ValueError:
        return False
    return True


# ---- state ---------------------------------------------------------------------------------------


@dataclass
class Position:
    szi: Decimal = ZERO  # signed size, long > 0
    entry_px: Decimal = ZERO


@dataclass
class HlAccount:
    address: str
    usdc: Decimal  # deposits, realised PnL and fees: the account's raw USDC
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, tuple[str, int]] = field(default_factory=dict)  # coin → ("cross" | "isolated", value)


@dataclass
class Agent:
    address: str
    account: str
    name: str


@dataclass
class HlOrder:
    oid: int
    user: str
    coin: str
    asset: int
    is_buy: bool
    limit_px: Decimal
    orig_sz: Decimal
    sz: Decimal  # what is left
    tif: str
    reduce_only: bool
    cloid: str | None
    timestamp: int
    status: str
    status_timestamp: int

    def wire(self, sz_decimals: int) -> dict[str, Any]:
        """The order object orderStatus answers (the info endpoint's "Query order status by oid or cloid")."""
        return {"coin": self.coin, "side": "B" if self.is_buy else "A", "limitPx": wire(self.limit_px),
                "sz": wire(self.sz, sz_decimals), "oid": self.oid, "timestamp": self.timestamp, "triggerCondition": "N/A",
                "isTrigger": False, "triggerPx": "0.0", "children": [], "isPositionTpsl": False,
                "reduceOnly": self.reduce_only, "orderType": "Limit", "origSz": wire(self.orig_sz, sz_decimals),
                "tif": self.tif, "cloid": self.cloid}


@dataclass
class OrderWire:
    asset: int
    is_buy: bool
    px: Decimal
    sz: Decimal
    reduce_only: bool
    tif: str | None  # None: a trigger order
    cloid: str | None


def parse_order_wire(raw: Any) -> OrderWire:
    """The SDK's OrderWire (signing.py): {a, b, p, s, r, t, c?}; anything else fails to deserialize."""
    if not isinstance(raw, dict) or not {"a", "b", "p", "s", "r", "t"} <= raw.keys():
        raise Malformed("order wire needs a, b, p, s, r, t")
    a, b, p, s, r, t, c = raw["a"], raw["b"], raw["p"], raw["s"], raw["r"], raw["t"], raw.get("c")
    if isinstance(a, bool) or not isinstance(a, int) or not isinstance(b, bool) or not isinstance(r, bool):
        raise Malformed("a is an integer; b and r are booleans")
    if not isinstance(p, str) or not isinstance(s, str):
        raise Malformed("p and s are decimal strings")
    try:
        px, sz = Decimal(p), Decimal(s)
    except ArithmeticError as exc:
        raise Malformed("p and s are decimal strings") from exc
    if not px.is_finite() or not sz.is_finite():
        raise Malformed("p and s are decimal strings")
    if c is not None and not cloid_ok(c):
        raise Malformed("c is a 16-byte hex string")
    tif: str | None
    if isinstance(t, dict) and isinstance(t.get("limit"), dict) and t["limit"].get("tif") in ("Alo", "Ioc", "Gtc"):
        tif = t["limit"]["tif"]
    elif isinstance(t, dict) and isinstance(t.get("trigger"), dict):
        tif = None
    else:
        raise Malformed("t is {limit: {tif: Alo|Ioc|Gtc}} or {trigger: …}")
    return OrderWire(a, b, px, sz, r, tif, c.lower() if c else None)


class Clearinghouse:
    def __init__(self, exchange: Exchange, clock: Callable[[], float] = time.time) -> None:
        self.exchange = exchange
        self.clock = clock
        self.accounts: dict[str, HlAccount] = {}
        self.agents: dict[str, Agent] = {}
        self.nonces: dict[str, list[int]] = {}  # signer → kept nonces, ascending
        self.orders: dict[int, HlOrder] = {}
        self.resting: dict[int, HlOrder] = {}  # the orders on the book ("open")
        self.cloids: dict[tuple[str, str], int] = {}  # (account, cloid) → oid
        self.fills: dict[str, list[dict[str, Any]]] = {}  # account → fills, oldest first
        self._oids = itertools.count(1_000_000)
        self._tids = itertools.count(500_000_000_000)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # ---- markets -------------------------------------------------------------------------------
    def markets(self) -> list[SimMarket]:
        return sorted(self.exchange.markets[VENUE].values(), key=lambda m: m.index)

    def by_asset(self, asset: int) -> SimMarket | None:
        return next((m for m in self.exchange.markets[VENUE].values() if m.index == asset), None)

    def by_coin(self, coin: str) -> SimMarket | None:
        return self.exchange.markets[VENUE].get(coin)

    def mark(self, m: SimMarket) -> Decimal:
        return valid_px(self.exchange.mid(m), m.sz_decimals)

    def levels(self, m: SimMarket, asks: bool, n: int = BOOK_LEVELS) -> list[tuple[Decimal, Decimal]]:
        """The book in the venue's units: valid prices (bids rounded down, asks up), sizes at szDecimals."""
        book = self.exchange.book(m, levels=n)
        lot = Decimal(1).scaleb(-m.sz_decimals)
        out = []
        for px, sz in book["asks" if asks else "bids"]:
            p = valid_px(px, m.sz_decimals, ROUND_CEILING if asks else ROUND_FLOOR)
            s = Decimal(str(sz)).quantize(lot, rounding=ROUND_DOWN)
            if p > 0 and s > 0:
                out.append((p, s))
        return out

    def only_isolated(self, m: SimMarket) -> bool:
        return m.symbol in ONLY_ISOLATED

    # ---- accounts and API wallets ----------------------------------------------------------------
    def fund(self, address: str, equity_usd: float) -> HlAccount:
        acct = self.accounts.get(address.lower())
        if acct is None:
            acct = self.accounts[address.lower()] = HlAccount(address.lower(), ZERO)
        acct.usdc = Decimal(str(equity_usd)).quantize(USD)
        return acct

    def approve_agent(self, account: str, agent: str, name: str = "") -> None:
        """The account's unnamed API wallet (name "") or the one of that name is replaced, as ApproveAgent does."""
        account, agent = account.lower(), agent.lower()
        for old in [a for a in self.agents.values() if a.account == account and a.name == name]:
            self.agents.pop(old.address, None)
            self.nonces.pop(old.address, None)  # a deregistered wallet's nonce state is pruned
        self.agents[agent] = Agent(agent, account, name)

    def signer_account(self, signer: str) -> HlAccount | None:
        """The account an L1 action signed by `signer` trades for: its own, or the one that approved it."""
        signer = signer.lower()
        if (agent := self.agents.get(signer)) is not None:
            return self.accounts.get(agent.account)
        return self.accounts.get(signer)

    def leverage(self, acct: HlAccount | None, m: SimMarket) -> tuple[str, int]:
        if acct is not None and m.symbol in acct.leverage:
            return acct.leverage[m.symbol]
        return ("isolated" if self.only_isolated(m) else "cross", min(DEFAULT_LEVERAGE, int(m.max_leverage)))

    # ---- nonces ---------------------------------------------------------------------------------
    def nonce_in_window(self, nonce: int) -> None:
        now = self.now_ms()
        least, most = now - NONCE_BEHIND_MS, now + NONCE_AHEAD_MS
        if nonce <= least:
            raise VenueError(NONCE_TOO_LOW.format(nonce=nonce, least=least))
        if nonce >= most:
            raise VenueError(NONCE_TOO_HIGH.format(nonce=nonce, most=most))

    def use_nonce(self, signer: str, nonce: int) -> None:
        kept = self.nonces.setdefault(signer.lower(), [])
        if nonce in kept:
            raise VenueError(DUPLICATE_NONCE.format(nonce=nonce))
        if len(kept) >= KEPT_NONCES and nonce <= kept[0]:
            raise VenueError(NONCE_TOO_LOW.format(nonce=nonce, least=kept[0]))
        kept.append(nonce)
        kept.sort()
        del kept[:-KEPT_NONCES]

    # ---- margin -----------------------------------------------------------------------------------
    def _summary(self, acct: HlAccount) -> dict[str, Any]:
        """Per-position figures and the account's totals (Margining: margin = notional / leverage; maintenance is
        half the margin at max leverage)."""
        rows = []
        for coin, pos in acct.positions.items():
            if pos.szi == 0:
                continue
            m = self.by_coin(coin)
            assert m is not None
            kind, lev = self.leverage(acct, m)
            mark = self.mark(m)
            ntl = abs(pos.szi) * mark
            rows.append({"coin": coin, "m": m, "pos": pos, "kind": kind, "lev": lev, "mark": mark, "ntl": ntl,
                         "upnl": (mark - pos.entry_px) * pos.szi, "margin": ntl / lev,
                         "maint": ntl / Decimal(int(m.max_leverage)) / 2})
        value = acct.usdc + sum((r["upnl"] for r in rows), ZERO)
        used = sum((r["margin"] for r in rows), ZERO)
        return {"rows": rows, "value": value, "used": used, "ntl": sum((r["ntl"] for r in rows), ZERO),
                "raw": value - sum((r["pos"].szi * r["mark"] for r in rows), ZERO),
                "maint": sum((r["maint"] for r in rows if r["kind"] == "cross"), ZERO)}

    def _open_order_margin(self, acct: HlAccount) -> Decimal:
        total = ZERO
        for o in self.resting.values():
            if o.user == acct.address and not o.reduce_only:
                m = self.by_coin(o.coin)
                assert m is not None
                total += o.sz * o.limit_px / self.leverage(acct, m)[1]
        return total

    def free_margin(self, acct: HlAccount) -> Decimal:
        s = self._summary(acct)
        return s["value"] - s["used"] - self._open_order_margin(acct)

    # ---- actions --------------------------------------------------------------------------------
    def update_leverage(self, acct: HlAccount, asset: Any, is_cross: Any, leverage: Any) -> None:
        if isinstance(asset, bool) or not isinstance(asset, int) or not isinstance(is_cross, bool) \
                or isinstance(leverage, bool) or not isinstance(leverage, int):
            raise Malformed("updateLeverage needs asset (integer), isCross (boolean), leverage (integer)")
        m = self.by_asset(asset)
        if m is None:
            raise VenueError(INVALID_ASSET)
        if leverage < 1 or leverage > int(m.max_leverage):
            raise VenueError(INVALID_LEVERAGE)
        if is_cross and self.only_isolated(m):
            raise VenueError(CROSS_NOT_ALLOWED)
        kind = "cross" if is_cross else "isolated"
        before = self.leverage(acct, m)
        pos = acct.positions.get(m.symbol)
        if pos is not None and pos.szi != 0:
            if kind != before[0]:
                raise VenueError(SWITCH_WITH_POSITION)
            if leverage < before[1]:
                extra = abs(pos.szi) * self.mark(m) * (Decimal(1) / leverage - Decimal(1) / before[1])
                if extra > self.free_margin(acct):
                    raise VenueError(DECREASE_WITHOUT_MARGIN.format(kind=kind.capitalize()))
        acct.leverage[m.symbol] = (kind, leverage)

    def place(self, acct: HlAccount, wires: list[OrderWire], action_hash: str, *, reject: bool = False) -> list[Any]:
        """An order action: one status per wire, in order (Exchange endpoint, "Place an order")."""
        return [self._place_one(acct, w, action_hash, reject) for w in wires]

    def _place_one(self, acct: HlAccount, w: OrderWire, action_hash: str, reject: bool) -> Any:
        m = self.by_asset(w.asset)
        if m is None:
            return {"error": INVALID_ASSET}
        if w.tif is None:
            return {"error": NO_TRIGGERS}
        if not size_ok(w.sz, m.sz_decimals):
            return {"error": INVALID_SIZE}
        if w.sz == 0:
            return {"error": ZERO_SIZE}
        if not price_ok(w.px, m.sz_decimals):
            return {"error": INVALID_PRICE}
        if w.cloid is not None and (acct.address, w.cloid) in self.cloids:
            return {"error": DUPLICATE_CLOID}
        if reject:
            return {"error": "Order rejected (simulated)."}
        if m.delisted or not m.open:
            return {"error": HALTED}
        now = self.now_ms()
        order = HlOrder(next(self._oids), acct.address, m.symbol, m.index, w.is_buy, w.px, w.sz, w.sz, w.tif,
                        w.reduce_only, w.cloid, now, "placing", now)
        self.orders[order.oid] = order
        if w.cloid is not None:
            self.cloids[(acct.address, w.cloid)] = order.oid
        return self._execute(acct, m, order, action_hash)

    def _refuse(self, order: HlOrder, status: str, text: str) -> dict[str, str]:
        order.status, order.status_timestamp = status, self.now_ms()
        return {"error": text}

    def _execute(self, acct: HlAccount, m: SimMarket, order: HlOrder, action_hash: str) -> dict[str, Any]:
        held = acct.positions.get(m.symbol, Position()).szi
        size = order.sz
        if order.reduce_only:
            if held == 0 or (held > 0) == order.is_buy:
                return self._refuse(order, "reduceOnlyRejected", REDUCE_ONLY)
            size = min(size, abs(held))  # a reduce-only order never takes more than the position
        elif size * order.limit_px < Decimal(str(MIN_NOTIONAL_USD)):
            return self._refuse(order, "minTradeNtlRejected", MIN_VALUE)
        asks, bids = self.levels(m, True), self.levels(m, False)
        crossing = [(px, sz) for px, sz in (asks if order.is_buy else bids)
                    if (px <= order.limit_px if order.is_buy else px >= order.limit_px)]
        if order.tif == "Alo" and crossing:
            return self._refuse(order, "badAloPxRejected", BAD_ALO.format(bid=wire(bids[0][0]), ask=wire(asks[0][0])))
        if order.tif == "Ioc" and not crossing:
            return self._refuse(order, "iocCancelRejected", IOC_NO_MATCH.format(asset=m.index))
        taken: list[tuple[Decimal, Decimal]] = []
        left = size
        for px, sz in crossing:
            take = min(left, sz)
            taken.append((px, take))
            left -= take
            if left <= 0:
                break
        filled = sum((sz for _, sz in taken), ZERO)
        resting = left if order.tif in ("Gtc", "Alo") and left > 0 else ZERO
        if not order.reduce_only:
            kind, lev = self.leverage(acct, m)
            signed = filled if order.is_buy else -filled
            grows = max(abs(held + signed) - abs(held), ZERO)  # what the fill adds to the position
            avg = sum((px * sz for px, sz in taken), ZERO) / filled if filled else order.limit_px
            needed = (grows * avg + resting * order.limit_px) / lev
            if needed > 0 and needed > self.free_margin(acct):
                return self._refuse(order, "perpMarginRejected", INSUFFICIENT_MARGIN)
        for px, sz in taken:
            self._fill(acct, m, order, sz, px, crossed=True, action_hash=action_hash)
        order.sz = size - filled
        now = self.now_ms()
        if order.sz == 0:
            order.status, order.status_timestamp = "filled", now
        elif resting > 0:
            order.status, order.status_timestamp = "open", now  # rests on the book
            self.resting[order.oid] = order
        else:
            order.status, order.status_timestamp = "canceled", now  # an IoC's unfilled rest
        tag = {"cloid": order.cloid} if order.cloid else {}
        if filled and order.status != "open":
            avg = sum((px * sz for px, sz in taken), ZERO) / filled
            return {"filled": {"totalSz": wire(filled, m.sz_decimals), "avgPx": wire(avg), "oid": order.oid, **tag}}
        return {"resting": {"oid": order.oid, **tag}}

    def _fill(self, acct: HlAccount, m: SimMarket, order: HlOrder, sz: Decimal, px: Decimal, *, crossed: bool,
              action_hash: str) -> None:
        pos = acct.positions.setdefault(m.symbol, Position())
        start = pos.szi
        signed = sz if order.is_buy else -sz
        closed = ZERO
        if start == 0 or (start > 0) == (signed > 0):
            new = start + signed
            pos.entry_px = (pos.entry_px * abs(start) + px * sz) / abs(new)
            direction = "Open Long" if signed > 0 else "Open Short"
        else:
            closing = min(sz, abs(start))
            closed = (px - pos.entry_px) * closing * (1 if start > 0 else -1)
            new = start + signed
            if new == 0:
                pos.entry_px = ZERO
                direction = "Close Long" if start > 0 else "Close Short"
            elif (new > 0) != (start > 0):
                pos.entry_px = px
                direction = "Long > Short" if start > 0 else "Short > Long"
            else:
                direction = "Close Long" if start > 0 else "Close Short"
        pos.szi = new
        fee = (px * sz * Decimal(str(TAKER_FEE_BPS if crossed else MAKER_FEE_BPS)) / 10_000).quantize(USD)
        acct.usdc += closed.quantize(USD) - fee
        self.fills.setdefault(acct.address, []).append({
            "closedPnl": usd(closed), "coin": m.symbol, "crossed": crossed, "dir": direction, "hash": action_hash,
            "oid": order.oid, "px": wire(px), "side": "B" if order.is_buy else "A",
            "startPosition": wire(start, m.sz_decimals), "sz": wire(sz, m.sz_decimals), "time": self.now_ms(),
            "fee": usd(fee), "feeToken": "USDC", "tid": next(self._tids)})

    def cancel(self, acct: HlAccount, asset: int, oid: int | None = None, cloid: str | None = None) -> Any:
        if oid is None and cloid is not None:
            oid = self.cloids.get((acct.address, cloid.lower()))
        order = self.orders.get(oid) if oid is not None else None
        if order is None or order.user != acct.address or order.asset != asset or order.status != "open":
            return {"error": CANCEL_MISSING.format(asset=asset)}
        order.status, order.status_timestamp = "canceled", self.now_ms()
        self.resting.pop(order.oid, None)
        return "success"

    def sweep(self) -> None:
        """Resting orders the book now crosses fill at their own price, as maker."""
        for order in list(self.resting.values()):
            m = self.by_coin(order.coin)
            acct = self.accounts.get(order.user)
            if m is None or acct is None:
                continue
            best = self.levels(m, order.is_buy, n=1)
            if not best or (best[0][0] > order.limit_px if order.is_buy else best[0][0] < order.limit_px):
                continue
            size = order.sz
            if order.reduce_only:
                held = acct.positions.get(m.symbol, Position()).szi
                if held == 0 or (held > 0) == order.is_buy:
                    order.status, order.status_timestamp = "reduceOnlyCanceled", self.now_ms()
                    self.resting.pop(order.oid, None)
                    continue
                size = min(size, abs(held))
            self._fill(acct, m, order, size, order.limit_px, crossed=False,
                       action_hash="0x" + hashlib.sha256(f"sweep:{order.oid}".encode()).hexdigest())
            order.sz = ZERO
            order.status, order.status_timestamp = "filled", self.now_ms()
            self.resting.pop(order.oid, None)

    # ---- info -----------------------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        """"meta": the universe, with onlyIsolated and isDelisted only on the assets that have them, and the margin
        tables the assets name (one tier each: the asset's maxLeverage)."""
        universe = []
        for m in self.markets():
            row: dict[str, Any] = {"szDecimals": m.sz_decimals, "name": m.symbol, "maxLeverage": int(m.max_leverage),
                                   "marginTableId": int(m.max_leverage)}
            if self.only_isolated(m):
                row["onlyIsolated"] = True
            if m.delisted:
                row["isDelisted"] = True
            universe.append(row)
        tables = sorted({int(m.max_leverage) for m in self.markets()})
        return {"universe": universe, "marginTables": [
            [t, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": t}]}] for t in tables]}

    def asset_ctxs(self) -> list[dict[str, Any]]:
        out = []
        for m in self.markets():
            mark = self.mark(m)
            if m.delisted:
                mid, impact = None, None
            else:
                bid, ask = self.levels(m, False, 1)[0][0], self.levels(m, True, 1)[0][0]
                mid, impact = wire((bid + ask) / 2), [wire(bid), wire(ask)]
            out.append({"funding": wire(m.funding_hourly, 8), "openInterest": wire(Decimal(str(m.depth_usd * 40)) / mark,
                                                                                    m.sz_decimals),
                        "prevDayPx": wire(mark), "dayNtlVlm": usd(Decimal(str(m.depth_usd * 400))), "premium": "0.0",
                        "oraclePx": wire(mark), "markPx": wire(mark), "midPx": mid, "impactPxs": impact,
                        "dayBaseVlm": wire(Decimal(str(m.depth_usd * 400)) / mark, m.sz_decimals)})
        return out

    def all_mids(self) -> dict[str, str]:
        out = {}
        for m in self.markets():
            if not m.delisted:
                bid, ask = self.levels(m, False, 1)[0][0], self.levels(m, True, 1)[0][0]
                out[m.symbol] = wire((bid + ask) / 2)
        return out

    def l2_book(self, coin: str) -> dict[str, Any]:
        m = self.by_coin(coin)
        if m is None:
            raise Malformed(f"unknown coin {coin!r}")
        side = lambda asks: [{"px": wire(px), "sz": wire(sz, m.sz_decimals), "n": 1}  # noqa: E731
                             for px, sz in self.levels(m, asks, 20)]
        return {"coin": m.symbol, "time": self.now_ms(), "levels": [side(False), side(True)]}

    def clearinghouse_state(self, user: str) -> dict[str, Any]:
        """"clearinghouseState" of an account; an API wallet's address or an unknown one answers empty."""
        acct = self.accounts.get(user.lower())
        if acct is None:
            zeros = {"accountValue": "0.0", "totalNtlPos": "0.0", "totalRawUsd": "0.0", "totalMarginUsed": "0.0"}
            return {"marginSummary": dict(zeros), "crossMarginSummary": dict(zeros), "crossMaintenanceMarginUsed": "0.0",
                    "withdrawable": "0.0", "assetPositions": [], "time": self.now_ms()}
        s = self._summary(acct)
        positions = []
        for r in s["rows"]:
            m, pos, kind, lev = r["m"], r["pos"], r["kind"], r["lev"]
            entry_margin = abs(pos.szi) * pos.entry_px / lev
            leverage: dict[str, Any] = {"type": kind, "value": lev}
            if kind == "isolated":
                leverage["rawUsd"] = usd(entry_margin - pos.szi * pos.entry_px)
                cushion = entry_margin - r["maint"]
            else:
                cushion = s["value"] - s["maint"]
            liq = r["mark"] - (1 if pos.szi > 0 else -1) * cushion / abs(pos.szi)
            positions.append({"type": "oneWay", "position": {
                "coin": r["coin"], "szi": wire(pos.szi, m.sz_decimals), "leverage": leverage, "entryPx": wire(pos.entry_px),
                "positionValue": usd(r["ntl"]), "unrealizedPnl": usd(r["upnl"]),
                "returnOnEquity": wire(r["upnl"] / entry_margin) if entry_margin else "0.0",
                "liquidationPx": wire(valid_px(liq, m.sz_decimals)) if liq > 0 else None, "marginUsed": usd(r["margin"]),
                "maxLeverage": int(m.max_leverage),
                "cumFunding": {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"}}})
        cross = [r for r in s["rows"] if r["kind"] == "cross"]
        isolated_margin = sum((r["margin"] + r["upnl"] for r in s["rows"] if r["kind"] == "isolated"), ZERO)
        cross_value = s["value"] - isolated_margin
        summary = {"accountValue": usd(s["value"]), "totalNtlPos": usd(s["ntl"]), "totalRawUsd": usd(s["raw"]),
                   "totalMarginUsed": usd(s["used"])}
        cross_summary = {"accountValue": usd(cross_value), "totalNtlPos": usd(sum((r["ntl"] for r in cross), ZERO)),
                         "totalRawUsd": usd(cross_value - sum((r["pos"].szi * r["mark"] for r in cross), ZERO)),
                         "totalMarginUsed": usd(sum((r["margin"] for r in cross), ZERO))}
        return {"marginSummary": summary, "crossMarginSummary": cross_summary,
                "crossMaintenanceMarginUsed": usd(s["maint"]), "withdrawable": usd(max(s["value"] - s["used"], ZERO)),
                "assetPositions": positions, "time": self.now_ms()}

    def active_asset_data(self, user: str, coin: str) -> dict[str, Any]:
        m = self.by_coin(coin)
        if m is None:
            raise Malformed(f"unknown coin {coin!r}")
        acct = self.accounts.get(user.lower())
        kind, lev = self.leverage(acct, m)
        mark = self.mark(m)
        free = max(self.free_margin(acct), ZERO) if acct is not None else ZERO
        lot = Decimal(1).scaleb(-m.sz_decimals)
        size = (free * lev / mark).quantize(lot, rounding=ROUND_DOWN)
        return {"user": user.lower(), "coin": m.symbol, "leverage": {"type": kind, "value": lev},
                "maxTradeSzs": [wire(size, m.sz_decimals)] * 2, "availableToTrade": [usd(free)] * 2, "markPx": wire(mark)}

    def order_status(self, user: str, oid: Any) -> dict[str, Any]:
        """"orderStatus" by oid (an integer) or cloid (a 16-byte hex string), for the account that placed it."""
        user = user.lower()
        if isinstance(oid, str):
            found = self.cloids.get((user, oid.lower()))
            order = self.orders.get(found) if found is not None else None
        else:
            order = self.orders.get(oid)
        if order is None or order.user != user:
            return {"status": "unknownOid"}
        m = self.by_coin(order.coin)
        assert m is not None
        return {"status": "order", "order": {"order": order.wire(m.sz_decimals), "status": order.status,
                                             "statusTimestamp": order.status_timestamp}}

    def open_orders(self, user: str) -> list[dict[str, Any]]:
        out = []
        for o in sorted(self.resting.values(), key=lambda o: -o.oid):
            if o.user == user.lower():
                m = self.by_coin(o.coin)
                assert m is not None
                out.append({"coin": o.coin, "limitPx": wire(o.limit_px), "oid": o.oid, "side": "B" if o.is_buy else "A",
                            "sz": wire(o.sz, m.sz_decimals), "timestamp": o.timestamp})
        return out

    def user_fills(self, user: str, start_ms: int | None = None, end_ms: int | None = None) -> list[dict[str, Any]]:
        fills = self.fills.get(user.lower(), [])
        if start_ms is not None:
            fills = [f for f in fills if f["time"] >= start_ms and (end_ms is None or f["time"] <= end_ms)]
        return list(reversed(fills))[:MAX_FILLS]

    def snapshot(self) -> dict[str, int]:
        return {"accounts": len(self.accounts), "agents": len(self.agents), "orders": len(self.orders),
                "fills": sum(len(f) for f in self.fills.values())}
