// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import "./OstiumTypes.sol";

/// A local double of Ostium's OstiumTradingStorage: open trades per trader, pair and index, pending market orders by
/// order id, and the USDC of every trade (it holds the collateral and acts as the vault that pays profits). The
/// functions Vprime reads have the published ABI's signatures; writes are for the trading and callbacks contracts
/// only, as on the venue. Traders approve USDC to this contract: it is the one that pulls collateral.
contract OstiumTradingStorage {
    error NotGov(address a);
    error NotTrading(address a);
    error NotTradingOrCallbacks(address a);
    error WrongParams();

    address public immutable usdc;
    address public immutable gov;
    address public trading;
    address public callbacks;

    uint8 public maxTradesPerPair = 3;
    uint8 public maxPendingMarketOrders = 5;
    uint32 public totalOpenTradesCount;
    uint256 public lastTradeId;

    mapping(address trader => mapping(uint16 pairIndex => mapping(uint8 tradeIndex => Trade))) public openTrades;
    mapping(address trader => mapping(uint16 pairIndex => mapping(uint8 tradeIndex => TradeInfo))) public openTradesInfo;
    mapping(address trader => mapping(uint16 pairIndex => uint32)) public openTradesCount;
    mapping(address trader => mapping(uint16 pairIndex => uint8)) public pendingMarketOpenCount;
    mapping(address trader => mapping(uint16 pairIndex => uint8)) public pendingMarketCloseCount;
    mapping(uint256 orderId => PendingMarketOrderV2) public reqID_pendingMarketOrder;
    mapping(uint256 orderId => uint256 tradeId) public pendingMarketCloseTradeIds;
    mapping(address trader => uint256[]) public pendingOrderIds;
    mapping(uint256 tradeId => uint256 orderId) public closingOrderOfTrade;

    constructor(address usdc_) {
        usdc = usdc_;
        gov = msg.sender;
    }

    modifier onlyTrading() {
        if (msg.sender != trading) revert NotTrading(msg.sender);
        _;
    }

    modifier onlyTradingOrCallbacks() {
        if (msg.sender != trading && msg.sender != callbacks) revert NotTradingOrCallbacks(msg.sender);
        _;
    }

    function setContracts(address trading_, address callbacks_) external {
        if (msg.sender != gov) revert NotGov(msg.sender);
        trading = trading_;
        callbacks = callbacks_;
    }

    // ---- reads (published signatures) --------------------------------------------------------------
    function getOpenTrade(address _trader, uint16 _pairIndex, uint8 _index) external view returns (Trade memory) {
        return openTrades[_trader][_pairIndex][_index];
    }

    function getOpenTradeInfo(address _trader, uint16 _pairIndex, uint8 _index) external view returns (TradeInfo memory) {
        return openTradesInfo[_trader][_pairIndex][_index];
    }

    function getPendingOrderIds(address _trader) external view returns (uint256[] memory) {
        return pendingOrderIds[_trader];
    }

    function pendingOrderIdsCount(address _trader) external view returns (uint256) {
        return pendingOrderIds[_trader].length;
    }

    function firstEmptyTradeIndex(address _trader, uint16 _pairIndex) public view returns (uint8) {
        for (uint8 i = 0; i < maxTradesPerPair; i++) {
            if (openTrades[_trader][_pairIndex][i].leverage == 0) return i;
        }
        return 0;
    }

    /// The pending order as one struct (the public getter returns its fields).
    function pendingMarketOrder(uint256 orderId) external view returns (PendingMarketOrderV2 memory) {
        return reqID_pendingMarketOrder[orderId];
    }

    // ---- writes, by the trading and callbacks contracts -------------------------------------------
    function transferUsdc(address _from, address _to, uint256 _amount) external onlyTradingOrCallbacks {
        if (_amount == 0) return;
        if (_from == address(this)) {
            require(IERC20Minimal(usdc).transfer(_to, _amount), "usdc transfer failed");
        } else {
            require(IERC20Minimal(usdc).transferFrom(_from, _to, _amount), "usdc transferFrom failed");
        }
    }

    function storePendingMarketOrder(PendingMarketOrderV2 memory _order, uint256 _id, bool _open, BuilderFee memory)
        external
        onlyTrading
    {
        if (reqID_pendingMarketOrder[_id].block != 0) revert WrongParams();
        reqID_pendingMarketOrder[_id] = _order;
        pendingOrderIds[_order.trade.trader].push(_id);
        if (_open) {
            pendingMarketOpenCount[_order.trade.trader][_order.trade.pairIndex]++;
        } else {
            pendingMarketCloseCount[_order.trade.trader][_order.trade.pairIndex]++;
        }
    }

    function storePendingMarketCloseTradeId(uint256 orderId, uint256 tradeId) external onlyTrading {
        pendingMarketCloseTradeIds[orderId] = tradeId;
        closingOrderOfTrade[tradeId] = orderId;
    }

    function unregisterPendingMarketOrder(uint256 _id, bool _open) external onlyTradingOrCallbacks {
        Trade memory t = reqID_pendingMarketOrder[_id].trade;
        uint256[] storage ids = pendingOrderIds[t.trader];
        for (uint256 i = 0; i < ids.length; i++) {
            if (ids[i] == _id) {
                ids[i] = ids[ids.length - 1];
                ids.pop();
                break;
            }
        }
        if (_open) {
            pendingMarketOpenCount[t.trader][t.pairIndex]--;
        } else {
            pendingMarketCloseCount[t.trader][t.pairIndex]--;
            delete closingOrderOfTrade[pendingMarketCloseTradeIds[_id]];
            delete pendingMarketCloseTradeIds[_id];
        }
        delete reqID_pendingMarketOrder[_id];
    }

    function nextTradeId() external onlyTradingOrCallbacks returns (uint256) {
        return ++lastTradeId;
    }

    function storeTrade(Trade memory _trade, TradeInfo memory _tradeInfo) external onlyTradingOrCallbacks {
        openTrades[_trade.trader][_trade.pairIndex][_trade.index] = _trade;
        openTradesInfo[_trade.trader][_trade.pairIndex][_trade.index] = _tradeInfo;
        openTradesCount[_trade.trader][_trade.pairIndex]++;
        totalOpenTradesCount++;
    }

    function updateTrade(Trade memory _t) external onlyTradingOrCallbacks {
        openTrades[_t.trader][_t.pairIndex][_t.index] = _t;
    }

    function unregisterTrade(address _trader, uint16 _pairIndex, uint8 _index, uint256) external onlyTradingOrCallbacks {
        delete openTrades[_trader][_pairIndex][_index];
        delete openTradesInfo[_trader][_pairIndex][_index];
        openTradesCount[_trader][_pairIndex]--;
        totalOpenTradesCount--;
    }
}
