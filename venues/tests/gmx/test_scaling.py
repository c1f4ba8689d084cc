"""Leverage, collateral and price scaling against hand-computed figures, for BTC (8 decimals), ETH (18) and a
6-decimal index token (XRP on Arbitrum)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vprime_venues.gmx import constants as C
from vprime_venues.gmx.execution import acceptable_price, client_id_bytes, collateral_units, size_delta_usd


def test_collateral_is_the_notional_over_the_leverage_in_usdc_units() -> None:
    assert collateral_units(Decimal(1000), Decimal(5)) == 200_000_000  # 200 USDC
    assert collateral_units(Decimal(1000), Decimal(3)) == 333_333_333  # 333.333333 USDC, rounded down
    assert collateral_units(Decimal("250.5"), Decimal(1)) == 250_500_000
    with pytest.raises(ValueError):
        collateral_units(Decimal(100), Decimal("0.5"))


def test_size_is_usd_times_ten_to_the_thirty() -> None:
    assert size_delta_usd(Decimal(1000)) == 1000 * 10**30
    assert size_delta_usd(Decimal("0.1")) == 10**29  # exact: no float artefact


@pytest.mark.parametrize(("decimals", "usd", "contract"), [
    (8, Decimal("60000"), 60000 * 10**22),  # BTC: x 10^(30 - 8)
    (18, Decimal("3000"), 3000 * 10**12),  # ETH: x 10^(30 - 18)
    (6, Decimal("0.5"), 5 * 10**23),  # XRP: x 10^(30 - 6)
])
def test_prices_scale_by_the_index_tokens_decimals(decimals: int, usd: Decimal, contract: int) -> None:
    assert C.to_contract_price(usd, decimals) == contract
    assert C.from_contract_price(contract, decimals) == usd


def test_the_acceptable_price_is_the_slippage_bound_in_gmx_scale() -> None:
    btc = 60000 * 10**22
    assert acceptable_price(btc, Decimal("0.01"), buying=True) == 60600 * 10**22  # a long opens at most 1 % above
    assert acceptable_price(btc, Decimal("0.01"), buying=False) == 59400 * 10**22  # a long closes at least 1 % below
    eth = 3000 * 10**12
    assert acceptable_price(eth, Decimal("0.005"), buying=True) == 3015 * 10**12
    xrp = 5 * 10**23 + 3  # rounding never widens the bound
    assert acceptable_price(xrp, Decimal("0.01"), buying=True) == (Decimal(xrp) * Decimal("1.01")).to_integral_value(rounding="ROUND_FLOOR")
    assert acceptable_price(xrp, Decimal("0.01"), buying=False) == (Decimal(xrp) * Decimal("0.99")).to_integral_value(rounding="ROUND_CEILING")


def test_funding_is_an_annual_rate_times_ten_to_the_thirty() -> None:
    annual_876_pct = str(int(Decimal("8.76") * 10**30))  # 876 % a year
    assert C.funding_rate_hourly(annual_876_pct) == pytest.approx(0.001)  # 0.1 % an hour


def test_max_leverage_from_the_min_collateral_factor_as_gmx_interface_does() -> None:
    assert C.max_leverage(Decimal("0.01")) == 50  # 1 / 1 % = 100, halved
    assert C.max_leverage(Decimal("0.005")) == 100


def test_the_client_id_rides_in_data_list() -> None:
    assert client_id_bytes("0x" + "ab" * 16) == b"\x00" * 16 + b"\xab" * 16


def test_event_topics_are_the_abis() -> None:
    from eth_utils import event_abi_to_log_topic

    from vprime_venues.gmx import abi as A
    log1, log2 = A.EVENT_EMITTER
    assert (event_abi_to_log_topic(log1), event_abi_to_log_topic(log2)) == (C.EVENT_LOG1_TOPIC, C.EVENT_LOG2_TOPIC)
