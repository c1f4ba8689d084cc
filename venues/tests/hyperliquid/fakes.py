"""A Hyperliquid double for `httpx.MockTransport`, strict where the venue is:

- every info query that names a user must name the account, never its agent wallet (the venue would answer an
  empty account); request bodies carry only documented keys;
- `/exchange` bodies are checked: the signature must recover (the SDK's `recover_agent_or_user_from_l1_action`, for
  this double's network, with the body's vaultAddress and expiresAfter) to the approved agent, else the venue's
  "does not exist" answer; an action past its expiresAfter is refused; nonces must be unused and above the
  smallest of the signer's 100 highest, within (now - 2 days, now + 1 day);
- order wires must have the SDK's keys in the SDK's order, price and size strings as `float_to_wire` makes them,
  sizes within szDecimals, prices within 5 significant figures (or integers) and 6 - szDecimals decimals;
- `updateLeverage` must give an integer leverage within the asset's maximum, and cross is refused on an
  `onlyIsolated` asset.

Anything off is recorded in `violations` (the fixture fails the test on it) and, where the venue would, answered as
the venue answers."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import re
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
from hyperliquid.utils.signing import recover_agent_or_user_from_l1_action

from vprime_shared.contracts import Order, RiskModel, Side, Venue

from venues.tests.hyperliquid import shapes

NUMBER = re.compile(r"^(0|[1-9]\d*)(\.\d*[1-9])?$")  # float_to_wire: no trailing zeros, no exponent, no sign
CLOID = re.compile(r"^0x[0-9a-f]{32}$")
ORDER_WIRE_KEYS = ["a", "b", "p", "s", "r", "t", "c"]
INFO_KEYS: dict[str, tuple[set[str], set[str]]] = {  # type -> (required, optional)
    "meta": ({"type"}, {"dex"}),
    "allMids": ({"type"}, {"dex"}),
    "metaAndAssetCtxs": ({"type"}, {"dex"}),
    "l2Book": ({"type", "coin"}, {"nSigFigs", "mantissa"}),
    "clearinghouseState": ({"type", "user"}, {"dex"}),
    "activeAssetData": ({"type", "user", "coin"}, set()),
    "orderStatus": ({"type", "user", "oid"}, set()),
    "userFills": ({"type", "user"}, {"aggregateByTime"}),
    "userFillsByTime": ({"type", "user", "startTime"}, {"endTime", "aggregateByTime"}),
}
DAY_MS = 86_400_000

Reply = Callable[[dict[str, Any]], dict[str, Any]]  # order wire -> its status entry


class FakeHyperliquid:
    def __init__(self, *, agent: str, account: str, mainnet: bool) -> None:
        self.agent, self.account, self.mainnet = agent.lower(), account.lower(), mainnet
        self.universe = shapes.meta()["universe"]
        self.mids = dict(shapes.MIDS)
        self.leverage: dict[str, dict[str, Any]] = {}  # coin -> {"type", "value"}; default cross 20 (or isolated)
        self.account_value = "10000.0"
        self.positions: list[dict[str, Any]] = []
        self.books: dict[str, dict[str, Any]] = {}
        self.ctxs: list[dict[str, Any]] | None = None
        self.violations: list[str] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.nonces: dict[str, list[int]] = {}  # signer -> min-heap of its 100 highest
        self.order_replies: list[Reply] = []  # consumed one per order; the default fills at the mid
        self.leverage_replies: list[dict[str, Any]] = []  # consumed one per updateLeverage; default ok
        self.lose_answers: list[type[httpx.HTTPError]] = []  # /exchange: take the action, then fail like this
        self.throttle: dict[str, int] = {}  # info type or "exchange" -> how many 429s to answer first
        self.orders: dict[str, dict[str, Any]] = {}  # cloid -> {"order": frontend order, "status": ...}
        self.fills: list[dict[str, Any]] = []
        self.record_fills = True  # False: fills not visible yet
        self.fee_rate = Decimal("0.0003")  # the account's fee tier: not the base 4.5 bps the adapter falls back to
        self._oids = itertools.count(9_000_000_001)
        self._tids = itertools.count(1)

    # ---- plumbing --------------------------------------------------------------------------------
    def transport(self) -> httpx.MockTransport:
        """Each request yields to the event loop before it is answered, as a network round trip does, so
        concurrent callers interleave."""
        async def handle(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0)
            return self.handle(request)

        return httpx.MockTransport(handle)

    def violation(self, message: str) -> None:
        self.violations.append(message)
        raise AssertionError(message)

    def sent(self, kind: str) -> list[dict[str, Any]]:
        """The bodies sent of one info type, or of one exchange action type."""
        return [b for path, b in self.requests if (b.get("type") if path == "/info" else b["action"].get("type")) == kind]

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        path = request.url.path
        self.requests.append((path, body))
        if path == "/info":
            return self.info(body)
        if path == "/exchange":
            return self.exchange(body)
        self.violation(f"unexpected path {path}")
        raise AssertionError  # unreachable

    def _throttled(self, key: str) -> bool:
        if self.throttle.get(key, 0) > 0:
            self.throttle[key] -= 1
            return True
        return False

    def asset(self, index: int) -> dict[str, Any]:
        return self.universe[index]

    def leverage_of(self, coin: str) -> dict[str, Any]:
        entry = next(a for a in self.universe if a["name"] == coin)
        isolated = entry.get("onlyIsolated") or entry.get("marginMode") in ("strictIsolated", "noCross")
        return self.leverage.get(coin, {"type": "isolated", "value": 3, "rawUsd": "0.0"} if isolated
                                 else {"type": "cross", "value": 20})

    # ---- info ------------------------------------------------------------------------------------
    def info(self, body: dict[str, Any]) -> httpx.Response:
        kind = body.get("type")
        if kind not in INFO_KEYS:
            self.violation(f"undocumented or unexpected info type {kind!r}")
        required, optional = INFO_KEYS[kind]
        if not required <= body.keys() <= required | optional:
            self.violation(f"{kind} body keys {sorted(body)}; documented: {sorted(required)} + {sorted(optional)}")
        if "user" in body:
            user = str(body["user"]).lower()
            if user == self.agent:
                self.violation(f"{kind} names the agent wallet {user}: an API wallet holds nothing")
            if user != self.account:
                self.violation(f"{kind} names {user}, not the account {self.account}")
        if self._throttled(kind):
            return httpx.Response(429, text="null")
        now = int(time.time() * 1000)
        if kind == "meta":
            return httpx.Response(200, json={"universe": self.universe, "marginTables": []})
        if kind == "allMids":
            return httpx.Response(200, json=self.mids)
        if kind == "metaAndAssetCtxs":
            ctxs = self.ctxs or shapes.meta_and_asset_ctxs()[1]
            return httpx.Response(200, json=[{"universe": self.universe, "marginTables": []}, ctxs])
        if kind == "l2Book":
            return httpx.Response(200, json=self.books[body["coin"]])
        if kind == "clearinghouseState":
            return httpx.Response(200, json=shapes.clearinghouse_state(self.account_value, self.positions, now))
        if kind == "activeAssetData":
            coin = body["coin"]
            return httpx.Response(200, json=shapes.active_asset_data(body["user"], coin, self.leverage_of(coin), self.mids[coin]))
        if kind == "orderStatus":
            oid = body["oid"]
            if not (isinstance(oid, int) or (isinstance(oid, str) and CLOID.match(oid))):
                self.violation(f"orderStatus oid {oid!r}: an integer oid or a 16-byte hex cloid")
            found = self.orders.get(oid) if isinstance(oid, str) else None
            if found is None:
                return httpx.Response(200, json=shapes.UNKNOWN_OID)
            return httpx.Response(200, json=shapes.order_status(found["order"], found["status"], found["order"]["timestamp"]))
        if kind in ("userFills", "userFillsByTime"):
            fills = [f for f in self.fills if kind == "userFills" or f["time"] >= body["startTime"]]
            return httpx.Response(200, json=sorted(fills, key=lambda f: -f["time"]))
        raise AssertionError(kind)

    # ---- exchange --------------------------------------------------------------------------------
    def exchange(self, body: dict[str, Any]) -> httpx.Response:
        allowed = {"action", "nonce", "signature", "vaultAddress", "expiresAfter"}
        if not {"action", "nonce", "signature"} <= body.keys() <= allowed:
            self.violation(f"exchange body keys {sorted(body)}")
        if self._throttled("exchange"):
            return httpx.Response(429, text="null")
        action, nonce, signature = body["action"], body["nonce"], body["signature"]
        signer = recover_agent_or_user_from_l1_action(action, signature, body.get("vaultAddress"), nonce,
                                                      body.get("expiresAfter"), self.mainnet).lower()
        if signer != self.agent:
            return httpx.Response(200, json=shapes.err(f"User or API Wallet {signer} does not exist."))
        expires = body.get("expiresAfter")
        if expires is not None and not isinstance(expires, int):
            self.violation(f"expiresAfter {expires!r} is not milliseconds")
        if expires is not None and int(time.time() * 1000) > expires:
            return httpx.Response(200, json=shapes.err("Action already expired"))
        problem = self._use_nonce(signer, nonce)
        if problem:
            self.violations.append(problem)
            return httpx.Response(200, json=shapes.err(problem))
        if action.get("type") == "order":
            answer = self.order(action)
        elif action.get("type") == "updateLeverage":
            answer = self.update_leverage(action)
        else:
            self.violation(f"unexpected action {action.get('type')!r}")
            raise AssertionError
        if self.lose_answers:
            raise self.lose_answers.pop(0)("the answer was lost")
        return httpx.Response(200, json=answer)

    def _use_nonce(self, signer: str, nonce: Any) -> str | None:
        if not isinstance(nonce, int):
            return f"nonce {nonce!r} is not an integer"
        now = int(time.time() * 1000)
        if not now - 2 * DAY_MS < nonce < now + DAY_MS:
            return f"nonce {nonce} is outside (now - 2 days, now + 1 day)"
        highest = self.nonces.setdefault(signer, [])
        if nonce in highest:
            return f"nonce {nonce} already used"
        if len(highest) >= 100:
            if nonce <= highest[0]:
                return f"nonce {nonce} is not above the smallest of the 100 highest ({highest[0]})"
            heapq.heapreplace(highest, nonce)
        else:
            heapq.heappush(highest, nonce)
        return None

    def _check_number(self, text: Any, what: str) -> Decimal:
        if not isinstance(text, str) or not NUMBER.match(text):
            self.violation(f"{what} {text!r} is not a float_to_wire string")
        return Decimal(text)

    def order(self, action: dict[str, Any]) -> dict[str, Any]:
        if list(action) != ["type", "orders", "grouping"] or action["grouping"] != "na":
            self.violation(f"order action {action!r} is not the SDK's order_wires_to_order_action")
        statuses = []
        for w in action["orders"]:
            if list(w) != ORDER_WIRE_KEYS:
                self.violation(f"order wire keys {list(w)}: the SDK sends {ORDER_WIRE_KEYS}")
            asset = self.asset(w["a"])
            px, sz = self._check_number(w["p"], "price"), self._check_number(w["s"], "size")
            decimals = max(0, -px.as_tuple().exponent)
            if px != px.to_integral_value() and (len(px.normalize().as_tuple().digits) > 5 or decimals > 6 - asset["szDecimals"]):
                self.violation(f"price {w['p']} breaks tick rules for {asset['name']}")
                statuses.append(shapes.error("Price must be divisible by tick size. asset=%d" % w["a"]))
                continue
            if max(0, -sz.as_tuple().exponent) > asset["szDecimals"] or sz <= 0:
                self.violation(f"size {w['s']} breaks lot rules for {asset['name']}")
                statuses.append(shapes.error("Order has invalid size."))
                continue
            if w["t"] != {"limit": {"tif": "Ioc"}} or not CLOID.match(w["c"]):
                self.violation(f"order type {w['t']} / cloid {w['c']!r}")
            reply = self.order_replies.pop(0) if self.order_replies else self.fill_at_mid
            status = reply(w)
            self._record(w, asset, status)
            statuses.append(status)
        return shapes.order_ok(*statuses)

    def fill_at_mid(self, w: dict[str, Any]) -> dict[str, Any]:
        return shapes.filled(w["s"], self.mids[self.asset(w["a"])["name"]], next(self._oids))

    def no_match(self, w: dict[str, Any]) -> dict[str, Any]:
        return shapes.error(f"Order could not immediately match against any resting orders. asset={w['a']}")

    def _record(self, w: dict[str, Any], asset: dict[str, Any], status: dict[str, Any]) -> None:
        now = int(time.time() * 1000)
        coin, side = asset["name"], "B" if w["b"] else "A"
        if "filled" in status:
            f = status["filled"]
            oid, total = f["oid"], Decimal(f["totalSz"])
            state = "filled" if total == Decimal(w["s"]) else "canceled"  # an IoC's remainder is canceled
            fee = (Decimal(f["avgPx"]) * total * self.fee_rate).quantize(Decimal("0.000001"))
            if self.record_fills:
                self.fills.append(shapes.fill(coin, oid, f["avgPx"], f["totalSz"], side, str(fee), now, next(self._tids)))
            remaining = str(Decimal(w["s"]) - total)
        elif "error" in status:
            state = "iocCancelRejected" if "immediately match" in status["error"] else "rejected"
            oid, remaining = next(self._oids), w["s"]
        else:
            oid, state, remaining = status["resting"]["oid"], "open", w["s"]
        self.orders[w["c"]] = {"order": shapes.frontend_order(coin, side, w["p"], remaining, w["s"], oid, now, w["c"], w["r"]),
                               "status": state}

    def update_leverage(self, action: dict[str, Any]) -> dict[str, Any]:
        if list(action) != ["type", "asset", "isCross", "leverage"]:
            self.violation(f"updateLeverage action keys {list(action)}")
        asset = self.asset(action["asset"])
        leverage = action["leverage"]
        if not isinstance(leverage, int) or isinstance(leverage, bool) or not 1 <= leverage <= asset["maxLeverage"]:
            self.violation(f"updateLeverage leverage {leverage!r} for {asset['name']} (max {asset['maxLeverage']})")
        if self.leverage_replies:
            return self.leverage_replies.pop(0)
        if action["isCross"] and (asset.get("onlyIsolated") or asset.get("marginMode") in ("strictIsolated", "noCross")):
            return shapes.err("Cross margin is not allowed for this asset.")
        self.leverage[asset["name"]] = ({"type": "cross", "value": leverage} if action["isCross"]
                                        else {"type": "isolated", "value": leverage, "rawUsd": "0.0"})
        return shapes.DEFAULT_OK


def an_order(symbol: str = "ETH", side: Side = Side.LONG, leverage: float = 20, multiplier: float = 1.0) -> Order:
    return Order(order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(), agent_id=uuid.uuid4(),
                 deployment_id=uuid.uuid4(), venue=Venue.HYPERLIQUID, venue_symbol=symbol, instrument=symbol.removeprefix("k"),
                 side=side, size_pct=10, leverage=leverage, taker_fee_bps=4.5, contract_multiplier=multiplier,
                 risk_model=RiskModel(type="none"))


def cloid() -> str:
    return "0x" + uuid.uuid4().hex
