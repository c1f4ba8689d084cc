// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import "./OstiumTypes.sol";
import "./OstiumTradingStorage.sol";
import "./OstiumTrading.sol";

/// A local double of Ostium's OstiumTradingCallbacks: the price keeper (only it) answers a pending market order with
/// the oracle's price, bid and ask, and the order is executed or cancelled here, with the published events
/// (ostium-python-sdk 3.3.1 abi/callbacks_abi.py). A price of 0 means the market is closed: the order is cancelled.
/// - open: filled at the ask (long) or bid (short), cancelled for SLIPPAGE past `wantedPrice` +- slippageP; the
///   opening fee (the pair's taker fee on the position) comes out of the collateral, half dev fee, half vault fee.
///   MarketOpenExecuted carries the trade as stored and its size in the base asset (1e18).
/// - close: at the bid (long) or ask (short); the trader is paid the closed collateral plus the profit (percentProfit
///   1e6-scaled percent, capped at +900 %, floored at -100 %) from the storage's USDC, which is the vault.
/// An order no longer pending (timed out, answered) is ignored, as on the venue.
contract OstiumTradingCallbacks {
    error NotGov(address a);
    error NotPriceUpKeep(address a);

    event MarketOpenExecuted(uint256 indexed orderId, Trade t, uint256 priceImpactP, uint256 tradeNotional);
    event MarketOpenCanceled(uint256 indexed orderId, address indexed trader, uint256 indexed pairIndex, uint8 cancelReason);
    event MarketCloseExecutedV2(
        uint256 indexed orderId,
        uint256 indexed tradeId,
        uint256 price,
        uint256 priceImpactP,
        int256 percentProfit,
        uint256 usdcSentToTrader,
        uint256 percentageClosed
    );
    event MarketCloseCanceled(
        uint256 indexed orderId, uint256 indexed tradeId, address indexed trader, uint256 pairIndex, uint256 index, uint8 cancelReason
    );
    event DevFeeCharged(uint256 indexed tradeId, address indexed trader, uint256 amount);
    event VaultOpeningFeeCharged(uint256 indexed tradeId, address indexed trader, uint256 amount);
    // Fees the venue also charges and the double does not (an oracle fee per order, builder fees, a close fee):
    // declared so that whoever reads the settlement events reads them all.
    event OracleFeeCharged(uint256 indexed tradeId, address indexed trader, uint256 amount);
    event BuilderFeeCharged(uint256 indexed tradeId, address indexed trader, address indexed builder, uint256 amount);
    event CloseFeeCharged(uint256 indexed orderId, uint256 indexed tradeId, address trader, uint256 closeFee);

    int256 private constant MAX_PROFIT_P = 900e6;
    int256 private constant MIN_PROFIT_P = -100e6;

    address public immutable gov;
    OstiumTradingStorage public immutable tradingStorage;
    OstiumTrading public immutable trading;
    address public priceUpKeep;

    constructor(address storage_, address trading_, address priceUpKeep_) {
        gov = msg.sender;
        tradingStorage = OstiumTradingStorage(storage_);
        trading = OstiumTrading(trading_);
        priceUpKeep = priceUpKeep_;
    }

    modifier onlyUpKeep() {
        if (msg.sender != priceUpKeep) revert NotPriceUpKeep(msg.sender);
        _;
    }

    function setPriceUpKeep(address keeper) external {
        if (msg.sender != gov) revert NotGov(msg.sender);
        priceUpKeep = keeper;
    }

    function openTradeMarketCallback(PriceUpKeepAnswer calldata a) external onlyUpKeep {
        PendingMarketOrderV2 memory o = tradingStorage.pendingMarketOrder(a.orderId);
        if (o.block == 0 || tradingStorage.pendingMarketCloseTradeIds(a.orderId) != 0) return;
        tradingStorage.unregisterPendingMarketOrder(a.orderId, true);
        Trade memory t = o.trade;
        uint256 price = uint256(int256(t.buy ? a.ask : a.bid));
        uint8 reason = CancelReason.NONE;
        if (a.price <= 0 || price == 0) {
            reason = CancelReason.MARKET_CLOSED;
        } else if (trading.isPaused()) {
            reason = CancelReason.PAUSED;
        } else if (
            t.buy ? price * 10000 > uint256(o.wantedPrice) * (10000 + o.slippageP)
                  : price * 10000 + uint256(o.wantedPrice) * o.slippageP < uint256(o.wantedPrice) * 10000
        ) {
            reason = CancelReason.SLIPPAGE;
        }
        if (reason != CancelReason.NONE) {
            tradingStorage.transferUsdc(address(tradingStorage), t.trader, t.collateral);
            emit MarketOpenCanceled(a.orderId, t.trader, t.pairIndex, reason);
            return;
        }
        (,,, , uint32 takerFeeP) = trading.pairs(t.pairIndex);
        uint256 fee = t.collateral * t.leverage / 100 * takerFeeP / 1e8;
        uint256 devFee = fee / 2;
        t.collateral -= fee;
        t.openPrice = uint192(price);
        t.index = tradingStorage.firstEmptyTradeIndex(t.trader, t.pairIndex);
        uint256 tradeId = tradingStorage.nextTradeId();
        uint256 tradeNotional = t.collateral * t.leverage * 1e28 / price;
        tradingStorage.storeTrade(t, TradeInfo(tradeId, tradeNotional, t.leverage, 0, 0, uint32(block.timestamp), false));
        emit DevFeeCharged(tradeId, t.trader, devFee);
        emit VaultOpeningFeeCharged(tradeId, t.trader, fee - devFee);
        emit MarketOpenExecuted(a.orderId, t, 0, tradeNotional);
    }

    function closeTradeMarketCallback(PriceUpKeepAnswer calldata a) external onlyUpKeep {
        PendingMarketOrderV2 memory o = tradingStorage.pendingMarketOrder(a.orderId);
        uint256 tradeId = tradingStorage.pendingMarketCloseTradeIds(a.orderId);
        if (o.block == 0 || tradeId == 0) return;
        tradingStorage.unregisterPendingMarketOrder(a.orderId, false);
        Trade memory t = tradingStorage.getOpenTrade(o.trade.trader, o.trade.pairIndex, o.trade.index);
        uint256 price = uint256(int256(t.buy ? a.bid : a.ask));
        uint8 reason = CancelReason.NONE;
        if (t.leverage == 0 || tradingStorage.getOpenTradeInfo(t.trader, t.pairIndex, t.index).tradeId != tradeId) {
            reason = CancelReason.NO_TRADE;
        } else if (a.price <= 0 || price == 0) {
            reason = CancelReason.MARKET_CLOSED;
        } else if (
            t.buy ? price * 10000 + uint256(o.wantedPrice) * o.slippageP < uint256(o.wantedPrice) * 10000
                  : price * 10000 > uint256(o.wantedPrice) * (10000 + o.slippageP)
        ) {
            reason = CancelReason.SLIPPAGE;
        }
        if (reason != CancelReason.NONE) {
            emit MarketCloseCanceled(a.orderId, tradeId, o.trade.trader, o.trade.pairIndex, o.trade.index, reason);
            return;
        }
        int256 move = int256(price) - int256(uint256(t.openPrice));
        int256 profitP = (t.buy ? move : -move) * int256(uint256(t.leverage)) * 1e6 / int256(uint256(t.openPrice));
        if (profitP > MAX_PROFIT_P) profitP = MAX_PROFIT_P;
        if (profitP < MIN_PROFIT_P) profitP = MIN_PROFIT_P;
        uint256 closed = t.collateral * o.percentage / 10000;
        uint256 paid = uint256(int256(closed) + int256(closed) * profitP / 100e6);
        if (o.percentage >= 10000) {
            tradingStorage.unregisterTrade(t.trader, t.pairIndex, t.index, closed);
        } else {
            t.collateral -= closed;
            tradingStorage.updateTrade(t);
        }
        tradingStorage.transferUsdc(address(tradingStorage), t.trader, paid);
        emit MarketCloseExecutedV2(a.orderId, tradeId, price, 0, profitP, paid, o.percentage);
    }
}
