"""Our own ABI fragments of GMX v2 (gmx-synthetics, as deployed and as `@gmx-io/sdk` 1.4.0 publishes it in
`build/esm/src/abis/*.js`): only the functions, events and errors Vprime calls, reads or decodes. Each entry is
checked against the published ABI by `venues/tests/gmx/test_abi.py` (same name, same input and output types,
same indexed flags), so a selector or a topic here is GMX's.

Structs as GMX defines them: `IBaseOrderUtils.CreateOrderParams` (addresses, numbers, orderType,
decreasePositionSwapType, isLong, shouldUnwrapNativeToken, autoCancel, referralCode, dataList), `Order.Props`
(addresses, numbers, flags, _dataList), `Position.Props` (addresses, numbers, flags) and `EventUtils.EventLogData`
(seven item kinds, each a list of (key, value) items and a list of (key, value[]) array items).
"""

from __future__ import annotations

from typing import Any

Abi = list[dict[str, Any]]


def _p(type_: str, name: str = "", *, indexed: bool | None = None) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "type": type_}
    if indexed is not None:
        param["indexed"] = indexed
    return param


def _t(name: str, components: list[dict[str, Any]], *, array: bool = False, indexed: bool | None = None) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "type": "tuple[]" if array else "tuple", "components": components}
    if indexed is not None:
        param["indexed"] = indexed
    return param


def _fn(name: str, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]] | None = None,
        mutability: str = "nonpayable") -> dict[str, Any]:
    return {"type": "function", "name": name, "inputs": inputs, "outputs": outputs or [], "stateMutability": mutability}


def _error(name: str, *params: str) -> dict[str, Any]:
    """An error from "type name" parameters (GMX's names: a decoded reason reads `SubaccountNotAuthorized(account=...)`)."""
    return {"type": "error", "name": name, "inputs": [_p(*param.split()) for param in params]}


# ---- structs -------------------------------------------------------------------------------------
CREATE_ORDER_PARAMS = _t("params", [
    _t("addresses", [_p("address", "receiver"), _p("address", "cancellationReceiver"), _p("address", "callbackContract"),
                     _p("address", "uiFeeReceiver"), _p("address", "market"), _p("address", "initialCollateralToken"),
                     _p("address[]", "swapPath")]),
    _t("numbers", [_p("uint256", "sizeDeltaUsd"), _p("uint256", "initialCollateralDeltaAmount"), _p("uint256", "triggerPrice"),
                   _p("uint256", "acceptablePrice"), _p("uint256", "executionFee"), _p("uint256", "callbackGasLimit"),
                   _p("uint256", "minOutputAmount"), _p("uint256", "validFromTime")]),
    _p("uint8", "orderType"), _p("uint8", "decreasePositionSwapType"), _p("bool", "isLong"),
    _p("bool", "shouldUnwrapNativeToken"), _p("bool", "autoCancel"), _p("bytes32", "referralCode"), _p("bytes32[]", "dataList"),
])

ORDER_PROPS_FIELDS = [
    _t("addresses", [_p("address", "account"), _p("address", "receiver"), _p("address", "cancellationReceiver"),
                     _p("address", "callbackContract"), _p("address", "uiFeeReceiver"), _p("address", "market"),
                     _p("address", "initialCollateralToken"), _p("address[]", "swapPath")]),
    _t("numbers", [_p("uint8", "orderType"), _p("uint8", "decreasePositionSwapType"), _p("uint256", "sizeDeltaUsd"),
                   _p("uint256", "initialCollateralDeltaAmount"), _p("uint256", "triggerPrice"), _p("uint256", "acceptablePrice"),
                   _p("uint256", "executionFee"), _p("uint256", "callbackGasLimit"), _p("uint256", "minOutputAmount"),
                   _p("uint256", "updatedAtTime"), _p("uint256", "validFromTime"), _p("uint256", "srcChainId")]),
    _t("flags", [_p("bool", "isLong"), _p("bool", "shouldUnwrapNativeToken"), _p("bool", "isFrozen"), _p("bool", "autoCancel")]),
    _p("bytes32[]", "_dataList"),
]

POSITION_PROPS_FIELDS = [
    _t("addresses", [_p("address", "account"), _p("address", "market"), _p("address", "collateralToken")]),
    _t("numbers", [_p("uint256", "sizeInUsd"), _p("uint256", "sizeInTokens"), _p("uint256", "collateralAmount"),
                   _p("int256", "pendingImpactAmount"), _p("uint256", "borrowingFactor"), _p("uint256", "fundingFeeAmountPerSize"),
                   _p("uint256", "longTokenClaimableFundingAmountPerSize"),
                   _p("uint256", "shortTokenClaimableFundingAmountPerSize"), _p("uint256", "increasedAtTime"),
                   _p("uint256", "decreasedAtTime")]),
    _t("flags", [_p("bool", "isLong")]),
]


def _items(kind: str, value_type: str) -> dict[str, Any]:
    return _t(f"{kind}Items", [
        _t("items", [_p("string", "key"), _p(value_type, "value")], array=True),
        _t("arrayItems", [_p("string", "key"), _p(f"{value_type}[]", "value")], array=True),
    ])


EVENT_LOG_DATA = _t("eventData", [_items("address", "address"), _items("uint", "uint256"), _items("int", "int256"),
                                  _items("bool", "bool"), _items("bytes32", "bytes32"), _items("bytes", "bytes"),
                                  _items("string", "string")])

# ---- contracts -----------------------------------------------------------------------------------
_ROUTER_COMMON: Abi = [
    _fn("multicall", [_p("bytes[]", "data")], [_p("bytes[]", "results")], "payable"),
    _fn("sendWnt", [_p("address", "receiver"), _p("uint256", "amount")], mutability="payable"),
    _fn("cancelOrder", [_p("bytes32", "key")], mutability="payable"),
]

SUBACCOUNT_ROUTER: Abi = _ROUTER_COMMON + [
    _fn("createOrder", [_p("address", "account"), CREATE_ORDER_PARAMS], [_p("bytes32")], "payable"),
    _fn("addSubaccount", [_p("address", "subaccount")], mutability="payable"),
    _fn("removeSubaccount", [_p("address", "subaccount")], mutability="payable"),
    _fn("setMaxAllowedSubaccountActionCount", [_p("address", "subaccount"), _p("bytes32", "actionType"),
                                               _p("uint256", "maxAllowedCount")], mutability="payable"),
    _fn("setSubaccountExpiresAt", [_p("address", "subaccount"), _p("bytes32", "actionType"), _p("uint256", "expiresAt")],
        mutability="payable"),
]

EXCHANGE_ROUTER: Abi = _ROUTER_COMMON + [
    _fn("createOrder", [CREATE_ORDER_PARAMS], [_p("bytes32")], "payable"),
    _fn("sendTokens", [_p("address", "token"), _p("address", "receiver"), _p("uint256", "amount")], mutability="payable"),
]

READER: Abi = [
    _fn("getOrder", [_p("address", "dataStore"), _p("bytes32", "key")], [_t("", ORDER_PROPS_FIELDS)], "view"),
    _fn("getAccountOrders", [_p("address", "dataStore"), _p("address", "account"), _p("uint256", "start"), _p("uint256", "end")],
        [_t("", [_p("bytes32", "orderKey"), _t("order", ORDER_PROPS_FIELDS)], array=True)], "view"),
    _fn("getAccountPositions", [_p("address", "dataStore"), _p("address", "account"), _p("uint256", "start"),
                                _p("uint256", "end")], [_t("", POSITION_PROPS_FIELDS, array=True)], "view"),
    _fn("getMarket", [_p("address", "dataStore"), _p("address", "key")],
        [_t("", [_p("address", "marketToken"), _p("address", "indexToken"), _p("address", "longToken"),
                 _p("address", "shortToken")])], "view"),
]

DATA_STORE: Abi = [
    _fn("getUint", [_p("bytes32", "key")], [_p("uint256")], "view"),
    _fn("getAddress", [_p("bytes32", "key")], [_p("address")], "view"),
    _fn("containsAddress", [_p("bytes32", "setKey"), _p("address", "value")], [_p("bool")], "view"),
    _fn("getBytes32Count", [_p("bytes32", "setKey")], [_p("uint256")], "view"),
    _fn("getBytes32ValuesAt", [_p("bytes32", "setKey"), _p("uint256", "start"), _p("uint256", "end")], [_p("bytes32[]")], "view"),
]

EVENT_EMITTER: Abi = [
    {"type": "event", "name": "EventLog1", "anonymous": False, "inputs": [
        _p("address", "msgSender", indexed=False), _p("string", "eventName", indexed=False),
        _p("string", "eventNameHash", indexed=True), _p("bytes32", "topic1", indexed=True), {**EVENT_LOG_DATA, "indexed": False}]},
    {"type": "event", "name": "EventLog2", "anonymous": False, "inputs": [
        _p("address", "msgSender", indexed=False), _p("string", "eventName", indexed=False),
        _p("string", "eventNameHash", indexed=True), _p("bytes32", "topic1", indexed=True), _p("bytes32", "topic2", indexed=True),
        {**EVENT_LOG_DATA, "indexed": False}]},
]

# GMX's custom errors that an order of ours can meet (CustomErrors in the SDK; Errors.sol in gmx-synthetics): a revert
# of createOrder, or the `reasonBytes` of an OrderCancelled event, is decoded by these.
CUSTOM_ERRORS: Abi = [
    _error("OrderNotFulfillableAtAcceptablePrice", "uint256 price", "uint256 acceptablePrice"),
    _error("InsufficientExecutionFee", "uint256 minExecutionFee", "uint256 executionFee"),
    _error("InsufficientWntAmountForExecutionFee", "uint256 wntAmount", "uint256 executionFee"),
    _error("SubaccountNotAuthorized", "address account", "address subaccount"),
    _error("MaxSubaccountActionCountExceeded", "address account", "address subaccount", "uint256 count", "uint256 maxCount"),
    _error("SubaccountApprovalExpired", "address account", "address subaccount", "uint256 deadline", "uint256 currentTimestamp"),
    _error("InvalidReceiverForSubaccountOrder", "address receiver", "address expectedReceiver"),
    _error("InsufficientCollateralUsd", "int256 remainingCollateralUsd"),
    _error("InsufficientCollateralAmount", "uint256 collateralAmount", "int256 collateralDeltaAmount"),
    _error("LiquidatablePosition", "string reason", "int256 remainingCollateralUsd", "int256 minCollateralUsd", "int256 minCollateralUsdForLeverage"),
    _error("EmptyOrder"),
    _error("EmptyPosition"),
    _error("EmptyMarket"),
    _error("DisabledMarket", "address market"),
    _error("InvalidPositionMarket", "address market"),
    _error("InvalidCollateralTokenForMarket", "address market", "address token"),
    _error("InvalidDecreaseOrderSize", "uint256 sizeDeltaUsd", "uint256 positionSizeInUsd"),
    _error("InvalidPositionSizeValues", "uint256 sizeInUsd", "uint256 sizeInTokens"),
    _error("MinPositionSize", "uint256 positionSizeInUsd", "uint256 minPositionSizeUsd"),
    _error("InsufficientReserve", "uint256 reservedUsd", "uint256 maxReservedUsd"),
    _error("InsufficientReserveForOpenInterest", "uint256 reservedUsd", "uint256 maxReservedUsd"),
    _error("MaxOpenInterestExceeded", "uint256 openInterest", "uint256 maxOpenInterest"),
    _error("OrderTypeCannotBeCreated", "uint256 orderType"),
    _error("UnexpectedValidFromTime", "uint256 orderType"),
    _error("RequestNotYetCancellable", "uint256 requestAge", "uint256 requestExpirationAge", "string requestType"),
    _error("Unauthorized", "address msgSender", "string role"),
    _error("EmptyReceiver"),
]

ERC20: Abi = [
    _fn("balanceOf", [_p("address", "account")], [_p("uint256")], "view"),
    _fn("allowance", [_p("address", "owner"), _p("address", "spender")], [_p("uint256")], "view"),
    _fn("approve", [_p("address", "spender"), _p("uint256", "amount")], [_p("bool")]),
    _fn("decimals", [], [_p("uint8")], "view"),
]

# Which published ABI file (`@gmx-io/sdk` build/esm/src/abis/<name>.js) each fragment is checked against.
PUBLISHED = {
    "SubaccountRouter": SUBACCOUNT_ROUTER,
    "ExchangeRouter": EXCHANGE_ROUTER,
    "SyntheticsReader": READER,
    "DataStore": DATA_STORE,
    "EventEmitter": EVENT_EMITTER,
    "CustomErrors": CUSTOM_ERRORS,
    "Token": ERC20,
}
