"""Every ABI fragment Vprime uses for Uniswap is Uniswap's: same name, input and output types (structs included),
indexed flags and mutability as the artifacts @uniswap/v3-core 1.0.1, v3-periphery 1.4.4 and swap-router-contracts
1.3.1 publish (installed with the local chain's tools, `make install`)."""

from __future__ import annotations

from typing import Any

import pytest

from vprime_chain.solidity import published
from vprime_venues.spot import uniswap as ours

PUBLISHED = {
    "factory": ("@uniswap/v3-core", "artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json", ours.FACTORY_ABI),
    "pool": ("@uniswap/v3-core", "artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json", ours.POOL_ABI),
    "quoter": ("@uniswap/swap-router-contracts", "artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json", ours.QUOTER_V2_ABI),
    "router": ("@uniswap/swap-router-contracts", "artifacts/contracts/SwapRouter02.sol/SwapRouter02.json", ours.SWAP_ROUTER_02_ABI),
    "erc20": ("@uniswap/v3-periphery", "artifacts/contracts/interfaces/IERC20Metadata.sol/IERC20Metadata.json", ours.ERC20_ABI),
}


def canonical(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(canonical(c) for c in param["components"]) + ")" + param["type"][len("tuple"):]
    return param["type"]


def shape(entry: dict[str, Any]) -> tuple[Any, ...]:
    indexed = tuple(p.get("indexed") for p in entry.get("inputs", [])) if entry["type"] == "event" else ()
    return (entry["type"], entry["name"], tuple(canonical(p) for p in entry.get("inputs", [])),
            tuple(canonical(p) for p in entry.get("outputs", [])), indexed, entry.get("stateMutability"))


def names(param: dict[str, Any]) -> Any:
    return (param["name"], [names(c) for c in param.get("components", [])])


@pytest.mark.parametrize("contract", sorted(PUBLISHED))
def test_each_fragment_is_in_the_published_abi(contract: str) -> None:
    package, path, fragments = PUBLISHED[contract]
    theirs = {(e["type"], e.get("name"), tuple(canonical(p) for p in e.get("inputs", []))): e
              for e in published(package, path).abi}
    for entry in fragments:
        key = (entry["type"], entry["name"], tuple(canonical(p) for p in entry["inputs"]))
        assert key in theirs, f"{contract}.{entry['name']}{key[2]} is not in Uniswap's published ABI"
        assert shape(entry) == shape(theirs[key]), f"{contract}.{entry['name']} differs from Uniswap's published ABI"
        if any(p["type"].startswith("tuple") for p in entry["inputs"]) or entry["type"] == "event":
            # Struct fields and event arguments are read by name: the names match too.
            assert [names(p) for p in entry["inputs"]] == [names(p) for p in theirs[key]["inputs"]]
