"""Every ABI fragment Vprime uses for GMX is GMX's: same name, input and output types (structs included), indexed
flags and mutability as the ABI `@gmx-io/sdk` 1.4.0 publishes. Fails, saying why, when the published ABI cannot be
had (no network and no cached copy)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector

from vprime_venues.gmx import abi as ours

from venues.tests.gmx.published import published_abis


def canonical(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(canonical(c) for c in param["components"]) + ")" + param["type"][len("tuple"):]
    return param["type"]


def shape(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry["type"], entry["name"], tuple(canonical(p) for p in entry.get("inputs", [])),
            tuple(canonical(p) for p in entry.get("outputs", [])), tuple(p.get("indexed") for p in entry.get("inputs", []))
            if entry["type"] == "event" else (), entry.get("stateMutability"))


@pytest.fixture(scope="module")
def published() -> dict[str, list[dict[str, Any]]]:
    return published_abis(set(ours.PUBLISHED))


@pytest.mark.parametrize("contract", sorted(ours.PUBLISHED))
def test_each_fragment_is_in_the_published_abi(published: dict[str, list[dict[str, Any]]], contract: str) -> None:
    theirs = {(e["type"], e.get("name"), tuple(canonical(p) for p in e.get("inputs", []))): e for e in published[contract]}
    for entry in ours.PUBLISHED[contract]:
        key = (entry["type"], entry["name"], tuple(canonical(p) for p in entry["inputs"]))
        assert key in theirs, f"{contract}.{entry['name']} {key[2]} is not in GMX's published ABI"
        assert shape(entry) == shape(theirs[key]), f"{contract}.{entry['name']} differs from GMX's published ABI"


def test_names_inside_structs_match_too(published: dict[str, list[dict[str, Any]]]) -> None:
    """Field names matter where Vprime reads struct fields by name (CreateOrderParams, Order.Props, Position.Props)."""
    def names(param: dict[str, Any]) -> Any:
        return (param["name"], [names(c) for c in param.get("components", [])])

    sub = next(e for e in published["SubaccountRouter"] if e.get("name") == "createOrder")
    assert names(ours.CREATE_ORDER_PARAMS) == names(sub["inputs"][1])
    reader = {e["name"]: e for e in published["SyntheticsReader"] if e["type"] == "function"}
    assert [names(p) for p in ours.ORDER_PROPS_FIELDS] == [names(p) for p in reader["getOrder"]["outputs"][0]["components"]]
    assert [names(p) for p in ours.POSITION_PROPS_FIELDS] == [
        names(p) for p in reader["getAccountPositions"]["outputs"][0]["components"]]


def test_selectors_and_topics_are_the_known_ones() -> None:
    """Spot checks against values computed independently of the fragments' text."""
    from eth_utils import keccak

    create = next(e for e in ours.SUBACCOUNT_ROUTER if e["name"] == "createOrder")
    signature = ("createOrder(address,((address,address,address,address,address,address,address[]),"
                 "(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256),uint8,uint8,bool,bool,bool,bytes32,bytes32[]))")
    assert function_abi_to_4byte_selector(create) == keccak(text=signature)[:4]
    log2 = next(e for e in ours.EVENT_EMITTER if e["name"] == "EventLog2")
    assert event_abi_to_log_topic(log2).hex().startswith("468a25a7")  # EventLog2's topic on Arbitrum's EventEmitter
