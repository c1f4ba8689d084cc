from __future__ import annotations

import pytest

from vprime_venues.hyperliquid import constants as C


def test_api_url_names_the_network_or_takes_an_override() -> None:
    assert C.api_url("mainnet") == "https://api.hyperliquid.xyz"
    assert C.api_url(" Testnet ") == "https://api.hyperliquid-testnet.xyz"
    assert C.api_url("mainnet", "http://simulator:8080/hyperliquid/") == "http://simulator:8080/hyperliquid"
    assert C.api_url("mainnet", simulator="http://127.0.0.1:8010/") == "http://127.0.0.1:8010/hyperliquid"
    assert C.api_url("mainnet", "https://proxy.example", simulator="http://127.0.0.1:8010") == "https://proxy.example"
    with pytest.raises(ValueError):
        C.api_url("devnet")


def test_weights_are_the_documented_ones() -> None:
    assert [C.info_weight(t) for t in ("l2Book", "allMids", "clearinghouseState", "orderStatus")] == [2, 2, 2, 2]
    assert [C.info_weight(t) for t in ("meta", "metaAndAssetCtxs", "activeAssetData", "userFillsByTime")] == [20] * 4
    assert C.info_weight("userRole") == 60
    assert [C.exchange_weight(n) for n in (1, 39, 40, 79, 80)] == [1, 1, 2, 2, 3]
    assert C.extra_item_weight("userFillsByTime", 45) == 2 and C.extra_item_weight("clearinghouseState", 45) == 0


def test_the_lookup_window_outlasts_an_orders_expiry_with_a_margin() -> None:
    assert C.LOOKUP_WINDOW_S >= C.ORDER_EXPIRES_AFTER_S + 10
    assert C.LOOKUP_WINDOW_S < C.NONCE_MAX_AGE_S  # what expiry buys: not waiting out the nonce window


def test_process_shares_stay_under_the_ip_limit_with_their_bursts() -> None:
    assert 1.1 * (C.EXECUTOR_WEIGHT_PER_MINUTE + C.ROUTER_WEIGHT_PER_MINUTE) <= C.IP_WEIGHT_PER_MINUTE


def test_isolated_only_assets() -> None:
    assert C.only_isolated({"name": "HPOS", "onlyIsolated": True})
    assert C.only_isolated({"name": "X", "marginMode": "noCross"})
    assert not C.only_isolated({"name": "ETH"})
    assert not C.only_isolated({"name": "ETH", "onlyIsolated": False, "marginMode": "normal"})
