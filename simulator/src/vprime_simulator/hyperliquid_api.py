"""Hyperliquid's HTTP surface: `POST {base}/hyperliquid/info` and `POST {base}/hyperliquid/exchange`, so
`{base}/hyperliquid` is the venue's base URL (the SDK's `base_url`). The state and its rules are `hyperliquid.py`.

What each part is checked against:
- Signatures (docs "Signing"; SDK hyperliquid/utils/signing.py). L1 actions (order, cancel, cancelByCloid,
  updateLeverage, noop) are verified as the SDK's `recover_agent_or_user_from_l1_action`: the EIP-712 "Agent" phantom
  agent over the msgpack action hash, its `source` "a" on mainnet and "b" on testnet. approveAgent is a user-signed
  action, verified as `recover_user_from_user_signed_action` with the types of the SDK's `sign_agent`
  ("HyperliquidTransaction:ApproveAgent": hyperliquidChain, agentAddress, agentName, nonce; an absent agentName
  signs as ""), `hyperliquidChain` being "Mainnet" or "Testnet" by this simulator's network. The network is
  `SIMULATOR_HYPERLIQUID_NETWORK` (testnet by default): a signature made for the other network recovers another
  address, which the venue then does not know.
- Who may act (docs "Nonces and API wallets"): an L1 action's signer is an approved API wallet, or an account
  signing for itself; anyone else is "User or API Wallet 0x… does not exist.". approveAgent needs a funded
  account: "Must deposit before performing actions. User: 0x…".
- Nonces (same page): "Invalid nonce: duplicate nonce N", "Invalid nonce: nonce too low N < M",
  "Invalid nonce: nonce too high N > M"; the window is checked before the signature is read.
- Answers (docs "Exchange endpoint", "Error responses"): `{"status": "ok", "response": {"type": "order" | "cancel",
  "data": {"statuses": [...]}}}`, `{"status": "ok", "response": {"type": "default"}}`, and
  `{"status": "err", "response": "<text>"}` for an action refused as a whole, all at HTTP 200. A body that does not
  deserialize (an unknown action or info type, a field of the wrong type, a cloid that is not 16 bytes of hex) is
  HTTP 422 "Failed to deserialize the JSON body into the target type", plain text, as the venue answers.
  A filled or resting status carries the order's cloid when it has one.
- Rate limits (docs "Rate limits"): per client address, a weight budget per minute (1200 on the venue;
  `SIMULATOR_HYPERLIQUID_WEIGHT_PER_MINUTE`). An exchange action weighs 1 + floor(batch length / 40); info requests
  l2Book, allMids, clearinghouseState, orderStatus, spotClearinghouseState and exchangeStatus weigh 2, userRole 60,
  the others 20, and userFills, userFillsByTime and historicalOrders add 1 per 20 items answered. Over the budget
  the answer is HTTP 429 with the body `null` (the SDK's api.py reads a null 4xx body as a plain ClientError).

Texts chosen here, the docs giving none: "Vault not registered: 0x…" (this simulator has no vaults or
sub-accounts), "Action already expired" (an L1 action past its expiresAfter).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from hyperliquid.utils.signing import recover_agent_or_user_from_l1_action, recover_user_from_user_signed_action

from vprime_simulator.exchange import Exchange
from vprime_simulator.hyperliquid import (
    MUST_DEPOSIT,
    UNKNOWN_SIGNER,
    Clearinghouse,
    Malformed,
    VenueError,
    address_ok,
    cloid_ok,
    parse_order_wire,
)

NETWORKS = {"mainnet": True, "testnet": False}
DEFAULT_WEIGHT_PER_MINUTE = 1200
APPROVE_AGENT_TYPES = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
]
INFO_WEIGHT_2 = frozenset({"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState",
                           "exchangeStatus"})
INFO_WEIGHT_60 = frozenset({"userRole"})
INFO_PER_20_ITEMS = frozenset({"userFills", "userFillsByTime", "historicalOrders"})
DESERIALIZE = "Failed to deserialize the JSON body into the target type"
OK_DEFAULT = {"status": "ok", "response": {"type": "default"}}


class WeightBudget:
    """Weights spent per client address over the last 60 seconds."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.spent: dict[str, deque[tuple[float, int]]] = {}

    def _window(self, key: str) -> deque[tuple[float, int]]:
        window = self.spent.setdefault(key, deque())
        cutoff = self.clock() - 60
        while window and window[0][0] <= cutoff:
            window.popleft()
        return window

    def take(self, key: str, weight: int) -> bool:
        """Spend `weight` if it fits the budget; False (and nothing spent) if it does not."""
        window = self._window(key)
        if sum(w for _, w in window) + weight > self.per_minute:
            return False
        window.append((self.clock(), weight))
        return True

    def add(self, key: str, weight: int) -> None:
        if weight > 0:
            self._window(key).append((self.clock(), weight))


def info_weight(kind: Any) -> int:
    if kind in INFO_WEIGHT_2:
        return 2
    if kind in INFO_WEIGHT_60:
        return 60
    return 20


def exchange_weight(action: Any) -> int:
    batch = 0
    if isinstance(action, dict):
        for key in ("orders", "cancels", "modifies"):
            if isinstance(action.get(key), list):
                batch = len(action[key])
    return 1 + batch // 40


def malformed(detail: str) -> PlainTextResponse:
    return PlainTextResponse(f"{DESERIALIZE}: {detail}", status_code=422)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def add_hyperliquid_routes(app: FastAPI, exchange: Exchange, *, network: str = "testnet",
                           weight_per_minute: int = DEFAULT_WEIGHT_PER_MINUTE,
                           clock: Callable[[], float] = time.monotonic) -> None:
    if network not in NETWORKS:
        raise ValueError(f"the Hyperliquid network is mainnet or testnet, not {network!r}")
    is_mainnet = NETWORKS[network]
    hl: Clearinghouse = exchange.hyperliquid
    budget = WeightBudget(weight_per_minute, clock)
    app.state.hyperliquid_budget = budget

    async def read(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except ValueError:
            return None

    def client(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    # ---- info -----------------------------------------------------------------------------------
    named: Counter[str] = Counter()  # how often each address was named as an info request's `user`

    def user_of(body: dict[str, Any]) -> str:
        if not address_ok(body.get("user")):
            raise Malformed("user is a 42-character hex address")
        named[str(body["user"]).lower()] += 1
        return str(body["user"])

    @app.get("/admin/hyperliquid/info-users")
    async def info_users() -> dict[str, Any]:
        """Every address info requests named as `user`, with how often: a client that names an API wallet shows."""
        return {"users": dict(named)}

    def answer_info(body: dict[str, Any]) -> Any:
        kind = body.get("type")
        if kind == "meta":
            return hl.meta()
        if kind == "metaAndAssetCtxs":
            return [hl.meta(), hl.asset_ctxs()]
        if kind == "allMids":
            return hl.all_mids()
        if kind == "spotMeta":
            return {"universe": [], "tokens": []}  # no spot markets here
        if kind == "l2Book":
            if not isinstance(body.get("coin"), str):
                raise Malformed("coin is a string")
            return hl.l2_book(body["coin"])
        if kind == "clearinghouseState":
            return hl.clearinghouse_state(user_of(body))
        if kind == "activeAssetData":
            if not isinstance(body.get("coin"), str):
                raise Malformed("coin is a string")
            return hl.active_asset_data(user_of(body), body["coin"])
        if kind == "orderStatus":
            oid = body.get("oid")
            if not (_int(oid) and oid >= 0) and not cloid_ok(oid):
                raise Malformed("oid is an order id or a 16-byte hex cloid")
            return hl.order_status(user_of(body), oid)
        if kind == "openOrders":
            return hl.open_orders(user_of(body))
        if kind == "userFills":
            return hl.user_fills(user_of(body))
        if kind == "userFillsByTime":
            start, end = body.get("startTime"), body.get("endTime")
            if not _int(start) or not (end is None or _int(end)):
                raise Malformed("startTime and endTime are milliseconds")
            return hl.user_fills(user_of(body), start, end)
        raise Malformed(f"unknown variant {kind!r}")

    @app.post("/hyperliquid/info")
    async def hyperliquid_info(request: Request) -> Response:
        body = await read(request)
        kind = body.get("type") if isinstance(body, dict) else None
        if not budget.take(client(request), info_weight(kind)):
            return JSONResponse(None, status_code=429)
        if not isinstance(body, dict):
            return malformed("expected a JSON object")
        hl.sweep()
        try:
            answer = answer_info(body)
        except Malformed as exc:
            return malformed(str(exc))
        if kind in INFO_PER_20_ITEMS:
            budget.add(client(request), len(answer) // 20)
        return JSONResponse(answer)

    # ---- exchange -------------------------------------------------------------------------------
    def parse_action(action: dict[str, Any]) -> Any:
        """What each action carries, checked as the venue deserializes it (shapes: the SDK's exchange.py)."""
        kind = action.get("type")
        if kind == "order":
            if not isinstance(action.get("orders"), list) or action.get("grouping", "na") not in (
                    "na", "normalTpsl", "positionTpsl"):
                raise Malformed("order needs orders and grouping")
            return [parse_order_wire(w) for w in action["orders"]]
        if kind == "cancel":
            cancels = action.get("cancels")
            if not isinstance(cancels, list) or not all(isinstance(c, dict) and _int(c.get("a")) and _int(c.get("o"))
                                                        for c in cancels):
                raise Malformed("cancel needs cancels [{a, o}]")
            return cancels
        if kind == "cancelByCloid":
            cancels = action.get("cancels")
            if not isinstance(cancels, list) or not all(isinstance(c, dict) and _int(c.get("asset"))
                                                        and cloid_ok(c.get("cloid")) for c in cancels):
                raise Malformed("cancelByCloid needs cancels [{asset, cloid}]")
            return cancels
        if kind == "updateLeverage":
            if not {"asset", "isCross", "leverage"} <= action.keys():
                raise Malformed("updateLeverage needs asset, isCross, leverage")
            return None
        if kind == "noop":
            return None
        if kind == "approveAgent":
            if not address_ok(action.get("agentAddress")) or not isinstance(action.get("agentName", ""), str) \
                    or not _int(action.get("nonce")) or not isinstance(action.get("signatureChainId"), str) \
                    or not isinstance(action.get("hyperliquidChain"), str):
                raise Malformed("approveAgent needs agentAddress, nonce, signatureChainId, hyperliquidChain")
            return None
        raise Malformed(f"unknown action type {kind!r}")

    def approve_agent(action: dict[str, Any], signature: dict[str, Any], nonce: int) -> dict[str, Any]:
        signed = {**action, "agentName": action.get("agentName", "")}
        try:
            int(action["signatureChainId"], 16)
            user = recover_user_from_user_signed_action(signed, signature, APPROVE_AGENT_TYPES,
                                                        "HyperliquidTransaction:ApproveAgent", is_mainnet).lower()
        except Exception as exc:  # a signature or chain id no wallet could have made
            raise Malformed("signature") from exc
        acct = hl.accounts.get(user)
        if acct is None or acct.usdc <= 0:
            raise VenueError(MUST_DEPOSIT.format(user=user))
        hl.use_nonce(user, nonce)
        hl.approve_agent(user, action["agentAddress"], signed["agentName"])
        return OK_DEFAULT

    def act(body: dict[str, Any]) -> dict[str, Any]:
        action, nonce, signature = body.get("action"), body.get("nonce"), body.get("signature")
        vault, expires = body.get("vaultAddress"), body.get("expiresAfter")
        if not isinstance(action, dict) or not _int(nonce) or nonce < 0 or not isinstance(signature, dict) \
                or not isinstance(signature.get("r"), str) or not isinstance(signature.get("s"), str) \
                or not _int(signature.get("v")):
            raise Malformed("expected {action, nonce, signature: {r, s, v}}")
        if not (vault is None or address_ok(vault)) or not (expires is None or _int(expires)):
            raise Malformed("vaultAddress is an address, expiresAfter milliseconds")
        parsed = parse_action(action)
        hl.nonce_in_window(nonce)
        if action["type"] == "approveAgent":
            return approve_agent(action, signature, nonce)
        try:
            signer = recover_agent_or_user_from_l1_action(action, signature, vault, nonce, expires, is_mainnet).lower()
        except Exception as exc:
            raise Malformed("signature") from exc
        acct = hl.signer_account(signer)
        if acct is None:
            raise VenueError(UNKNOWN_SIGNER.format(signer=signer))
        if vault is not None:
            raise VenueError(f"Vault not registered: {vault.lower()}")
        if expires is not None and hl.now_ms() > expires:
            raise VenueError("Action already expired")
        hl.use_nonce(signer, nonce)
        kind = action["type"]
        if kind == "order":
            action_hash = "0x" + hashlib.sha256(f"{signer}:{nonce}".encode()).hexdigest()
            statuses = hl.place(acct, parsed, action_hash, reject=exchange.faults.get("HYPERLIQUID") == "reject")
            return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}
        if kind == "cancel":
            statuses = [hl.cancel(acct, c["a"], oid=c["o"]) for c in parsed]
            return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}
        if kind == "cancelByCloid":
            statuses = [hl.cancel(acct, c["asset"], cloid=c["cloid"]) for c in parsed]
            return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}
        if kind == "updateLeverage":
            hl.update_leverage(acct, action["asset"], action["isCross"], action["leverage"])
        return OK_DEFAULT  # updateLeverage, noop

    @app.post("/hyperliquid/exchange")
    async def hyperliquid_exchange(request: Request) -> Response:
        body = await read(request)
        action = body.get("action") if isinstance(body, dict) else None
        if not budget.take(client(request), exchange_weight(action)):
            return JSONResponse(None, status_code=429)
        if not isinstance(body, dict):
            return malformed("expected a JSON object")
        hl.sweep()
        try:
            return JSONResponse(act(body))
        except Malformed as exc:
            return malformed(str(exc))
        except VenueError as exc:
            return JSONResponse({"status": "err", "response": str(exc)})
