// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// The structs of Ostium's published ABIs (ostium-python-sdk 3.3.1, abi/*.py), field for field: the same types in
/// the same order, so every function and event built on them has the venue's selector or topic.
/// Scales: collateral in USDC units (6 decimals); prices 1e18; leverage and percentages PRECISION_2 (5x = 500,
/// 100 % = 10000); slippage PRECISION_2 percent (2 % = 200).

struct Trade {
    uint256 collateral;
    uint192 openPrice;
    uint192 tp;
    uint192 sl;
    address trader;
    uint32 leverage;
    uint16 pairIndex;
    uint8 index;
    bool buy;
    bool isDayTrade;
}

struct TradeInfo {
    uint256 tradeId;
    uint256 oiNotional; // the position in the pair's base asset, 1e18
    uint32 initialLeverage;
    uint32 tpLastUpdated;
    uint32 slLastUpdated;
    uint32 createdAt;
    bool deprecatedBeingMarketClosed;
}

struct PendingMarketOrderV2 {
    uint256 block;
    uint192 wantedPrice;
    uint32 slippageP;
    Trade trade;
    uint16 percentage; // a close's share of the trade, PRECISION_2; 0 for an open
}

struct BuilderFee {
    address builder;
    uint32 builderFee;
}

struct PriceUpKeepAnswer {
    uint256 orderId;
    int192 price;
    int192 bid;
    int192 ask;
    bool isDayTradingClosed;
}

/// Why the callbacks cancel an order (the uint8 `cancelReason` of MarketOpenCanceled / MarketCloseCanceled).
library CancelReason {
    uint8 internal constant NONE = 0;
    uint8 internal constant PAUSED = 1;
    uint8 internal constant MARKET_CLOSED = 2;
    uint8 internal constant SLIPPAGE = 3;
    uint8 internal constant NO_TRADE = 9;
}

interface IERC20Minimal {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function transfer(address to, uint256 amount) external returns (bool);
}
