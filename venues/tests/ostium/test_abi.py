"""Every ABI entry Vprime uses for Ostium equals the venue's published entry (the official SDK wheel, pinned)."""

from __future__ import annotations

import pytest
from web3 import Web3

from vprime_venues.ostium import abi

from venues.tests.ostium.published import Unreachable, published_abis


@pytest.fixture(scope="module")
def published():
    try:
        return published_abis()
    except Unreachable as exc:
        pytest.fail(str(exc))


@pytest.mark.parametrize("contract", sorted(abi.ALL))
def test_each_entry_is_the_published_one(published, contract):
    for entry in abi.ALL[contract]:
        same = [e for e in published[contract] if e.get("type") == entry["type"] and e.get("name") == entry["name"]]
        assert same == [entry], f"{contract}.{entry['name']} ({entry['type']}) differs from the published ABI"


def test_selectors_are_the_sdks():
    """What the SDK's own error map says of the errors we decode (utils.fromErrorCodeToMessage)."""
    errors = {e["name"]: e for e in abi.TRADING if e["type"] == "error"}
    signature = lambda e: f"{e['name']}({','.join(i['type'] for i in e['inputs'])})"  # noqa: E731
    assert Web3.keccak(text=signature(errors["BelowMinLevPos"]))[:4].hex() == "eca695e1"
    assert Web3.keccak(text=signature(errors["WrongLeverage"]))[:4].hex() == "35fe85c5"
    assert Web3.keccak(text=signature(errors["NotDelegate"]))[:4].hex() == "502b946d"
