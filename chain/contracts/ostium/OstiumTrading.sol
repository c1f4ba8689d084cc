// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import "./OstiumTypes.sol";
import "./OstiumTradingStorage.sol";

/// A local double of Ostium's OstiumTrading, for the functions, events and errors Vprime uses, with the published
/// ABI's signatures (ostium-python-sdk 3.3.1 abi/trading_abi.py):
/// - delegation: a trader names one delegate (`setDelegate`); the delegate acts for it with
///   `delegatedAction(trader, call_data)`, which runs `call_data` on this contract with `_msgSender()` = trader.
///   Anyone else is refused (NoDelegate / NotDelegate).
/// - `openTrade` (market orders only here): checks the pair, the leverage against the pair's maximum (WrongLeverage),
///   the position size against the pair's minimum (BelowMinLevPos), pulls the collateral through the trading storage
///   (the trader's USDC allowance is to the storage contract) and records a pending order for the keeper.
/// - `closeTradeMarket`: a pending close of a share of one trade, by pair and index.
/// - timeouts: once `marketOrdersTimeout` blocks have passed with no keeper answer, the trader (or its delegate)
///   cancels a pending open (`openTradeMarketTimeout`, collateral returned) or close (`closeTradeMarketTimeout`).
/// Pairs are configured by `listPair` (test-only; the venue keeps them in its pairs storage).
contract OstiumTrading {
    error AboveMaxAllowedCollateral();
    error AlreadyMarketClosed(address trader, uint16 pairIndex, uint8 index);
    error BelowMinLevPos();
    error DelegateForbidden();
    error DelegateReentrant();
    error DelegatedActionFailed();
    error IsPaused();
    error MaxPendingMarketOrdersReached(address trader);
    error MaxTradesPerPairReached(address trader, uint16 pairIndex);
    error NoDelegate(address a);
    error NoTradeFound(address trader, uint16 pairIndex, uint8 index);
    error NoTradeToTimeoutFound(uint256 orderId);
    error NotCloseMarketTimeoutOrder(uint256 orderId);
    error NotDelegate(address trader, address caller);
    error NotGov(address a);
    error NotOpenMarketTimeoutOrder(uint256 orderId);
    error NotYourOrder(uint256 orderId, address trader);
    error PairNotListed(uint16 index);
    error WaitTimeout(uint256 orderId);
    error WrongLeverage(uint32 leverage);
    error WrongParams();

    event DelegateAdded(address indexed delegator, address indexed delegate);
    event DelegateRemoved(address indexed delegator, address indexed delegate);
    event MarketOpenOrderInitiated(uint256 indexed orderId, address indexed trader, uint16 indexed pairIndex);
    event MarketCloseOrderInitiatedV2(
        uint256 indexed orderId, uint256 indexed tradeId, address indexed trader, uint16 pairIndex, uint16 closePercentage
    );
    event MarketOpenTimeoutExecutedV2(uint256 indexed orderId, PendingMarketOrderV2 order);
    event MarketCloseTimeoutExecutedV2(uint256 indexed orderId, uint256 indexed tradeId, PendingMarketOrderV2 order);
    event MarketOrdersTimeoutUpdated(uint16 value);
    event Paused(bool paused);

    struct Pair {
        bool listed;
        uint32 minLeverage; // PRECISION_2
        uint32 maxLeverage; // PRECISION_2
        uint256 minLevPos; // the smallest position (collateral x leverage), USDC units
        uint32 takerFeeP; // opening fee, PRECISION_6 percent of the position
    }

    address public immutable gov;
    address public immutable registry;
    OstiumTradingStorage public immutable tradingStorage;
    uint16 public marketOrdersTimeout;
    uint256 public maxAllowedCollateral = 1_000_000e6;
    bool public isPaused;
    bool public isDone;
    uint256 public lastOrderId;
    mapping(address delegator => address) public delegations;
    mapping(uint16 => Pair) public pairs;
    address private senderOverride;

    constructor(address registry_, address storage_, uint16 marketOrdersTimeout_) {
        gov = msg.sender;
        registry = registry_;
        tradingStorage = OstiumTradingStorage(storage_);
        marketOrdersTimeout = marketOrdersTimeout_;
    }

    modifier onlyGov() {
        if (msg.sender != gov) revert NotGov(msg.sender);
        _;
    }

    modifier notPaused() {
        if (isPaused) revert IsPaused();
        _;
    }

    // ---- configuration (gov) -------------------------------------------------------------------
    function listPair(uint16 pairIndex, uint32 minLeverage, uint32 maxLeverage, uint256 minLevPos, uint32 takerFeeP)
        external
        onlyGov
    {
        pairs[pairIndex] = Pair(true, minLeverage, maxLeverage, minLevPos, takerFeeP);
    }

    function setMarketOrdersTimeout(uint256 value) external onlyGov {
        marketOrdersTimeout = uint16(value);
        emit MarketOrdersTimeoutUpdated(uint16(value));
    }

    function pause() external onlyGov {
        isPaused = !isPaused;
        emit Paused(isPaused);
    }

    // ---- delegation ----------------------------------------------------------------------------
    function _msgSender() public view returns (address) {
        return senderOverride != address(0) ? senderOverride : msg.sender;
    }

    function setDelegate(address delegate) external {
        if (senderOverride != address(0)) revert DelegateForbidden();
        if (delegate == address(0)) revert WrongParams();
        delegations[msg.sender] = delegate;
        emit DelegateAdded(msg.sender, delegate);
    }

    function removeDelegate() external {
        if (senderOverride != address(0)) revert DelegateForbidden();
        address delegate = delegations[msg.sender];
        delete delegations[msg.sender];
        emit DelegateRemoved(msg.sender, delegate);
    }

    function delegatedAction(address trader, bytes calldata call_data) external returns (bytes memory) {
        address delegate = delegations[trader];
        if (delegate == address(0)) revert NoDelegate(trader);
        if (delegate != msg.sender) revert NotDelegate(trader, msg.sender);
        if (senderOverride != address(0)) revert DelegateReentrant();
        senderOverride = trader;
        (bool ok, bytes memory result) = address(this).delegatecall(call_data);
        senderOverride = address(0);
        if (!ok) {
            if (result.length == 0) revert DelegatedActionFailed();
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
        return result;
    }

    // ---- orders --------------------------------------------------------------------------------
    function openTrade(Trade calldata t, BuilderFee calldata bf, uint8 orderType, uint256 slippageP) external notPaused {
        address sender = _msgSender();
        Pair memory p = pairs[t.pairIndex];
        if (!p.listed) revert PairNotListed(t.pairIndex);
        if (orderType != 0 || t.openPrice == 0 || slippageP == 0 || slippageP > type(uint32).max) revert WrongParams();
        if (t.leverage < p.minLeverage || t.leverage > p.maxLeverage) revert WrongLeverage(t.leverage);
        if (t.collateral > maxAllowedCollateral) revert AboveMaxAllowedCollateral();
        if (t.collateral * t.leverage / 100 < p.minLevPos) revert BelowMinLevPos();
        if (
            tradingStorage.openTradesCount(sender, t.pairIndex) + tradingStorage.pendingMarketOpenCount(sender, t.pairIndex)
                >= tradingStorage.maxTradesPerPair()
        ) revert MaxTradesPerPairReached(sender, t.pairIndex);
        if (tradingStorage.pendingOrderIdsCount(sender) >= tradingStorage.maxPendingMarketOrders()) {
            revert MaxPendingMarketOrdersReached(sender);
        }
        tradingStorage.transferUsdc(sender, address(tradingStorage), t.collateral);

        Trade memory pending = t;
        pending.trader = sender; // the SDK sends its own address here; the trade is always the trader's
        pending.index = 0;
        uint256 orderId = ++lastOrderId;
        tradingStorage.storePendingMarketOrder(
            PendingMarketOrderV2(block.number, t.openPrice, uint32(slippageP), pending, 0), orderId, true, bf
        );
        emit MarketOpenOrderInitiated(orderId, sender, t.pairIndex);
    }

    function closeTradeMarket(uint16 pairIndex, uint8 index, uint16 closePercentage, uint192 marketPrice, uint32 slippageP)
        external
        notPaused
    {
        address sender = _msgSender();
        Trade memory t = tradingStorage.getOpenTrade(sender, pairIndex, index);
        if (t.leverage == 0) revert NoTradeFound(sender, pairIndex, index);
        if (closePercentage == 0 || closePercentage > 10000 || marketPrice == 0) revert WrongParams();
        uint256 tradeId = tradingStorage.getOpenTradeInfo(sender, pairIndex, index).tradeId;
        if (tradingStorage.closingOrderOfTrade(tradeId) != 0) revert AlreadyMarketClosed(sender, pairIndex, index);
        uint256 orderId = ++lastOrderId;
        tradingStorage.storePendingMarketOrder(
            PendingMarketOrderV2(block.number, marketPrice, slippageP, t, closePercentage), orderId, false, BuilderFee(address(0), 0)
        );
        tradingStorage.storePendingMarketCloseTradeId(orderId, tradeId);
        emit MarketCloseOrderInitiatedV2(orderId, tradeId, sender, pairIndex, closePercentage);
    }

    function openTradeMarketTimeout(uint256 _order) external {
        address sender = _msgSender();
        PendingMarketOrderV2 memory o = tradingStorage.pendingMarketOrder(_order);
        if (o.block == 0) revert NoTradeToTimeoutFound(_order);
        if (o.trade.trader != sender) revert NotYourOrder(_order, sender);
        if (tradingStorage.pendingMarketCloseTradeIds(_order) != 0) revert NotOpenMarketTimeoutOrder(_order);
        if (o.block + marketOrdersTimeout > block.number) revert WaitTimeout(_order);
        tradingStorage.unregisterPendingMarketOrder(_order, true);
        tradingStorage.transferUsdc(address(tradingStorage), sender, o.trade.collateral);
        emit MarketOpenTimeoutExecutedV2(_order, o);
    }

    function closeTradeMarketTimeout(uint256 _order, bool retry) external {
        address sender = _msgSender();
        PendingMarketOrderV2 memory o = tradingStorage.pendingMarketOrder(_order);
        if (o.block == 0) revert NoTradeToTimeoutFound(_order);
        if (o.trade.trader != sender) revert NotYourOrder(_order, sender);
        uint256 tradeId = tradingStorage.pendingMarketCloseTradeIds(_order);
        if (tradeId == 0) revert NotCloseMarketTimeoutOrder(_order);
        if (o.block + marketOrdersTimeout > block.number) revert WaitTimeout(_order);
        tradingStorage.unregisterPendingMarketOrder(_order, false);
        emit MarketCloseTimeoutExecutedV2(_order, tradeId, o);
        if (retry) {
            uint256 orderId = ++lastOrderId;
            o.block = block.number;
            tradingStorage.storePendingMarketOrder(o, orderId, false, BuilderFee(address(0), 0));
            tradingStorage.storePendingMarketCloseTradeId(orderId, tradeId);
            emit MarketCloseOrderInitiatedV2(orderId, tradeId, sender, o.trade.pairIndex, o.percentage);
        }
    }
}
