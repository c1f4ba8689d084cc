// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import "./GmxTypes.sol";

/// The event data of OrderCreated, OrderExecuted, OrderCancelled, PositionIncrease, PositionDecrease and
/// PositionFeesCollected with gmx-synthetics' item keys, in its order (OrderEventUtils, PositionEventUtils).
library GmxEvents {
    function addresses(string[] memory keys, address[] memory values) internal pure returns (EventUtils.AddressKeyValue[] memory out) {
        out = new EventUtils.AddressKeyValue[](keys.length);
        for (uint256 i = 0; i < keys.length; i++) out[i] = EventUtils.AddressKeyValue(keys[i], values[i]);
    }

    function uints(string[] memory keys, uint256[] memory values) internal pure returns (EventUtils.UintKeyValue[] memory out) {
        out = new EventUtils.UintKeyValue[](keys.length);
        for (uint256 i = 0; i < keys.length; i++) out[i] = EventUtils.UintKeyValue(keys[i], values[i]);
    }

    function ints(string[] memory keys, int256[] memory values) internal pure returns (EventUtils.IntKeyValue[] memory out) {
        out = new EventUtils.IntKeyValue[](keys.length);
        for (uint256 i = 0; i < keys.length; i++) out[i] = EventUtils.IntKeyValue(keys[i], values[i]);
    }

    function bytes32s(string[] memory keys, bytes32[] memory values) internal pure returns (EventUtils.Bytes32KeyValue[] memory out) {
        out = new EventUtils.Bytes32KeyValue[](keys.length);
        for (uint256 i = 0; i < keys.length; i++) out[i] = EventUtils.Bytes32KeyValue(keys[i], values[i]);
    }

    function oneBool(string memory key, bool value) internal pure returns (EventUtils.BoolKeyValue[] memory out) {
        out = new EventUtils.BoolKeyValue[](1);
        out[0] = EventUtils.BoolKeyValue(key, value);
    }

    function strs(uint256 n) internal pure returns (string[] memory) { return new string[](n); }
    function addrs(uint256 n) internal pure returns (address[] memory) { return new address[](n); }
    function nums(uint256 n) internal pure returns (uint256[] memory) { return new uint256[](n); }

    function orderCreated(bytes32 key, Order.Props memory order) internal pure returns (EventUtils.EventLogData memory data) {
        string[] memory ak = strs(7);
        address[] memory av = addrs(7);
        (ak[0], av[0]) = ("account", order.addresses.account);
        (ak[1], av[1]) = ("receiver", order.addresses.receiver);
        (ak[2], av[2]) = ("callbackContract", order.addresses.callbackContract);
        (ak[3], av[3]) = ("uiFeeReceiver", order.addresses.uiFeeReceiver);
        (ak[4], av[4]) = ("market", order.addresses.market);
        (ak[5], av[5]) = ("initialCollateralToken", order.addresses.initialCollateralToken);
        (ak[6], av[6]) = ("cancellationReceiver", order.addresses.cancellationReceiver);
        data.addressItems.items = addresses(ak, av);
        data.addressItems.arrayItems = new EventUtils.AddressArrayKeyValue[](1);
        data.addressItems.arrayItems[0] = EventUtils.AddressArrayKeyValue("swapPath", order.addresses.swapPath);

        string[] memory uk = strs(12);
        uint256[] memory uv = nums(12);
        Order.Numbers memory n = order.numbers;
        (uk[0], uv[0]) = ("orderType", uint256(n.orderType));
        (uk[1], uv[1]) = ("decreasePositionSwapType", n.decreasePositionSwapType);
        (uk[2], uv[2]) = ("sizeDeltaUsd", n.sizeDeltaUsd);
        (uk[3], uv[3]) = ("initialCollateralDeltaAmount", n.initialCollateralDeltaAmount);
        (uk[4], uv[4]) = ("triggerPrice", n.triggerPrice);
        (uk[5], uv[5]) = ("acceptablePrice", n.acceptablePrice);
        (uk[6], uv[6]) = ("executionFee", n.executionFee);
        (uk[7], uv[7]) = ("callbackGasLimit", n.callbackGasLimit);
        (uk[8], uv[8]) = ("minOutputAmount", n.minOutputAmount);
        (uk[9], uv[9]) = ("updatedAtTime", n.updatedAtTime);
        (uk[10], uv[10]) = ("validFromTime", n.validFromTime);
        (uk[11], uv[11]) = ("srcChainId", n.srcChainId);
        data.uintItems.items = uints(uk, uv);

        data.boolItems.items = new EventUtils.BoolKeyValue[](3);
        data.boolItems.items[0] = EventUtils.BoolKeyValue("isLong", order.flags.isLong);
        data.boolItems.items[1] = EventUtils.BoolKeyValue("shouldUnwrapNativeToken", order.flags.shouldUnwrapNativeToken);
        data.boolItems.items[2] = EventUtils.BoolKeyValue("autoCancel", order.flags.autoCancel);

        data.bytes32Items.arrayItems = new EventUtils.Bytes32ArrayKeyValue[](1);
        data.bytes32Items.arrayItems[0] = EventUtils.Bytes32ArrayKeyValue("dataList", order._dataList);
        data.bytes32Items.items = new EventUtils.Bytes32KeyValue[](1);
        data.bytes32Items.items[0] = EventUtils.Bytes32KeyValue("key", key);
    }

    function orderExecuted(bytes32 key, address account) internal pure returns (EventUtils.EventLogData memory data) {
        data.bytes32Items.items = new EventUtils.Bytes32KeyValue[](1);
        data.bytes32Items.items[0] = EventUtils.Bytes32KeyValue("key", key);
        data.addressItems.items = new EventUtils.AddressKeyValue[](1);
        data.addressItems.items[0] = EventUtils.AddressKeyValue("account", account);
        data.uintItems.items = new EventUtils.UintKeyValue[](1);
        data.uintItems.items[0] = EventUtils.UintKeyValue("secondaryOrderType", 0);
    }

    function orderCancelled(bytes32 key, address account, string memory reason, bytes memory reasonBytes) internal pure returns (EventUtils.EventLogData memory data) {
        data.bytes32Items.items = new EventUtils.Bytes32KeyValue[](1);
        data.bytes32Items.items[0] = EventUtils.Bytes32KeyValue("key", key);
        data.addressItems.items = new EventUtils.AddressKeyValue[](1);
        data.addressItems.items[0] = EventUtils.AddressKeyValue("account", account);
        data.stringItems.items = new EventUtils.StringKeyValue[](1);
        data.stringItems.items[0] = EventUtils.StringKeyValue("reason", reason);
        data.bytesItems.items = new EventUtils.BytesKeyValue[](1);
        data.bytesItems.items[0] = EventUtils.BytesKeyValue("reasonBytes", reasonBytes);
    }

    /// What an execution changed, for PositionIncrease / PositionDecrease.
    struct Change {
        bytes32 orderKey;
        bytes32 positionKey;
        uint256 executionPrice;
        uint256 indexPriceMax;
        uint256 indexPriceMin;
        uint256 collateralPrice;
        uint256 sizeDeltaUsd;
        uint256 sizeDeltaInTokens;
        uint256 collateralDeltaAmount;
        int256 basePnlUsd;
        uint8 orderType;
    }

    function positionAddresses(Position.Props memory p) internal pure returns (EventUtils.AddressKeyValue[] memory) {
        string[] memory ak = strs(3);
        address[] memory av = addrs(3);
        (ak[0], av[0]) = ("account", p.addresses.account);
        (ak[1], av[1]) = ("market", p.addresses.market);
        (ak[2], av[2]) = ("collateralToken", p.addresses.collateralToken);
        return addresses(ak, av);
    }

    function positionNumbers(Position.Props memory p, Change memory c, uint256 count) internal pure returns (string[] memory uk, uint256[] memory uv) {
        uk = strs(count);
        uv = nums(count);
        (uk[0], uv[0]) = ("sizeInUsd", p.numbers.sizeInUsd);
        (uk[1], uv[1]) = ("sizeInTokens", p.numbers.sizeInTokens);
        (uk[2], uv[2]) = ("collateralAmount", p.numbers.collateralAmount);
        (uk[3], uv[3]) = ("borrowingFactor", p.numbers.borrowingFactor);
        (uk[4], uv[4]) = ("fundingFeeAmountPerSize", p.numbers.fundingFeeAmountPerSize);
        (uk[5], uv[5]) = ("longTokenClaimableFundingAmountPerSize", 0);
        (uk[6], uv[6]) = ("shortTokenClaimableFundingAmountPerSize", 0);
        (uk[7], uv[7]) = ("executionPrice", c.executionPrice);
        (uk[8], uv[8]) = ("indexTokenPrice.max", c.indexPriceMax);
        (uk[9], uv[9]) = ("indexTokenPrice.min", c.indexPriceMin);
        (uk[10], uv[10]) = ("collateralTokenPrice.max", c.collateralPrice);
        (uk[11], uv[11]) = ("collateralTokenPrice.min", c.collateralPrice);
        (uk[12], uv[12]) = ("sizeDeltaUsd", c.sizeDeltaUsd);
        (uk[13], uv[13]) = ("sizeDeltaInTokens", c.sizeDeltaInTokens);
    }

    function positionIncrease(Position.Props memory p, Change memory c) internal pure returns (EventUtils.EventLogData memory data) {
        data.addressItems.items = positionAddresses(p);
        (string[] memory uk, uint256[] memory uv) = positionNumbers(p, c, 16);
        (uk[14], uv[14]) = ("orderType", c.orderType);
        (uk[15], uv[15]) = ("increasedAtTime", p.numbers.increasedAtTime);
        data.uintItems.items = uints(uk, uv);
        string[] memory ik = strs(3);
        int256[] memory iv = new int256[](3);
        (ik[0], iv[0]) = ("collateralDeltaAmount", int256(c.collateralDeltaAmount));
        (ik[1], iv[1]) = ("pendingPriceImpactUsd", 0);
        (ik[2], iv[2]) = ("pendingPriceImpactAmount", 0);
        data.intItems.items = ints(ik, iv);
        data.boolItems.items = oneBool("isLong", p.flags.isLong);
        data.bytes32Items.items = keys(c);
    }

    function positionDecrease(Position.Props memory p, Change memory c) internal pure returns (EventUtils.EventLogData memory data) {
        data.addressItems.items = positionAddresses(p);
        (string[] memory uk, uint256[] memory uv) = positionNumbers(p, c, 18);
        (uk[14], uv[14]) = ("collateralDeltaAmount", c.collateralDeltaAmount);
        (uk[15], uv[15]) = ("values.priceImpactDiffUsd", 0);
        (uk[16], uv[16]) = ("orderType", c.orderType);
        (uk[17], uv[17]) = ("decreasedAtTime", p.numbers.decreasedAtTime);
        data.uintItems.items = uints(uk, uv);
        string[] memory ik = strs(5);
        int256[] memory iv = new int256[](5);
        (ik[0], iv[0]) = ("priceImpactUsd", 0);
        (ik[1], iv[1]) = ("basePnlUsd", c.basePnlUsd);
        (ik[2], iv[2]) = ("uncappedBasePnlUsd", c.basePnlUsd);
        (ik[3], iv[3]) = ("proportionalPendingImpactUsd", 0);
        (ik[4], iv[4]) = ("totalImpactUsd", 0);
        data.intItems.items = ints(ik, iv);
        data.boolItems.items = oneBool("isLong", p.flags.isLong);
        data.bytes32Items.items = keys(c);
    }

    function keys(Change memory c) internal pure returns (EventUtils.Bytes32KeyValue[] memory out) {
        out = new EventUtils.Bytes32KeyValue[](2);
        out[0] = EventUtils.Bytes32KeyValue("orderKey", c.orderKey);
        out[1] = EventUtils.Bytes32KeyValue("positionKey", c.positionKey);
    }

    /// PositionFeesCollected's 23 base items (no referral, pro or liquidation items: those are not in play here).
    function positionFees(bytes32 orderKey, bytes32 positionKey, Position.Props memory p, uint256 collateralPrice,
                          uint256 tradeSizeUsd, uint256 feeFactor, uint256 feeAmount, bool isIncrease)
        internal pure returns (EventUtils.EventLogData memory data)
    {
        EventUtils.Bytes32KeyValue[] memory b = new EventUtils.Bytes32KeyValue[](3);
        b[0] = EventUtils.Bytes32KeyValue("orderKey", orderKey);
        b[1] = EventUtils.Bytes32KeyValue("positionKey", positionKey);
        b[2] = EventUtils.Bytes32KeyValue("referralCode", bytes32(0));
        data.bytes32Items.items = b;
        string[] memory ak = strs(5);
        address[] memory av = addrs(5);
        (ak[0], av[0]) = ("market", p.addresses.market);
        (ak[1], av[1]) = ("collateralToken", p.addresses.collateralToken);
        (ak[2], av[2]) = ("affiliate", address(0));
        (ak[3], av[3]) = ("trader", p.addresses.account);
        (ak[4], av[4]) = ("uiFeeReceiver", address(0));
        data.addressItems.items = addresses(ak, av);
        string[] memory uk = strs(23);
        uint256[] memory uv = nums(23);
        string[23] memory names = ["collateralTokenPrice.min", "collateralTokenPrice.max", "tradeSizeUsd", "fundingFeeAmount",
            "claimableLongTokenAmount", "claimableShortTokenAmount", "latestFundingFeeAmountPerSize",
            "latestLongTokenClaimableFundingAmountPerSize", "latestShortTokenClaimableFundingAmountPerSize", "borrowingFeeUsd",
            "borrowingFeeAmount", "borrowingFeeReceiverFactor", "borrowingFeeAmountForFeeReceiver", "positionFeeFactor",
            "protocolFeeAmount", "positionFeeReceiverFactor", "feeReceiverAmount", "feeAmountForPool", "positionFeeAmountForPool",
            "positionFeeAmount", "totalCostAmount", "uiFeeReceiverFactor", "uiFeeAmount"];
        for (uint256 i = 0; i < 23; i++) uk[i] = names[i];
        uv[0] = collateralPrice;
        uv[1] = collateralPrice;
        uv[2] = tradeSizeUsd;
        uv[13] = feeFactor;
        uv[17] = feeAmount;
        uv[18] = feeAmount;
        uv[19] = feeAmount;
        uv[20] = feeAmount;
        data.uintItems.items = uints(uk, uv);
        data.boolItems.items = oneBool("isIncrease", isIncrease);
    }
}

/// Emits the protocol's events through the EventEmitter (GMX's OrderEventUtils and PositionEventUtils are external
/// libraries; here a contract of their own keeps the OrderHandler under the contract size limit).
contract GmxEventUtils {
    EventEmitterLike public immutable eventEmitter;

    constructor(EventEmitterLike eventEmitter_) {
        eventEmitter = eventEmitter_;
    }

    function _topic(address a) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(a)));
    }

    function orderCreated(bytes32 key, Order.Props memory order) external {
        eventEmitter.emitEventLog2("OrderCreated", key, _topic(order.addresses.account), GmxEvents.orderCreated(key, order));
    }

    function orderExecuted(bytes32 key, address account) external {
        eventEmitter.emitEventLog2("OrderExecuted", key, _topic(account), GmxEvents.orderExecuted(key, account));
    }

    function orderCancelled(bytes32 key, address account, string memory reason, bytes memory reasonBytes) external {
        eventEmitter.emitEventLog2("OrderCancelled", key, _topic(account), GmxEvents.orderCancelled(key, account, reason, reasonBytes));
    }

    function positionIncrease(Position.Props memory p, GmxEvents.Change memory c) external {
        eventEmitter.emitEventLog1("PositionIncrease", _topic(p.addresses.account), GmxEvents.positionIncrease(p, c));
    }

    function positionDecrease(Position.Props memory p, GmxEvents.Change memory c) external {
        eventEmitter.emitEventLog1("PositionDecrease", _topic(p.addresses.account), GmxEvents.positionDecrease(p, c));
    }

    function positionFees(GmxEvents.Change memory c, Position.Props memory p, uint256 feeFactor, uint256 feeAmount, bool isIncrease) external {
        eventEmitter.emitEventLog1("PositionFeesCollected", _topic(p.addresses.market),
            GmxEvents.positionFees(c.orderKey, c.positionKey, p, c.collateralPrice, c.sizeDeltaUsd, feeFactor, feeAmount, isIncrease));
    }
}

interface EventEmitterLike {
    function emitEventLog1(string memory eventName, bytes32 topic1, EventUtils.EventLogData memory eventData) external;
    function emitEventLog2(string memory eventName, bytes32 topic1, bytes32 topic2, EventUtils.EventLogData memory eventData) external;
}
