"""GMX v2 on chain, with the executor's agent wallet as the account's subaccount (one-click trading). What each
behaviour follows (gmx-synthetics `SubaccountRouter`, `OrderUtils.createOrder`, `OrderHandler`, `OrderEventUtils`,
`PositionEventUtils`; `@gmx-io/sdk` 1.4.0 ABIs; gmx-python-sdk's order builder):

- Accounts: the user's account approved the agent as its subaccount (`addSubaccount`, a max action count and an
  expiry for SUBACCOUNT_ORDER_ACTION) and approved GMX's Router for USDC. The agent signs; every read names the
  account (`Signer.trader`). Equity is the account's USDC balance.
- Place: one `SubaccountRouter.multicall` from the agent wallet, with the execution fee as value:
  `sendWnt(OrderVault, fee)` then `createOrder(account, MarketIncrease)`; the Router pulls the collateral from the
  account. Collateral = notional / leverage in USDC units (rounded down); `sizeDeltaUsd` = notional x 10^30;
  `acceptablePrice` = the oracle's max (long) or min (short) price moved by the slippage against us, in GMX's scale
  (10^(30 - index decimals)), rounded so it never widens the bound. The execution fee is GMX's own estimate
  (GasUtils.adjustGasLimitForEstimate from the DataStore's gas keys) at the transaction's max fee per gas, x 1.3.
  The order carries our client id in `dataList` (free for orders), so it is found on chain by it too.
- Follow: the order key is the OrderCreated event's (EventLog2, topic1 = key) in the receipt; then OrderExecuted or
  OrderCancelled with that key. A fill comes from the execution's PositionIncrease / PositionDecrease
  (executionPrice, sizeDeltaInTokens, sizeDeltaUsd) and PositionFeesCollected (positionFeeAmount x collateral price).
  A cancellation is `VenueRefused` with its reason (`reason`, or the custom error in `reasonBytes` decoded by
  GMX's published error ABI). No answer within `keeper_timeout_s`: `VenueUnknown` (the order exists; it is looked
  up by its key). Once the order is older than the DataStore's REQUEST_EXPIRATION_TIME, the agent cancels it as the
  account may (`SubaccountRouter.cancelOrder`): then it is refused (venue-specific, so another venue may take it),
  and only then.
- Status by client id: the transaction journal (`EvmClient.look_up`) gives the receipt and so the order key; a
  pending order still on chain is also found by its `dataList`.
- Close: a MarketDecrease of the whole on-chain position (`Reader.getAccountPositions`), acceptable price on the
  other side of the slippage bound.
- Reverts (a refused subaccount, a missing allowance, too small a fee) are `Reverted` (REJECTED) with GMX's error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Any

from eth_abi import decode as abi_decode
from hexbytes import HexBytes

from vprime_shared.contracts import Order, Position, Side, Venue

from vprime_venues.evm import EvmClient, Reverted, amount_units, revert_reason
from vprime_venues.execution import Signer, VenueFill, VenueRefused, VenueUnavailable, VenueUnknown
from vprime_venues.gmx import abi as A
from vprime_venues.gmx import constants as C
from vprime_venues.gmx.oracle import MarketInfo, OracleApi

log = logging.getLogger(__name__)
NAME = "GMX"
USDC_DECIMALS = 6
# Cancellation reasons about this market's state, not the order or the account: another venue may take the order.
VENUE_SPECIFIC_ERRORS = ("OrderNotFulfillableAtAcceptablePrice", "InsufficientReserve", "MaxOpenInterestExceeded",
                         "InsufficientReserveForOpenInterest", "DisabledMarket", "keeper did not execute")
_EVENT_DATA_TYPES = ["address", "string",
                     "(((string,address)[],(string,address[])[]),((string,uint256)[],(string,uint256[])[]),"
                     "((string,int256)[],(string,int256[])[]),((string,bool)[],(string,bool[])[]),"
                     "((string,bytes32)[],(string,bytes32[])[]),((string,bytes)[],(string,bytes[])[]),"
                     "((string,string)[],(string,string[])[]))"]


# ---- numbers on the wire -------------------------------------------------------------------------
def size_delta_usd(notional_usd: Decimal) -> int:
    return int((notional_usd * C.USD_SCALE).to_integral_value(rounding=ROUND_DOWN))


def collateral_units(notional_usd: Decimal, leverage: Decimal, decimals: int = USDC_DECIMALS) -> int:
    """Collateral for `notional_usd` at `leverage`, in the collateral token's units, rounded down (never more margin
    than asked)."""
    if leverage < 1:
        raise ValueError(f"leverage {leverage} is below 1")
    return amount_units(notional_usd / leverage, decimals)


def acceptable_price(reference: int, slippage: Decimal, *, buying: bool) -> int:
    """The worst price accepted, in contract scale: above the reference when buying (a long opens, a short closes),
    below when selling; rounded towards the reference so the bound is never wider than `slippage`."""
    bound = Decimal(reference) * (1 + slippage if buying else 1 - slippage)
    return int(bound.to_integral_value(rounding=ROUND_FLOOR if buying else ROUND_CEILING))


def client_id_bytes(client_id: str) -> bytes:
    """Our client id (0x + 32 hex digits) as one bytes32 of `dataList`, right-aligned."""
    raw = bytes.fromhex(client_id.removeprefix("0x"))
    if len(raw) > 32:
        raise ValueError(f"client id {client_id!r} is longer than 32 bytes")
    return raw.rjust(32, b"\x00")


# ---- events --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GmxEvent:
    name: str
    topics: list[bytes]
    items: dict[str, Any]  # every item and array item by key, whatever its kind
    tx_hash: str
    block: int


def decode_event_log(log_entry: dict[str, Any]) -> GmxEvent | None:
    """An EventLog1/EventLog2 log of GMX's EventEmitter as its name and items; None for any other log."""
    topics = [bytes(t) for t in log_entry["topics"]]
    if not topics or topics[0] not in (C.EVENT_LOG1_TOPIC, C.EVENT_LOG2_TOPIC):
        return None
    _, name, data = abi_decode(_EVENT_DATA_TYPES, bytes(log_entry["data"]))
    items: dict[str, Any] = {}
    for kind in data:
        for key, value in kind[0]:
            items[key] = value
        for key, values in kind[1]:
            items[key] = list(values)
    tx_hash = log_entry["transactionHash"]
    return GmxEvent(name, topics, items, "0x" + bytes(tx_hash).hex(), int(log_entry["blockNumber"]))


def fill_from_events(position_event: GmxEvent, fees: GmxEvent | None, index_decimals: int, key: bytes) -> VenueFill:
    """A fill from a PositionIncrease/PositionDecrease and its PositionFeesCollected."""
    items = position_event.items
    price = C.from_contract_price(int(items["executionPrice"]), index_decimals)
    qty = Decimal(int(items["sizeDeltaInTokens"])) / Decimal(10) ** index_decimals
    notional = Decimal(int(items["sizeDeltaUsd"])) / C.USD_SCALE
    fee = Decimal(0)
    if fees is not None:
        cost = int(fees.items.get("positionFeeAmount", 0)) + int(fees.items.get("borrowingFeeAmount", 0)) \
            + int(fees.items.get("fundingFeeAmount", 0))
        fee = Decimal(cost) * int(fees.items["collateralTokenPrice.min"]) / C.USD_SCALE
    return VenueFill(price=float(price), qty=float(qty), notional_usd=float(notional), fee_usd=float(fee),
                     venue_order_id="0x" + key.hex())


@dataclass(frozen=True)
class GmxContracts:
    subaccount_router: str
    order_vault: str
    reader: str
    datastore: str
    event_emitter: str
    usdc: str

    @classmethod
    def of_network(cls, network: str) -> GmxContracts:
        n = C.NETWORKS[network]
        return cls(n["subaccount_router"], n["order_vault"], n["reader"], n["datastore"], n["event_emitter"], n["usdc"])


class GmxVenue:
    venue = Venue.GMX
    lookup_window_s = 60.0  # a send whose answer was lost and that the journal does not know: never sent

    def __init__(self, evm: EvmClient, oracle: OracleApi, contracts: GmxContracts, *, slippage: float = 0.01,
                 keeper_timeout_s: float = 10.0, poll_s: float = 0.2, log_lookback_blocks: int = 20_000) -> None:
        self.evm, self.oracle, self.contracts = evm, oracle, contracts
        self.slippage = Decimal(repr(slippage))
        self.keeper_timeout_s, self.poll_s, self.log_lookback_blocks = keeper_timeout_s, poll_s, log_lookback_blocks
        self.evm.errors_abi = [*self.evm.errors_abi, *A.CUSTOM_ERRORS]
        self.router = evm.contract(A.SUBACCOUNT_ROUTER, contracts.subaccount_router)
        self.reader = evm.contract(A.READER, contracts.reader)
        self.datastore = evm.contract(A.DATA_STORE, contracts.datastore)
        self._markets: dict[str, MarketInfo] = {}
        self._markets_lock = asyncio.Lock()
        self._gas_keys: dict[bytes, int] = {}

    # ---- reads -----------------------------------------------------------------------------------
    async def market(self, symbol: str) -> MarketInfo:
        """The market named `symbol` (`ETH/USD [WETH-USDC]`); a bare `ETH/USD` is the first listed one with USDC
        collateral."""
        async with self._markets_lock:
            if symbol not in self._markets:
                markets = [m for m in await self.oracle.markets() if self.contracts.usdc.lower() in
                           (m.short_token.lower(), m.long_token.lower())]
                self._markets = {m.symbol: m for m in markets}
                for m in markets:
                    self._markets.setdefault(m.symbol.split(" [")[0], m)
        found = self._markets.get(symbol)
        if found is None:
            raise VenueRefused(f"{NAME} has no market {symbol} with USDC collateral", venue_specific=True)
        if not found.is_listed:
            raise VenueRefused(f"{NAME} market {symbol} is not listed", venue_specific=True)
        return found

    async def _prices(self, market: MarketInfo) -> tuple[int, int]:
        ticker = (await self.oracle.tickers()).get(market.index_token.lower())
        if ticker is None or ticker.min_price <= 0:
            raise VenueRefused(f"{NAME} has no price for {market.index_symbol}", venue_specific=True)
        return ticker.min_price, ticker.max_price

    async def _uint(self, key: bytes) -> int:
        return await self.evm.read(self.datastore.functions.getUint(key))

    async def _execution_fee(self, increase: bool) -> int:
        """GasUtils.adjustGasLimitForEstimate x the max fee per gas this transaction may pay, with a buffer."""
        names = (C.INCREASE_ORDER_GAS_LIMIT if increase else C.DECREASE_ORDER_GAS_LIMIT, C.ESTIMATED_GAS_FEE_BASE_AMOUNT_V2_1,
                 C.ESTIMATED_GAS_FEE_PER_ORACLE_PRICE, C.ESTIMATED_GAS_FEE_MULTIPLIER_FACTOR)
        limit, base, per_price, multiplier = [await self._cached_uint(k) for k in names]
        gas_limit = base + per_price * C.ORACLE_PRICE_COUNT + limit * multiplier // C.FLOAT_PRECISION
        priority, block = await asyncio.gather(self.evm.w3.eth.max_priority_fee, self.evm.w3.eth.get_block("latest"))
        max_fee = 2 * block["baseFeePerGas"] + priority
        return int(Decimal(gas_limit * max_fee) * C.EXECUTION_FEE_BUFFER)

    async def _cached_uint(self, key: bytes) -> int:
        if key not in self._gas_keys:
            self._gas_keys[key] = await self._uint(key)
        return self._gas_keys[key]

    async def equity(self, signer: Signer) -> float:
        units = await self.evm.token_balance(self.contracts.usdc, signer.trader)
        return float(Decimal(units) / Decimal(10) ** USDC_DECIMALS)

    async def _positions(self, account: str) -> list[Any]:
        return await self.evm.read(self.reader.functions.getAccountPositions(
            self.evm.w3.to_checksum_address(self.contracts.datastore), self.evm.w3.to_checksum_address(account), 0, 1000))

    async def positions(self, signer: Signer) -> dict[str, float]:
        """Each open position by market name, in index tokens (negative: short)."""
        out: dict[str, float] = {}
        by_token = {m.market_token.lower(): m for m in await self.oracle.markets()}
        for addresses, numbers, flags in await self._positions(signer.trader):
            market = by_token.get(addresses[1].lower())
            if market is None or numbers[0] == 0:
                continue
            size = float(Decimal(numbers[1]) / Decimal(10) ** market.index_decimals)
            out[market.symbol] = out.get(market.symbol, 0.0) + (size if flags[0] else -size)
        return out

    # ---- orders ----------------------------------------------------------------------------------
    async def _create(self, signer: Signer, market: MarketInfo, *, increase: bool, is_long: bool, size_usd: int,
                      collateral: int, acceptable: int, client_id: str) -> tuple[bytes, int]:
        """Send the multicall; the order key and the block it was created in."""
        account = self.evm.w3.to_checksum_address(signer.trader)
        fee = await self._execution_fee(increase)
        params = ((account, account, C.ZERO_ADDRESS, C.ZERO_ADDRESS, self.evm.w3.to_checksum_address(market.market_token),
                   self.evm.w3.to_checksum_address(self.contracts.usdc), []),
                  (size_usd, collateral, 0, acceptable, fee, 0, 0, 0),
                  C.OrderType.MARKET_INCREASE if increase else C.OrderType.MARKET_DECREASE, C.DECREASE_NO_SWAP, is_long,
                  False, False, C.ZERO_BYTES32, [client_id_bytes(client_id)])
        calls = [self.router.encode_abi("sendWnt", args=(self.evm.w3.to_checksum_address(self.contracts.order_vault), fee)),
                 self.router.encode_abi("createOrder", args=(account, params))]
        tx_hash = await self.evm.send(signer.account, self.router.functions.multicall([HexBytes(c) for c in calls]),
                                      client_id=client_id, value=fee)
        receipt = await self.evm.receipt(tx_hash)
        return self._created_key(receipt, client_id), int(receipt["blockNumber"])

    def _created_key(self, receipt: dict[str, Any], client_id: str) -> bytes:
        for entry in receipt["logs"]:
            event = decode_event_log(entry)
            if event is not None and event.name == "OrderCreated":
                return bytes(event.items["key"])
        raise VenueUnknown(f"{NAME}: transaction of {client_id} mined without an OrderCreated event; looking it up")

    async def _events(self, name: str, topic1: bytes, from_block: int, *, two: bool = True) -> list[GmxEvent]:
        logs = await self.evm.rpc(self.evm.w3.eth.get_logs({
            "address": self.evm.w3.to_checksum_address(self.contracts.event_emitter), "fromBlock": max(0, from_block),
            "toBlock": "latest", "topics": ["0x" + (C.EVENT_LOG2_TOPIC if two else C.EVENT_LOG1_TOPIC).hex(),
                                            "0x" + C.event_name_topic(name).hex(), "0x" + topic1.hex()]}))
        return [e for e in (decode_event_log(entry) for entry in logs) if e is not None]

    async def _outcome(self, key: bytes, account: str, market: MarketInfo, from_block: int) -> VenueFill | None:
        """The order's fill, a refusal if it was cancelled, or None while it is pending."""
        executed = await self._events("OrderExecuted", key, from_block)
        if executed:
            block = executed[0].block
            account_topic = bytes.fromhex(account.lower().removeprefix("0x")).rjust(32, b"\x00")
            changes = [e for name in ("PositionIncrease", "PositionDecrease")
                       for e in await self._events(name, account_topic, block, two=False) if bytes(e.items["orderKey"]) == key]
            fees = [e for e in await self._events("PositionFeesCollected",
                                                  bytes.fromhex(market.market_token.lower().removeprefix("0x")).rjust(32, b"\x00"),
                                                  block, two=False) if bytes(e.items["orderKey"]) == key]
            if not changes:
                raise VenueUnknown(f"{NAME}: order 0x{key.hex()} executed, its position change not visible yet")
            return fill_from_events(changes[0], fees[0] if fees else None, market.index_decimals, key)
        cancelled = await self._events("OrderCancelled", key, from_block)
        if cancelled:
            items = cancelled[0].items
            reason = items.get("reason") or revert_reason(bytes(items.get("reasonBytes") or b""), A.CUSTOM_ERRORS)
            if reason == "USER_INITIATED_CANCEL":
                reason = "the keeper did not execute the order before it expired; cancelled"
            raise VenueRefused(f"{NAME}: order 0x{key.hex()} cancelled: {reason}",
                               venue_specific=any(s in reason for s in VENUE_SPECIFIC_ERRORS + ("keeper did not",)))
        return None

    async def _follow(self, signer: Signer, key: bytes, market: MarketInfo, from_block: int, client_id: str, *,
                      wait_s: float) -> VenueFill:
        deadline = time.monotonic() + wait_s
        while True:
            outcome = await self._outcome(key, signer.trader, market, from_block)
            if outcome is not None:
                return outcome
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(self.poll_s)
        if await self._expired(key):
            return await self._cancel_expired(signer, key, market, from_block, client_id)
        raise VenueUnknown(f"{NAME}: order 0x{key.hex()} not executed within {wait_s:g}s; looking it up")

    async def _expired(self, key: bytes) -> bool:
        order = await self.evm.read(self.reader.functions.getOrder(self.evm.w3.to_checksum_address(self.contracts.datastore), key))
        updated_at = order[1][9]
        if order[0][0] == C.ZERO_ADDRESS:
            return False  # executed or cancelled meanwhile: the events say which
        expiration = await self._uint(C.REQUEST_EXPIRATION_TIME)
        # the cancel would be mined now: a chain without traffic (anvil) has no newer block to say so
        now = max((await self.evm.w3.eth.get_block("latest"))["timestamp"], int(time.time()))
        return now - updated_at >= expiration

    async def _cancel_expired(self, signer: Signer, key: bytes, market: MarketInfo, from_block: int, client_id: str) -> VenueFill:
        """The keeper did not execute within REQUEST_EXPIRATION_TIME: cancel as the account may, then report what the
        chain says (executed after all, or cancelled)."""
        log.warning("GMX order 0x%s expired unexecuted; cancelling it", key.hex())
        try:
            tx_hash = await self.evm.send(signer.account, self.router.functions.cancelOrder(key), client_id=f"{client_id}:cancel")
            await self.evm.receipt(tx_hash)
        except Reverted as exc:
            if "EmptyOrder" not in str(exc):
                raise VenueUnknown(f"{NAME}: cancelling expired order 0x{key.hex()} failed ({exc}); looking it up") from exc
        outcome = await self._outcome(key, signer.trader, market, from_block)
        if outcome is None:
            raise VenueUnknown(f"{NAME}: order 0x{key.hex()} neither executed nor cancelled yet; looking it up")
        return outcome

    # ---- the adapter -----------------------------------------------------------------------------
    async def place(self, signer: Signer, order: Order, notional_usd: float, client_id: str) -> VenueFill:
        notional = Decimal(repr(notional_usd))
        if notional < Decimal(repr(C.MIN_NOTIONAL_USD)):
            raise VenueRefused(f"{NAME}: size {notional:.2f} USD is below the minimum {C.MIN_NOTIONAL_USD:g} USD", venue_specific=True)
        market = await self.market(order.venue_symbol)
        leverage = Decimal(repr(order.leverage))
        factor = Decimal(await self._uint(C.min_collateral_factor_key(market.market_token))) / C.FLOAT_PRECISION
        if factor > 0 and leverage > 1 / factor:
            raise VenueRefused(f"{NAME}: {leverage}x is above {market.symbol}'s {1 / factor:.0f}x (min collateral factor)",
                               venue_specific=True)
        collateral = collateral_units(notional, leverage)
        if Decimal(collateral) / 10**USDC_DECIMALS < C.MIN_COLLATERAL_USD:
            raise VenueRefused(f"{NAME}: collateral below GMX's minimum {C.MIN_COLLATERAL_USD} USD", venue_specific=True)
        is_long = order.side is Side.LONG
        low, high = await self._prices(market)
        acceptable = acceptable_price(high if is_long else low, self.slippage, buying=is_long)
        key, block = await self._create(signer, market, increase=True, is_long=is_long, size_usd=size_delta_usd(notional),
                                        collateral=collateral, acceptable=acceptable, client_id=client_id)
        return await self._follow(signer, key, market, block, client_id, wait_s=self.keeper_timeout_s)

    async def close(self, signer: Signer, position: Position, client_id: str) -> VenueFill:
        market = await self.market(position.venue_symbol)
        is_long = position.side is Side.LONG
        size_usd = 0
        for addresses, numbers, flags in await self._positions(signer.trader):
            if addresses[1].lower() == market.market_token.lower() and flags[0] == is_long \
                    and addresses[2].lower() == self.contracts.usdc.lower():
                size_usd = numbers[0]
        if size_usd == 0:
            raise VenueRefused(f"{NAME}: no open {position.side.value} position on {market.symbol}", venue_specific=False)
        low, high = await self._prices(market)
        acceptable = acceptable_price(low if is_long else high, self.slippage, buying=not is_long)
        key, block = await self._create(signer, market, increase=False, is_long=is_long, size_usd=size_usd, collateral=0,
                                        acceptable=acceptable, client_id=client_id)
        return await self._follow(signer, key, market, block, client_id, wait_s=self.keeper_timeout_s)

    async def status(self, signer: Signer, order: Order, client_id: str) -> VenueFill | None:
        """What became of the order sent under `client_id`: None if no transaction of it exists."""
        market = await self.market(order.venue_symbol)
        receipt = await self.evm.look_up(client_id)
        if receipt is None:
            pending = await self._pending_by_client_id(signer.trader, client_id)
            if pending is None:
                return None
            key, block = pending, max(0, await self.evm.w3.eth.block_number - self.log_lookback_blocks)
        else:
            if receipt["status"] != 1:
                raise Reverted(self.venue, await self.evm.reason_of(receipt))
            key, block = self._created_key(receipt, client_id), int(receipt["blockNumber"])
        return await self._follow(signer, key, market, block, client_id, wait_s=0)

    async def _pending_by_client_id(self, account: str, client_id: str) -> bytes | None:
        wanted = client_id_bytes(client_id)
        try:
            orders = await self.evm.read(self.reader.functions.getAccountOrders(
                self.evm.w3.to_checksum_address(self.contracts.datastore), self.evm.w3.to_checksum_address(account), 0, 1000))
        except VenueUnavailable:
            raise
        for order_key, props in orders:
            if wanted in [bytes(x) for x in props[3]]:
                return bytes(order_key)
        return None


__all__ = ["GmxContracts", "GmxVenue", "acceptable_price", "collateral_units", "gmx_venue", "size_delta_usd"]


def gmx_venue(evm: EvmClient, http: Any, settings: dict[str, str], **kwargs: Any) -> GmxVenue:
    """The adapter from the executor's settings (`ExecutorSettings.gmx()`: addresses, USDC, Oracle API URL)."""
    contracts = GmxContracts(settings["subaccount_router"], settings["order_vault"], settings["reader"], settings["datastore"],
                             settings["event_emitter"], settings["usdc"])
    return GmxVenue(evm, OracleApi(http, settings["oracle_url"]), contracts, **kwargs)
