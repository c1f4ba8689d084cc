// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import "./GmxTypes.sol";

/// Roles as GMX's RoleStore names them (CONTROLLER, ORDER_KEEPER, ROUTER_PLUGIN); granted by the deployer.
contract RoleStore {
    address public immutable admin;
    mapping(address => mapping(bytes32 => bool)) public hasRole;

    constructor() {
        admin = msg.sender;
    }

    function grantRole(address account, bytes32 role) external {
        if (msg.sender != admin) revert Errors.Unauthorized(msg.sender, "ROLE_ADMIN");
        hasRole[account][role] = true;
    }
}

abstract contract RoleModule {
    bytes32 internal constant CONTROLLER = keccak256(abi.encode("CONTROLLER"));
    bytes32 internal constant ORDER_KEEPER = keccak256(abi.encode("ORDER_KEEPER"));
    bytes32 internal constant ROUTER_PLUGIN = keccak256(abi.encode("ROUTER_PLUGIN"));
    RoleStore public immutable roleStore;

    constructor(RoleStore roleStore_) {
        roleStore = roleStore_;
    }

    modifier onlyRole(bytes32 role, string memory name) {
        if (!roleStore.hasRole(msg.sender, role)) revert Errors.Unauthorized(msg.sender, name);
        _;
    }
}

/// GMX's DataStore: typed values and sets under bytes32 keys (the getters Vprime reads have GMX's ABI). Orders,
/// positions and markets are kept here as whole structs (GMX spreads them over typed values); the Reader returns them
/// in GMX's shapes, and the ORDER_LIST / ACCOUNT_ORDER_LIST / POSITION_LIST / ACCOUNT_POSITION_LIST sets are GMX's.
contract DataStore is RoleModule {
    mapping(bytes32 => uint256) public uintValues;
    mapping(bytes32 => address) public addressValues;
    mapping(bytes32 => bool) public boolValues;
    mapping(bytes32 => bytes32) public bytes32Values;
    mapping(bytes32 => bytes32[]) internal bytes32Sets;
    mapping(bytes32 => mapping(bytes32 => uint256)) internal bytes32SetIndex; // position + 1
    mapping(bytes32 => address[]) internal addressSets;
    mapping(bytes32 => mapping(address => uint256)) internal addressSetIndex;
    mapping(bytes32 => Order.Props) internal orders;
    mapping(bytes32 => Position.Props) internal positions;
    mapping(address => Market.Props) internal markets;

    constructor(RoleStore roleStore_) RoleModule(roleStore_) {}

    function getUint(bytes32 key) external view returns (uint256) { return uintValues[key]; }
    function getAddress(bytes32 key) external view returns (address) { return addressValues[key]; }
    function getBool(bytes32 key) external view returns (bool) { return boolValues[key]; }
    function getBytes32(bytes32 key) external view returns (bytes32) { return bytes32Values[key]; }

    function setUint(bytes32 key, uint256 value) external onlyRole(CONTROLLER, "CONTROLLER") { uintValues[key] = value; }
    function setAddress(bytes32 key, address value) external onlyRole(CONTROLLER, "CONTROLLER") { addressValues[key] = value; }
    function setBool(bytes32 key, bool value) external onlyRole(CONTROLLER, "CONTROLLER") { boolValues[key] = value; }

    /// Configuration in one transaction (a local deployment's convenience; GMX's Config contract sets keys one by one).
    function setUints(bytes32[] calldata keys, uint256[] calldata values) external onlyRole(CONTROLLER, "CONTROLLER") {
        for (uint256 i = 0; i < keys.length; i++) uintValues[keys[i]] = values[i];
    }

    function incrementUint(bytes32 key, uint256 value) external onlyRole(CONTROLLER, "CONTROLLER") returns (uint256) {
        uintValues[key] += value;
        return uintValues[key];
    }

    function containsBytes32(bytes32 setKey, bytes32 value) public view returns (bool) { return bytes32SetIndex[setKey][value] != 0; }
    function getBytes32Count(bytes32 setKey) external view returns (uint256) { return bytes32Sets[setKey].length; }

    function getBytes32ValuesAt(bytes32 setKey, uint256 start, uint256 end) external view returns (bytes32[] memory) {
        bytes32[] storage set = bytes32Sets[setKey];
        if (end > set.length) end = set.length;
        if (start >= end) return new bytes32[](0);
        bytes32[] memory out = new bytes32[](end - start);
        for (uint256 i = start; i < end; i++) out[i - start] = set[i];
        return out;
    }

    function addBytes32(bytes32 setKey, bytes32 value) public onlyRole(CONTROLLER, "CONTROLLER") {
        if (containsBytes32(setKey, value)) return;
        bytes32Sets[setKey].push(value);
        bytes32SetIndex[setKey][value] = bytes32Sets[setKey].length;
    }

    function removeBytes32(bytes32 setKey, bytes32 value) public onlyRole(CONTROLLER, "CONTROLLER") {
        uint256 index = bytes32SetIndex[setKey][value];
        if (index == 0) return;
        bytes32[] storage set = bytes32Sets[setKey];
        bytes32 last = set[set.length - 1];
        set[index - 1] = last;
        bytes32SetIndex[setKey][last] = index;
        set.pop();
        delete bytes32SetIndex[setKey][value];
    }

    function containsAddress(bytes32 setKey, address value) public view returns (bool) { return addressSetIndex[setKey][value] != 0; }
    function getAddressCount(bytes32 setKey) external view returns (uint256) { return addressSets[setKey].length; }
    function getAddressValuesAt(bytes32 setKey, uint256 start, uint256 end) external view returns (address[] memory) {
        address[] storage set = addressSets[setKey];
        if (end > set.length) end = set.length;
        if (start >= end) return new address[](0);
        address[] memory out = new address[](end - start);
        for (uint256 i = start; i < end; i++) out[i - start] = set[i];
        return out;
    }

    function addAddress(bytes32 setKey, address value) external onlyRole(CONTROLLER, "CONTROLLER") {
        _addAddress(setKey, value);
    }

    function _addAddress(bytes32 setKey, address value) internal {
        if (containsAddress(setKey, value)) return;
        addressSets[setKey].push(value);
        addressSetIndex[setKey][value] = addressSets[setKey].length;
    }

    function removeAddress(bytes32 setKey, address value) external onlyRole(CONTROLLER, "CONTROLLER") {
        uint256 index = addressSetIndex[setKey][value];
        if (index == 0) return;
        address[] storage set = addressSets[setKey];
        address last = set[set.length - 1];
        set[index - 1] = last;
        addressSetIndex[setKey][last] = index;
        set.pop();
        delete addressSetIndex[setKey][value];
    }

    // ---- structs (OrderStoreUtils, PositionStoreUtils, MarketStoreUtils) -------------------------
    function setOrder(bytes32 key, Order.Props memory order) external onlyRole(CONTROLLER, "CONTROLLER") {
        orders[key] = order;
        addBytes32(Keys.ORDER_LIST, key);
        addBytes32(Keys.accountOrderListKey(order.addresses.account), key);
    }

    function removeOrder(bytes32 key, address account) external onlyRole(CONTROLLER, "CONTROLLER") {
        delete orders[key];
        removeBytes32(Keys.ORDER_LIST, key);
        removeBytes32(Keys.accountOrderListKey(account), key);
    }

    function getOrder(bytes32 key) external view returns (Order.Props memory) { return orders[key]; }

    function setPosition(bytes32 key, Position.Props memory position) external onlyRole(CONTROLLER, "CONTROLLER") {
        positions[key] = position;
        addBytes32(Keys.POSITION_LIST, key);
        addBytes32(Keys.accountPositionListKey(position.addresses.account), key);
    }

    function removePosition(bytes32 key, address account) external onlyRole(CONTROLLER, "CONTROLLER") {
        delete positions[key];
        removeBytes32(Keys.POSITION_LIST, key);
        removeBytes32(Keys.accountPositionListKey(account), key);
    }

    function getPosition(bytes32 key) external view returns (Position.Props memory) { return positions[key]; }

    function setMarkets(Market.Props[] calldata props) external onlyRole(CONTROLLER, "CONTROLLER") {
        for (uint256 i = 0; i < props.length; i++) {
            markets[props[i].marketToken] = props[i];
            _addAddress(Keys.MARKET_LIST, props[i].marketToken);
        }
    }

    function getMarket(address marketToken) external view returns (Market.Props memory) { return markets[marketToken]; }
}

/// GMX's EventEmitter: every protocol event goes out as EventLog1/EventLog2 with the event's name and its data as
/// EventUtils.EventLogData (topics: the name's hash, then topic1 and topic2).
contract EventEmitter is RoleModule {
    event EventLog1(address msgSender, string eventName, string indexed eventNameHash, bytes32 indexed topic1, EventUtils.EventLogData eventData);
    event EventLog2(address msgSender, string eventName, string indexed eventNameHash, bytes32 indexed topic1, bytes32 indexed topic2, EventUtils.EventLogData eventData);

    constructor(RoleStore roleStore_) RoleModule(roleStore_) {}

    function emitEventLog1(string memory eventName, bytes32 topic1, EventUtils.EventLogData memory eventData) external onlyRole(CONTROLLER, "CONTROLLER") {
        emit EventLog1(msg.sender, eventName, eventName, topic1, eventData);
    }

    function emitEventLog2(string memory eventName, bytes32 topic1, bytes32 topic2, EventUtils.EventLogData memory eventData) external onlyRole(CONTROLLER, "CONTROLLER") {
        emit EventLog2(msg.sender, eventName, eventName, topic1, topic2, eventData);
    }
}

/// GMX's Router (SyntheticsRouter): accounts approve it for their tokens; only router plugins (the routers) move
/// them, with `pluginTransfer`.
contract Router is RoleModule {
    constructor(RoleStore roleStore_) RoleModule(roleStore_) {}

    function pluginTransfer(address token, address account, address receiver, uint256 amount) external onlyRole(ROUTER_PLUGIN, "ROUTER_PLUGIN") {
        require(IERC20Like(token).transferFrom(account, receiver, amount), "Router: transfer failed");
    }
}

/// GMX's StrictBank: `recordTransferIn` returns what arrived since the last record (OrderVault; the market pool).
contract Bank is RoleModule {
    mapping(address => uint256) public tokenBalances;

    constructor(RoleStore roleStore_) RoleModule(roleStore_) {}

    receive() external payable {}

    function recordTransferIn(address token) external onlyRole(CONTROLLER, "CONTROLLER") returns (uint256) {
        uint256 previous = tokenBalances[token];
        uint256 next = IERC20Like(token).balanceOf(address(this));
        tokenBalances[token] = next;
        return next - previous;
    }

    function transferOut(address token, address receiver, uint256 amount) external onlyRole(CONTROLLER, "CONTROLLER") {
        if (amount == 0) return;
        require(IERC20Like(token).transfer(receiver, amount), "Bank: transfer failed");
        tokenBalances[token] = IERC20Like(token).balanceOf(address(this));
    }

    function syncTokenBalance(address token) external onlyRole(CONTROLLER, "CONTROLLER") {
        tokenBalances[token] = IERC20Like(token).balanceOf(address(this));
    }
}

contract OrderVault is Bank {
    constructor(RoleStore roleStore_) Bank(roleStore_) {}
}

/// The pool that holds positions' collateral and pays their profits (GMX's market tokens hold each market's pool).
contract MarketPool is Bank {
    constructor(RoleStore roleStore_) Bank(roleStore_) {}
}

/// GMX's Reader (SyntheticsReader): orders, positions and markets in GMX's shapes, read from the DataStore.
contract Reader {
    struct OrderInfo {
        bytes32 orderKey;
        Order.Props order;
    }

    function getOrder(DataStore dataStore, bytes32 key) external view returns (Order.Props memory) {
        return dataStore.getOrder(key);
    }

    function getAccountOrders(DataStore dataStore, address account, uint256 start, uint256 end) external view returns (OrderInfo[] memory) {
        bytes32[] memory keys = dataStore.getBytes32ValuesAt(Keys.accountOrderListKey(account), start, end);
        OrderInfo[] memory out = new OrderInfo[](keys.length);
        for (uint256 i = 0; i < keys.length; i++) out[i] = OrderInfo(keys[i], dataStore.getOrder(keys[i]));
        return out;
    }

    function getPosition(DataStore dataStore, bytes32 key) external view returns (Position.Props memory) {
        return dataStore.getPosition(key);
    }

    function getAccountPositions(DataStore dataStore, address account, uint256 start, uint256 end) external view returns (Position.Props[] memory) {
        bytes32[] memory keys = dataStore.getBytes32ValuesAt(Keys.accountPositionListKey(account), start, end);
        Position.Props[] memory out = new Position.Props[](keys.length);
        for (uint256 i = 0; i < keys.length; i++) out[i] = dataStore.getPosition(keys[i]);
        return out;
    }

    function getMarket(DataStore dataStore, address key) external view returns (Market.Props memory) {
        return dataStore.getMarket(key);
    }
}
