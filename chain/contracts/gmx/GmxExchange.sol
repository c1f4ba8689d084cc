// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import "./GmxTypes.sol";
import "./GmxCore.sol";
import "./GmxEvents.sol";

/// GMX's OrderHandler, for market increase and decrease orders with USD-stable collateral: orders are created by the
/// routers (controllers) and executed by an ORDER_KEEPER at the oracle's min/max price of the index token (GMX's
/// scale: USD x 10^30 per smallest token unit, i.e. price x 10^(30 - token decimals)). An execution that fails
/// cancels a market order with the failure as `reasonBytes` (the custom error) as GMX's `_handleOrderError` does; the
/// account may cancel a market order itself once REQUEST_EXPIRATION_TIME has passed since it was created.
///
/// Simplified on purpose (a test double): no price impact, borrowing or funding fees; the position fee is
/// POSITION_FEE_FACTOR (balance not improved) of the size; the keeper keeps the whole execution fee.
contract OrderHandler is RoleModule {
    uint256 internal constant FLOAT_PRECISION = 10**30;
    DataStore public immutable dataStore;
    GmxEventUtils public immutable events;
    OrderVault public immutable orderVault;
    MarketPool public immutable marketPool;
    uint256 public immutable stablePrice; // the collateral's price: one USD per token in GMX's scale

    constructor(RoleStore roleStore_, DataStore dataStore_, GmxEventUtils events_, OrderVault orderVault_,
                MarketPool marketPool_, uint256 stablePrice_) RoleModule(roleStore_) {
        dataStore = dataStore_;
        events = events_;
        orderVault = orderVault_;
        marketPool = marketPool_;
        stablePrice = stablePrice_;
    }

    modifier onlySelf() {
        if (msg.sender != address(this)) revert Errors.Unauthorized(msg.sender, "SELF");
        _;
    }

    // ---- create ------------------------------------------------------------------------------------
    function createOrder(address account, IBaseOrderUtils.CreateOrderParams calldata params)
        external onlyRole(CONTROLLER, "CONTROLLER") returns (bytes32)
    {
        Order.OrderType orderType = params.orderType;
        bool increase = orderType == Order.OrderType.MarketIncrease;
        if (!increase && orderType != Order.OrderType.MarketDecrease) revert Errors.OrderTypeCannotBeCreated(uint256(orderType));
        if (params.numbers.validFromTime != 0) revert Errors.UnexpectedValidFromTime(uint256(orderType));
        if (params.addresses.receiver == address(0)) revert Errors.EmptyReceiver();

        address wnt = dataStore.getAddress(Keys.WNT);
        uint256 collateral = params.numbers.initialCollateralDeltaAmount;
        if (increase) collateral = orderVault.recordTransferIn(params.addresses.initialCollateralToken);
        uint256 wntAmount = orderVault.recordTransferIn(wnt);
        if (wntAmount < params.numbers.executionFee) revert Errors.InsufficientWntAmountForExecutionFee(wntAmount, params.numbers.executionFee);

        Market.Props memory market = dataStore.getMarket(params.addresses.market);
        if (market.marketToken == address(0)) revert Errors.InvalidPositionMarket(params.addresses.market);
        if (params.addresses.initialCollateralToken != market.shortToken) {
            revert Errors.InvalidCollateralTokenForMarket(market.marketToken, params.addresses.initialCollateralToken);
        }
        _validateExecutionFee(increase, wntAmount);

        Order.Props memory order;
        order.addresses = Order.Addresses(account, params.addresses.receiver, params.addresses.cancellationReceiver,
            params.addresses.callbackContract, params.addresses.uiFeeReceiver, params.addresses.market,
            params.addresses.initialCollateralToken, params.addresses.swapPath);
        order.numbers = Order.Numbers(orderType, params.decreasePositionSwapType, params.numbers.sizeDeltaUsd, collateral,
            params.numbers.triggerPrice, params.numbers.acceptablePrice, wntAmount, params.numbers.callbackGasLimit,
            params.numbers.minOutputAmount, block.timestamp, 0, block.chainid);
        order.flags = Order.Flags(params.isLong, params.shouldUnwrapNativeToken, false, params.autoCancel);
        order._dataList = params.dataList;

        bytes32 key = keccak256(abi.encode(address(dataStore), dataStore.incrementUint(Keys.NONCE, 1)));
        dataStore.setOrder(key, order);
        events.orderCreated(key, order);
        return key;
    }

    /// GasUtils.validateExecutionFee: the fee covers the estimated execution gas at this transaction's gas price.
    function _validateExecutionFee(bool increase, uint256 executionFee) internal view {
        uint256 estimated = dataStore.getUint(increase ? Keys.INCREASE_ORDER_GAS_LIMIT : Keys.DECREASE_ORDER_GAS_LIMIT);
        uint256 gasLimit = dataStore.getUint(Keys.ESTIMATED_GAS_FEE_BASE_AMOUNT_V2_1)
            + dataStore.getUint(Keys.ESTIMATED_GAS_FEE_PER_ORACLE_PRICE) * 3
            + estimated * dataStore.getUint(Keys.ESTIMATED_GAS_FEE_MULTIPLIER_FACTOR) / FLOAT_PRECISION;
        uint256 minExecutionFee = gasLimit * tx.gasprice;
        if (executionFee < minExecutionFee) revert Errors.InsufficientExecutionFee(minExecutionFee, executionFee);
    }

    // ---- cancel ------------------------------------------------------------------------------------
    /// The account's own cancellation (ExchangeRouter / SubaccountRouter `cancelOrder`).
    function cancelOrder(bytes32 key) external onlyRole(CONTROLLER, "CONTROLLER") {
        Order.Props memory order = dataStore.getOrder(key);
        if (order.addresses.account == address(0)) revert Errors.EmptyOrder();
        uint256 expiration = dataStore.getUint(Keys.REQUEST_EXPIRATION_TIME);
        uint256 age = block.timestamp - order.numbers.updatedAtTime;
        if (age < expiration) revert Errors.RequestNotYetCancellable(age, expiration, "Order");
        _cancel(key, order, order.addresses.account, Keys.USER_INITIATED_CANCEL, "");
    }

    function _cancel(bytes32 key, Order.Props memory order, address feeReceiver, string memory reason, bytes memory reasonBytes) internal {
        dataStore.removeOrder(key, order.addresses.account);
        if (order.numbers.orderType == Order.OrderType.MarketIncrease) {
            address receiver = order.addresses.cancellationReceiver == address(0) ? order.addresses.account : order.addresses.cancellationReceiver;
            orderVault.transferOut(order.addresses.initialCollateralToken, receiver, order.numbers.initialCollateralDeltaAmount);
        }
        events.orderCancelled(key, order.addresses.account, reason, reasonBytes);
        orderVault.transferOut(dataStore.getAddress(Keys.WNT), feeReceiver, order.numbers.executionFee);
    }

    // ---- execute -----------------------------------------------------------------------------------
    /// The keeper's execution at the index token's oracle prices (min, max) in GMX's scale.
    function executeOrder(bytes32 key, uint256 indexPriceMin, uint256 indexPriceMax) external onlyRole(ORDER_KEEPER, "ORDER_KEEPER") {
        Order.Props memory order = dataStore.getOrder(key);
        if (order.addresses.account == address(0)) revert Errors.EmptyOrder();
        try this.doExecuteOrder(key, indexPriceMin, indexPriceMax) {
            orderVault.transferOut(dataStore.getAddress(Keys.WNT), msg.sender, order.numbers.executionFee);
        } catch (bytes memory reasonBytes) {
            _cancel(key, order, msg.sender, _revertMessage(reasonBytes), reasonBytes);
        }
    }

    /// ErrorUtils.getRevertMessage: an Error(string)'s message; "" for a custom error (its data is in reasonBytes).
    function _revertMessage(bytes memory data) internal pure returns (string memory) {
        if (data.length < 68 || bytes4(data) != 0x08c379a0) return "";
        bytes memory body = new bytes(data.length - 4);
        for (uint256 i = 4; i < data.length; i++) body[i - 4] = data[i];
        return abi.decode(body, (string));
    }

    function doExecuteOrder(bytes32 key, uint256 indexPriceMin, uint256 indexPriceMax) external onlySelf {
        Order.Props memory order = dataStore.getOrder(key);
        dataStore.removeOrder(key, order.addresses.account);
        GmxEvents.Change memory change;
        change.orderKey = key;
        change.positionKey = Position.key(order.addresses.account, order.addresses.market, order.addresses.initialCollateralToken, order.flags.isLong);
        change.indexPriceMin = indexPriceMin;
        change.indexPriceMax = indexPriceMax;
        change.collateralPrice = stablePrice;
        change.orderType = uint8(order.numbers.orderType);
        if (order.numbers.orderType == Order.OrderType.MarketIncrease) {
            _increase(order, change);
        } else {
            _decrease(order, change);
        }
        events.orderExecuted(key, order.addresses.account);
    }

    function _validateAcceptablePrice(uint256 price, uint256 acceptable, bool buying) internal pure {
        if (buying ? price > acceptable : price < acceptable) revert Errors.OrderNotFulfillableAtAcceptablePrice(price, acceptable);
    }

    function _feeAmount(address market, uint256 sizeDeltaUsd) internal view returns (uint256 factor, uint256 amount) {
        factor = dataStore.getUint(Keys.positionFeeFactorKey(market, false));
        uint256 feeUsd = sizeDeltaUsd * factor / FLOAT_PRECISION;
        amount = (feeUsd + stablePrice - 1) / stablePrice;
    }

    function _increase(Order.Props memory order, GmxEvents.Change memory change) internal {
        bool isLong = order.flags.isLong;
        uint256 price = isLong ? change.indexPriceMax : change.indexPriceMin;
        _validateAcceptablePrice(price, order.numbers.acceptablePrice, isLong);
        change.executionPrice = price;
        change.sizeDeltaUsd = order.numbers.sizeDeltaUsd;
        change.sizeDeltaInTokens = isLong ? order.numbers.sizeDeltaUsd / price : (order.numbers.sizeDeltaUsd + price - 1) / price;
        change.collateralDeltaAmount = order.numbers.initialCollateralDeltaAmount;

        Position.Props memory position = dataStore.getPosition(change.positionKey);
        position.addresses = Position.Addresses(order.addresses.account, order.addresses.market, order.addresses.initialCollateralToken);
        position.flags.isLong = isLong;
        (uint256 feeFactor, uint256 feeAmount) = _feeAmount(order.addresses.market, change.sizeDeltaUsd);
        position.numbers.sizeInUsd += change.sizeDeltaUsd;
        position.numbers.sizeInTokens += change.sizeDeltaInTokens;
        position.numbers.collateralAmount += change.collateralDeltaAmount;
        if (position.numbers.collateralAmount < feeAmount) revert Errors.InsufficientCollateralUsd(-int256(feeAmount * stablePrice));
        position.numbers.collateralAmount -= feeAmount;
        position.numbers.increasedAtTime = block.timestamp;
        _validatePosition(position);

        orderVault.transferOut(order.addresses.initialCollateralToken, address(marketPool), change.collateralDeltaAmount);
        marketPool.syncTokenBalance(order.addresses.initialCollateralToken);
        dataStore.setPosition(change.positionKey, position);
        _emitFees(change, position, feeFactor, feeAmount, true);
        events.positionIncrease(position, change);
    }

    /// PositionUtils.validatePosition: collateral at least MIN_COLLATERAL_USD and MIN_COLLATERAL_FACTOR of the size.
    function _validatePosition(Position.Props memory position) internal view {
        int256 collateralUsd = int256(position.numbers.collateralAmount * stablePrice);
        int256 minCollateralUsd = int256(dataStore.getUint(Keys.MIN_COLLATERAL_USD));
        int256 forLeverage = int256(position.numbers.sizeInUsd * dataStore.getUint(Keys.minCollateralFactorKey(position.addresses.market)) / FLOAT_PRECISION);
        if (collateralUsd < minCollateralUsd) revert Errors.LiquidatablePosition("min collateral", collateralUsd, minCollateralUsd, forLeverage);
        if (collateralUsd < forLeverage) revert Errors.LiquidatablePosition("min collateral for leverage", collateralUsd, minCollateralUsd, forLeverage);
    }

    function _decrease(Order.Props memory order, GmxEvents.Change memory change) internal {
        Position.Props memory position = dataStore.getPosition(change.positionKey);
        if (position.numbers.sizeInUsd == 0) revert Errors.EmptyPosition();
        bool closing = _priceDecrease(order, position, change);
        (uint256 feeFactor, uint256 feeAmount) = _feeAmount(order.addresses.market, change.sizeDeltaUsd);
        change.collateralDeltaAmount = closing ? position.numbers.collateralAmount : order.numbers.initialCollateralDeltaAmount;
        int256 out = int256(change.collateralDeltaAmount) + change.basePnlUsd / int256(stablePrice) - int256(feeAmount);

        position.numbers.sizeInUsd -= change.sizeDeltaUsd;
        position.numbers.sizeInTokens -= change.sizeDeltaInTokens;
        position.numbers.collateralAmount -= change.collateralDeltaAmount;
        position.numbers.decreasedAtTime = block.timestamp;
        if (closing) {
            dataStore.removePosition(change.positionKey, position.addresses.account);
        } else {
            _validatePosition(position);
            dataStore.setPosition(change.positionKey, position);
        }
        marketPool.transferOut(order.addresses.initialCollateralToken, order.addresses.receiver, out > 0 ? uint256(out) : 0);
        _emitFees(change, position, feeFactor, feeAmount, false);
        events.positionDecrease(position, change);
    }

    /// The decrease's price, size and PnL into `change`; whether it closes the position. A market decrease larger
    /// than the position closes it (OrderSizeDeltaAutoUpdated on GMX).
    function _priceDecrease(Order.Props memory order, Position.Props memory position, GmxEvents.Change memory change) internal pure returns (bool closing) {
        bool isLong = position.flags.isLong;
        uint256 price = isLong ? change.indexPriceMin : change.indexPriceMax;
        _validateAcceptablePrice(price, order.numbers.acceptablePrice, !isLong);
        uint256 sizeDelta = order.numbers.sizeDeltaUsd > position.numbers.sizeInUsd ? position.numbers.sizeInUsd : order.numbers.sizeDeltaUsd;
        closing = sizeDelta == position.numbers.sizeInUsd;
        uint256 tokens = closing ? position.numbers.sizeInTokens : position.numbers.sizeInTokens * sizeDelta / position.numbers.sizeInUsd;
        int256 value = int256(tokens * price);
        int256 cost = int256(position.numbers.sizeInUsd * tokens / position.numbers.sizeInTokens);
        change.basePnlUsd = isLong ? value - cost : cost - value;
        change.executionPrice = price;
        change.sizeDeltaUsd = sizeDelta;
        change.sizeDeltaInTokens = tokens;
    }

    function _emitFees(GmxEvents.Change memory change, Position.Props memory position, uint256 feeFactor, uint256 feeAmount, bool isIncrease) internal {
        events.positionFees(change, position, feeFactor, feeAmount, isIncrease);
    }
}

/// GMX's BaseRouter with PayableMulticall: `multicall` runs each call on this contract (delegatecall, so
/// `msg.sender` and `msg.value` are the caller's); `sendWnt` wraps native tokens into WNT for a receiver (the
/// OrderVault: the execution fee).
abstract contract BaseRouter is RoleModule {
    Router public immutable router;
    DataStore public immutable dataStore;
    EventEmitter public immutable eventEmitter;
    OrderHandler public immutable orderHandler;
    OrderVault public immutable orderVault;
    uint256 private entered;

    constructor(Router router_, RoleStore roleStore_, DataStore dataStore_, EventEmitter eventEmitter_, OrderHandler orderHandler_,
                OrderVault orderVault_) RoleModule(roleStore_) {
        router = router_;
        dataStore = dataStore_;
        eventEmitter = eventEmitter_;
        orderHandler = orderHandler_;
        orderVault = orderVault_;
    }

    modifier nonReentrant() {
        require(entered == 0, "ReentrancyGuard: reentrant call");
        entered = 1;
        _;
        entered = 0;
    }

    receive() external payable {
        if (msg.sender != dataStore.getAddress(Keys.WNT)) revert Errors.InvalidNativeTokenSender(msg.sender);
    }

    function multicall(bytes[] calldata data) external payable returns (bytes[] memory results) {
        results = new bytes[](data.length);
        for (uint256 i = 0; i < data.length; i++) {
            (bool success, bytes memory result) = address(this).delegatecall(data[i]);
            if (!success) {
                assembly { revert(add(result, 32), mload(result)) }
            }
            results[i] = result;
        }
    }

    function sendWnt(address receiver, uint256 amount) external payable nonReentrant {
        if (receiver == address(0)) revert Errors.EmptyReceiver();
        address wnt = dataStore.getAddress(Keys.WNT);
        IWNT(wnt).deposit{value: amount}();
        require(IERC20Like(wnt).transfer(receiver, amount), "sendWnt: transfer failed");
    }
}

/// GMX's ExchangeRouter: the account trades for itself (collateral sent first with `sendTokens`).
contract ExchangeRouter is BaseRouter {
    constructor(Router router_, RoleStore roleStore_, DataStore dataStore_, EventEmitter eventEmitter_, OrderHandler orderHandler_,
                OrderVault orderVault_) BaseRouter(router_, roleStore_, dataStore_, eventEmitter_, orderHandler_, orderVault_) {}

    function sendTokens(address token, address receiver, uint256 amount) external payable nonReentrant {
        if (receiver == address(0)) revert Errors.EmptyReceiver();
        router.pluginTransfer(token, msg.sender, receiver, amount);
    }

    function createOrder(IBaseOrderUtils.CreateOrderParams calldata params) external payable nonReentrant returns (bytes32) {
        return orderHandler.createOrder(msg.sender, params);
    }

    function cancelOrder(bytes32 key) external payable nonReentrant {
        Order.Props memory order = dataStore.getOrder(key);
        if (order.addresses.account == address(0)) revert Errors.EmptyOrder();
        if (order.addresses.account != msg.sender) revert Errors.Unauthorized(msg.sender, "account for cancelOrder");
        orderHandler.cancelOrder(key);
    }
}

/// GMX's SubaccountRouter (one-click trading): an account approves a subaccount (`addSubaccount`, an action count and
/// an expiry for SUBACCOUNT_ORDER_ACTION); the subaccount then creates orders for it, the collateral pulled from the
/// account through the Router (the account approved the Router for the token), the execution fee paid by the
/// subaccount with `sendWnt` in the same multicall.
contract SubaccountRouter is BaseRouter {
    constructor(Router router_, RoleStore roleStore_, DataStore dataStore_, EventEmitter eventEmitter_, OrderHandler orderHandler_,
                OrderVault orderVault_) BaseRouter(router_, roleStore_, dataStore_, eventEmitter_, orderHandler_, orderVault_) {}

    function addSubaccount(address subaccount) external payable nonReentrant {
        dataStore.addAddress(Keys.subaccountListKey(msg.sender), subaccount);
    }

    function removeSubaccount(address subaccount) external payable nonReentrant {
        dataStore.removeAddress(Keys.subaccountListKey(msg.sender), subaccount);
    }

    function setMaxAllowedSubaccountActionCount(address subaccount, bytes32 actionType, uint256 maxAllowedCount) external payable nonReentrant {
        dataStore.setUint(Keys.maxAllowedSubaccountActionCountKey(msg.sender, subaccount, actionType), maxAllowedCount);
    }

    function setSubaccountExpiresAt(address subaccount, bytes32 actionType, uint256 expiresAt) external payable nonReentrant {
        dataStore.setUint(Keys.subaccountExpiresAtKey(msg.sender, subaccount, actionType), expiresAt);
    }

    function createOrder(address account, IBaseOrderUtils.CreateOrderParams calldata params) external payable nonReentrant returns (bytes32) {
        _handleSubaccountAction(account);
        if (params.addresses.receiver != account) revert Errors.InvalidReceiverForSubaccountOrder(params.addresses.receiver, account);
        if (params.orderType == Order.OrderType.MarketIncrease) {
            router.pluginTransfer(params.addresses.initialCollateralToken, account, address(orderVault), params.numbers.initialCollateralDeltaAmount);
        }
        return orderHandler.createOrder(account, params);
    }

    function cancelOrder(bytes32 key) external payable nonReentrant {
        Order.Props memory order = dataStore.getOrder(key);
        if (order.addresses.account == address(0)) revert Errors.EmptyOrder();
        _handleSubaccountAction(order.addresses.account);
        orderHandler.cancelOrder(key);
    }

    /// SubaccountUtils.handleSubaccountAction: approved, within the action count and before the expiry.
    function _handleSubaccountAction(address account) internal {
        address subaccount = msg.sender;
        if (!dataStore.containsAddress(Keys.subaccountListKey(account), subaccount)) revert Errors.SubaccountNotAuthorized(account, subaccount);
        bytes32 actionType = Keys.SUBACCOUNT_ORDER_ACTION;
        uint256 count = dataStore.incrementUint(Keys.subaccountActionCountKey(account, subaccount, actionType), 1);
        uint256 expiresAt = dataStore.getUint(Keys.subaccountExpiresAtKey(account, subaccount, actionType));
        if (block.timestamp > expiresAt) revert Errors.SubaccountApprovalExpired(account, subaccount, expiresAt, block.timestamp);
        uint256 maxCount = dataStore.getUint(Keys.maxAllowedSubaccountActionCountKey(account, subaccount, actionType));
        if (count > maxCount) revert Errors.MaxSubaccountActionCountExceeded(account, subaccount, count, maxCount);
    }
}
