"""Answers in the shapes Hyperliquid serves them (info-endpoint and exchange-endpoint docs; the SDK's recorded
`tests/cassettes`), with values of our own."""

from __future__ import annotations

from typing import Any

UNIVERSE: list[dict[str, Any]] = [
    {"name": "BTC", "szDecimals": 5, "maxLeverage": 40},
    {"name": "ETH", "szDecimals": 4, "maxLeverage": 25},
    {"name": "HPOS", "szDecimals": 0, "maxLeverage": 3, "onlyIsolated": True},
    {"name": "kPEPE", "szDecimals": 0, "maxLeverage": 10},
    {"name": "LOOM", "szDecimals": 1, "maxLeverage": 3, "onlyIsolated": True, "isDelisted": True},
    {"name": "XYZ", "szDecimals": 2, "maxLeverage": 5, "marginMode": "strictIsolated"},
]

MIDS: dict[str, str] = {"BTC": "65012.5", "ETH": "3000.5", "HPOS": "0.12345", "kPEPE": "0.012345", "LOOM": "0.05",
                        "XYZ": "12.5"}


def meta() -> dict[str, Any]:
    return {"universe": [dict(a) for a in UNIVERSE], "marginTables": []}


def asset_ctx(mark: str, mid: str, impact: tuple[str, str]) -> dict[str, Any]:
    return {"dayNtlVlm": "1169046.29406", "funding": "0.0000125", "impactPxs": list(impact), "markPx": mark,
            "midPx": mid, "openInterest": "688.11", "oraclePx": mark, "premium": "0.00031774", "prevDayPx": mark,
            "dayBaseVlm": "1.0"}


def meta_and_asset_ctxs() -> list[Any]:
    return [meta(), [asset_ctx(MIDS[a["name"]], MIDS[a["name"]], ("1.0", "2.0")) for a in UNIVERSE]]


def l2_book(coin: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]], time_ms: int) -> dict[str, Any]:
    return {"coin": coin, "time": time_ms,
            "levels": [[{"px": p, "sz": s, "n": 1} for p, s in bids], [{"px": p, "sz": s, "n": 1} for p, s in asks]]}


def margin_summary(account_value: str) -> dict[str, str]:
    return {"accountValue": account_value, "totalMarginUsed": "0.0", "totalNtlPos": "0.0", "totalRawUsd": account_value}


def position(coin: str, szi: str, leverage: dict[str, Any]) -> dict[str, Any]:
    return {"position": {"coin": coin, "entryPx": "1705.82", "leverage": leverage, "liquidationPx": None,
                         "marginUsed": "11.383755", "maxTradeSzs": ["11.8423", "12.1091"], "positionValue": "227.675114",
                         "returnOnEquity": "0.01042942", "szi": szi, "unrealizedPnl": "0.118726",
                         "cumFunding": {"allTime": "0.0", "sinceChange": "0.0", "sinceOpen": "0.0"}},
            "type": "oneWay"}


def clearinghouse_state(account_value: str, positions: list[dict[str, Any]], time_ms: int) -> dict[str, Any]:
    return {"assetPositions": positions, "crossMaintenanceMarginUsed": "0.0",
            "crossMarginSummary": margin_summary(account_value), "marginSummary": margin_summary(account_value),
            "time": time_ms, "withdrawable": account_value}


def active_asset_data(user: str, coin: str, leverage: dict[str, Any], mark: str) -> dict[str, Any]:
    return {"user": user, "coin": coin, "leverage": leverage, "maxTradeSzs": ["24836370.44", "24836370.44"],
            "availableToTrade": ["37019438.02", "37019438.02"], "markPx": mark}


def order_status(order: dict[str, Any], status: str, status_ms: int) -> dict[str, Any]:
    return {"status": "order", "order": {"order": order, "status": status, "statusTimestamp": status_ms}}


UNKNOWN_OID = {"status": "unknownOid"}


def frontend_order(coin: str, side: str, limit_px: str, sz: str, orig_sz: str, oid: int, time_ms: int,
                   cloid: str | None, reduce_only: bool) -> dict[str, Any]:
    return {"coin": coin, "side": side, "limitPx": limit_px, "sz": sz, "oid": oid, "timestamp": time_ms,
            "triggerCondition": "N/A", "isTrigger": False, "triggerPx": "0.0", "children": [], "isPositionTpsl": False,
            "reduceOnly": reduce_only, "orderType": "Limit", "origSz": orig_sz, "tif": "Ioc", "cloid": cloid}


def fill(coin: str, oid: int, px: str, sz: str, side: str, fee: str, time_ms: int, tid: int) -> dict[str, Any]:
    return {"closedPnl": "0.0", "coin": coin, "crossed": True, "dir": "Open Long" if side == "B" else "Open Short",
            "hash": "0x" + "ab" * 32, "oid": oid, "px": px, "side": side, "startPosition": "0.0", "sz": sz,
            "time": time_ms, "fee": fee, "feeToken": "USDC", "tid": tid}


def order_ok(*statuses: dict[str, Any]) -> dict[str, Any]:
    return {"status": "ok", "response": {"type": "order", "data": {"statuses": list(statuses)}}}


def filled(total_sz: str, avg_px: str, oid: int) -> dict[str, Any]:
    return {"filled": {"totalSz": total_sz, "avgPx": avg_px, "oid": oid}}


def resting(oid: int) -> dict[str, Any]:
    return {"resting": {"oid": oid}}


def error(message: str) -> dict[str, Any]:
    return {"error": message}


DEFAULT_OK = {"status": "ok", "response": {"type": "default"}}


def err(message: str) -> dict[str, Any]:
    return {"status": "err", "response": message}
