// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Where Ostium's contracts find each other: `getContractAddress(bytes32 name)` as the SDK's REGISTRY_ABI reads it
/// (the SDK resolves the callbacks contract, which emits every settlement event, through `trading.registry()`).
contract OstiumRegistry {
    address public immutable gov;
    mapping(bytes32 => address) private contracts;

    constructor() {
        gov = msg.sender;
    }

    function setContractAddress(bytes32 name, address at) external {
        require(msg.sender == gov, "registry: not gov");
        contracts[name] = at;
    }

    function getContractAddress(bytes32 name) external view returns (address) {
        return contracts[name];
    }
}
