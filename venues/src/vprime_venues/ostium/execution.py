"""Ostium's execution side: market orders on its trading contract on Arbitrum, sent by the executor's agent wallet
for the trader that delegated to it, and followed through the keeper's settlement events. What each step follows
(SDK `ostium.py`: `perform_trade`, `close_trade`, `_wait_for_order_settlement`, `_extract_order_id`; ABIs in
`ostium.abi`, scales in `ostium.constants`):

- Accounts: the trader (`Signer.trader`, the user's wallet) calls `setDelegate(agent)` once and approves USDC to the
  trading storage (the contract that pulls collateral). The agent (`Signer.account`) sends
  `delegatedAction(trader, call_data)`; the trade is the trader's. Equity is the trader's USDC balance.
- Open: `openTrade(trade, builderFee 0, MARKET, slippage)`: collateral = notional / leverage in USDC units (rounded
  down), leverage PRECISION_2 (rounded down: never more than asked), the wanted price at 1e18 from the venue's
  `latest-prices` mid, slippage PRECISION_2 percent. A missing allowance is refused before anything is sent.
- Transactions go through `vprime_venues.evm.EvmClient` (one nonce sequence per agent wallet, gas estimated, EIP-1559
  fees, journaled by client id before sending, receipts with confirmations). A revert (at estimation or mined) is a
  refusal with the venue's custom error decoded, venue-specific for the market-level ones (constants).
- Follow: the order id from MarketOpenOrderInitiated (MarketCloseOrderInitiatedV2 for a close) in the receipt; the
  callbacks contract (found through `registry()`) settles it with MarketOpenExecuted (fill: `t.openPrice`,
  `tradeNotional` base units 1e18, fees from DevFeeCharged/VaultOpeningFeeCharged/OracleFeeCharged/BuilderFeeCharged
  of that transaction) or MarketOpenCanceled (refused, with the cancel reason); a close by MarketCloseExecutedV2
  (price; fees from CloseFeeCharged) or MarketCloseCanceled.
- Timeout: once the order is older than the contract's `marketOrdersTimeout` blocks and still pending, the adapter
  cancels it through the venue's own path (`openTradeMarketTimeout`, collateral returned; `closeTradeMarketTimeout`
  for a close) and only then refuses it (venue-specific: another venue may take it), so a failover never runs beside
  an order that may still fill. This is checked while following the order and on every lookup; the contract decides
  (a cancel it refuses, `WaitTimeout` or the keeper's answer landing first, leaves the order followed).
- A keeper that has not answered within `keeper_timeout_s` (and whose order has not timed out) makes the outcome
  unknown (`VenueUnknown`): the order may still execute. `status` looks it up by client id: the journaled transaction,
  its order id, its settlement or the venue's cancellation, cancelling it itself once it has timed out.
- Close: `closeTradeMarket(pairIndex, index, 100 %, price, slippage)` by the trade the open recorded
  (`VenueFill.trade_id` = "pairIndex:index:tradeId"), checked against the trade storage first.
- Positions: the trader's open trades from the trading storage, per pair, in base units (long > 0).
"""

from __future__ import annotations

import asyncio
import time
from decimal import ROUND_DOWN, Decimal
from typing import Any

import httpx
from web3.logs import DISCARD

from vprime_shared.contracts import Order, Position, Side, Venue

from vprime_venues.evm import EvmClient, Reverted
from vprime_venues.execution import Signer, VenueFill, VenueRefused, VenueUnavailable, VenueUnknown, call
from vprime_venues.ostium import abi
from vprime_venues.ostium import constants as C

NAME = "OSTIUM"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
OPEN_FEE_EVENTS = ("DevFeeCharged", "VaultOpeningFeeCharged", "OracleFeeCharged", "BuilderFeeCharged")
LOOKBACK_BLOCKS = 50_000  # how far back a settlement is searched from the order's block (Arbitrum: a few hours)


# ---- numbers on the wire -------------------------------------------------------------------------
def exact(value: float | int | str | Decimal) -> Decimal:
    """A number as the decimal it was written as (a float by its shortest repr)."""
    return value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else str(value))


def scaled_leverage(leverage: float | Decimal) -> int:
    """PRECISION_2, rounded down (5x = 500; 2.555x = 255)."""
    return int((exact(leverage) * C.PRECISION_2).to_integral_value(rounding=ROUND_DOWN))


def collateral_units(notional_usd: float | Decimal, leverage_p2: int) -> int:
    """USDC units of collateral for `notional_usd` at `leverage_p2`, rounded down (never more than asked)."""
    return int((exact(notional_usd) * C.PRECISION_2 * 10**C.USDC_DECIMALS / leverage_p2).to_integral_value(rounding=ROUND_DOWN))


def scaled_price(price: Decimal) -> int:
    """1e18, to the unit (rounded down)."""
    return int((price * C.PRICE_SCALE).to_integral_value(rounding=ROUND_DOWN))


def slippage_p2(slippage: float | Decimal) -> int:
    """A fraction (0.01) as PRECISION_2 percent (100)."""
    return int((exact(slippage) * 100 * C.PRECISION_2).to_integral_value(rounding=ROUND_DOWN))


def trade_id_of(pair_index: int, index: int, trade_id: int) -> str:
    return f"{pair_index}:{index}:{trade_id}"


def parse_trade_id(text: str) -> tuple[int, int, int]:
    pair_index, index, trade_id = (int(x) for x in text.split(":"))
    return pair_index, index, trade_id


def _refusal(reason: str, *, specific: bool) -> VenueRefused:
    return VenueRefused(f"{NAME}: {reason}", venue_specific=specific)


def _timed_out(order_id: int) -> VenueRefused:
    """The venue's answer to an order its keeper never executed: cancelled after the venue's timeout, its collateral
    returned. Definitive (nothing of it can fill any more) and venue-specific: another venue may take the order."""
    return _refusal(f"order {order_id} cancelled after the venue's timeout: its keeper never executed it, and the "
                    "collateral was returned", specific=True)


def _reverted(exc: Reverted) -> VenueRefused:
    """A revert with the venue's error name: venue-specific for the market-level errors."""
    return _refusal(exc.reason, specific=exc.reason.split("(")[0] in C.VENUE_SPECIFIC_ERRORS)


class OstiumVenue:
    venue = Venue.OSTIUM
    lookup_window_s = 30.0  # the journal says definitively whether a lost transaction exists; this is slack

    def __init__(self, evm: EvmClient, http: httpx.AsyncClient, *, trading: str, trading_storage: str, subgraph_url: str,
                 prices_url: str, slippage: float = 0.01, keeper_timeout_s: float = 10.0, poll_s: float = 0.2) -> None:
        self.evm, self.http = evm, http
        self.subgraph_url, self.prices_url = subgraph_url, prices_url
        self.slippage_p, self.keeper_timeout_s, self.poll_s = slippage_p2(slippage), keeper_timeout_s, poll_s
        self.trading = evm.contract(abi.TRADING, trading)
        self.storage = evm.contract(abi.TRADING_STORAGE, trading_storage)
        known = {(e["name"], len(e["inputs"])) for e in evm.errors_abi}
        evm.errors_abi.extend(e for e in abi.TRADING if e["type"] == "error" and (e["name"], len(e["inputs"])) not in known)
        self._callbacks: Any = None
        self._usdc: str | None = None
        self._pairs: dict[str, int] = {}
        self._timeout_blocks: int | None = None

    # ---- what the venue says -------------------------------------------------------------------
    async def callbacks(self) -> Any:
        if self._callbacks is None:
            registry = self.evm.contract(abi.REGISTRY, await self.evm.read(self.trading.functions.registry()))
            address = await self.evm.read(registry.functions.getContractAddress(C.CALLBACKS_REGISTRY_NAME))
            self._callbacks = self.evm.contract(abi.CALLBACKS, address)
        return self._callbacks

    async def usdc(self) -> str:
        if self._usdc is None:
            self._usdc = await self.evm.read(self.storage.functions.usdc())
        return self._usdc

    async def pairs(self) -> dict[str, int]:
        """FROM-TO -> pair index, from the subgraph."""
        if not self._pairs:
            r = await call(self.http, "POST", self.subgraph_url, self.venue, json={"query": "{ pairs(first: 1000) { id from to } }"})
            if r.status_code != 200:
                raise VenueUnavailable(f"{NAME} subgraph answered {r.status_code}")
            self._pairs = {f"{p['from']}-{p['to']}": int(p["id"]) for p in r.json()["data"]["pairs"]}
        return self._pairs

    async def pair_index(self, symbol: str) -> int:
        found = (await self.pairs()).get(symbol)
        if found is None:
            raise _refusal(f"no pair {symbol}", specific=True)
        return found

    async def mid(self, symbol: str) -> Decimal:
        r = await call(self.http, "GET", self.prices_url, self.venue)
        if r.status_code != 200:
            raise VenueUnavailable(f"{NAME} prices answered {r.status_code}")
        base, quote = symbol.split("-")
        for p in r.json():
            if p.get("from") == base and p.get("to") == quote:
                if not p.get("isMarketOpen", False):
                    raise _refusal(f"the {symbol} market is closed", specific=True)
                return exact(p["mid"])
        raise _refusal(f"no price for {symbol}", specific=True)

    async def timeout_blocks(self) -> int:
        if self._timeout_blocks is None:
            self._timeout_blocks = int(await self.evm.read(self.trading.functions.marketOrdersTimeout()))
        return self._timeout_blocks

    # ---- the adapter ---------------------------------------------------------------------------
    async def equity(self, signer: Signer) -> float:
        units = await self.evm.token_balance(await self.usdc(), signer.trader)
        return float(Decimal(units) / 10**C.USDC_DECIMALS)

    async def place(self, signer: Signer, order: Order, notional_usd: float, client_id: str) -> VenueFill:
        pair = await self.pair_index(order.venue_symbol)
        mid = await self.mid(order.venue_symbol)
        leverage = scaled_leverage(order.leverage)
        collateral = collateral_units(notional_usd, leverage)
        trader = self.evm.w3.to_checksum_address(signer.trader)
        usdc = self.evm.contract(abi.USDC, await self.usdc())
        allowed = await self.evm.read(usdc.functions.allowance(trader, self.storage.address))
        if allowed < collateral:
            raise _refusal(f"the trader {trader} has approved {Decimal(allowed) / 10**C.USDC_DECIMALS} USDC to the trading "
                           f"storage {self.storage.address}, less than the {Decimal(collateral) / 10**C.USDC_DECIMALS} "
                           "USDC of collateral", specific=True)
        trade = (collateral, scaled_price(mid), 0, 0, trader, leverage, pair, 0, order.side is Side.LONG, False)
        inner = self.trading.encode_abi("openTrade", [trade, (ZERO_ADDRESS, 0), C.MARKET_ORDER, self.slippage_p])
        receipt = await self._send(signer, inner, client_id)
        order_id = self._initiated(receipt, opening=True)
        return await self._follow(signer, order_id, receipt["blockNumber"], opening=True, qty=None, client_id=client_id)

    async def close(self, signer: Signer, position: Position, client_id: str) -> VenueFill:
        trade_id = position.extra.get("trade_id")
        if not trade_id:
            raise _refusal(f"position {position.position_id} has no trade to close", specific=False)
        pair, index, tid = parse_trade_id(str(trade_id))
        trader = self.evm.w3.to_checksum_address(signer.trader)
        info = await self.evm.read(self.storage.functions.getOpenTradeInfo(trader, pair, index))
        if info[0] != tid:
            raise _refusal(f"trade {tid} is not open at pair {pair} index {index}", specific=False)
        mid = await self.mid(position.venue_symbol)
        inner = self.trading.encode_abi("closeTradeMarket", [pair, index, C.FULL_CLOSE, scaled_price(mid), self.slippage_p])
        receipt = await self._send(signer, inner, client_id)
        order_id = self._initiated(receipt, opening=False)
        return await self._follow(signer, order_id, receipt["blockNumber"], opening=False, qty=exact(position.qty),
                                  client_id=client_id)

    async def status(self, signer: Signer, order: Order, client_id: str) -> VenueFill | None:
        """The order sent under `client_id`: None if no transaction of it exists; its fill; a refusal; or unknown while
        it is in flight. An order the keeper left pending past the venue's timeout is cancelled here, then refused."""
        receipt = await self.evm.look_up(client_id)
        if receipt is None:
            return None
        if receipt["status"] != 1:
            await self._mined(receipt["transactionHash"])  # raises the refusal with its reason
        opening = bool(self.trading.events.MarketOpenOrderInitiated().process_receipt(receipt, errors=DISCARD))
        order_id = self._initiated(receipt, opening=opening)
        # A close is recorded by its price and fee (its size is the position's), so its quantity is not needed here.
        settled = await self._settlement(order_id, receipt["blockNumber"], opening=opening, qty=None)
        if settled is not None:
            return settled
        await self._cancel_if_timed_out(signer, order_id, receipt["blockNumber"], opening=opening, client_id=client_id)
        raise VenueUnknown(f"{NAME}: order {order_id} is pending with the keeper; ask again")

    async def positions(self, signer: Signer) -> dict[str, float]:
        trader = self.evm.w3.to_checksum_address(signer.trader)
        pairs = await self.pairs()
        counts = await asyncio.gather(*(self.evm.read(self.storage.functions.openTradesCount(trader, i)) for i in pairs.values()))
        per_trade = await self.evm.read(self.storage.functions.maxTradesPerPair())
        out: dict[str, float] = {}
        for (symbol, pair), count in zip(pairs.items(), counts, strict=True):
            if not count:
                continue
            trades = await asyncio.gather(*(self.evm.read(self.storage.functions.getOpenTradeInfo(trader, pair, i))
                                            for i in range(per_trade)))
            sides = await asyncio.gather(*(self.evm.read(self.storage.functions.getOpenTrade(trader, pair, i))
                                           for i in range(per_trade)))
            size = sum((Decimal(info[1]) / C.BASE_SCALE * (1 if t[8] else -1) for info, t in zip(trades, sides, strict=True)
                        if t[5]), Decimal(0))
            out[symbol] = float(size)
        return out

    # ---- sending and following -----------------------------------------------------------------
    async def _send(self, signer: Signer, inner: bytes | str, client_id: str) -> dict[str, Any]:
        fn = self.trading.functions.delegatedAction(self.evm.w3.to_checksum_address(signer.trader), inner)
        try:
            tx_hash = await self.evm.send(signer.account, fn, client_id=client_id)
            return await self.evm.receipt(tx_hash)
        except Reverted as exc:
            raise _reverted(exc) from exc

    async def _mined(self, tx_hash: Any) -> dict[str, Any]:
        try:
            return await self.evm.receipt(tx_hash if isinstance(tx_hash, str) else "0x" + bytes(tx_hash).hex())
        except Reverted as exc:
            raise _reverted(exc) from exc

    def _initiated(self, receipt: dict[str, Any], *, opening: bool) -> int:
        event = self.trading.events.MarketOpenOrderInitiated if opening else self.trading.events.MarketCloseOrderInitiatedV2
        found = event().process_receipt(receipt, errors=DISCARD)
        if not found:
            raise VenueUnknown(f"{NAME}: transaction mined with no order initiated; looking it up")
        return int(found[0].args.orderId)

    async def _follow(self, signer: Signer, order_id: int, from_block: int, *, opening: bool, qty: Decimal | None,
                      client_id: str) -> VenueFill:
        """The order's fill or the venue's refusal (its cancellation, or ours once it has timed out); unknown after
        `keeper_timeout_s`."""
        deadline = time.monotonic() + self.keeper_timeout_s
        while True:
            settled = await self._settlement(order_id, from_block, opening=opening, qty=qty)
            if settled is not None:
                return settled
            await self._cancel_if_timed_out(signer, order_id, from_block, opening=opening, client_id=client_id)
            if time.monotonic() > deadline:
                raise VenueUnknown(f"{NAME}: the keeper has not settled order {order_id} within {self.keeper_timeout_s:g} s; "
                                   "it may still execute: looking it up")
            await asyncio.sleep(self.poll_s)

    async def _settlement(self, order_id: int, from_block: int, *, opening: bool, qty: Decimal | None) -> VenueFill | None:
        """The order's fill; a refusal if the venue cancelled it; None while it is pending."""
        callbacks = await self.callbacks()
        topic = "0x" + format(order_id, "064x")
        try:
            logs = await self.evm.w3.eth.get_logs({"address": callbacks.address, "fromBlock": from_block, "toBlock": "latest",
                                                   "topics": [None, topic]})
            timeouts = await self.evm.w3.eth.get_logs({"address": self.trading.address, "fromBlock": from_block,
                                                       "toBlock": "latest", "topics": [None, topic]})
        except (OSError, asyncio.TimeoutError) as exc:
            raise VenueUnknown(f"{NAME}: the chain did not answer about order {order_id}") from exc
        names = ("MarketOpenExecuted", "MarketOpenCanceled") if opening else ("MarketCloseExecutedV2", "MarketCloseCanceled")
        for log in logs:
            for name in names:
                try:
                    event = getattr(callbacks.events, name)().process_log(log)
                except Exception:  # noqa: BLE001 - another event of this order id
                    continue
                if name.endswith("Canceled"):
                    reason = C.cancel_reason(int(event.args.cancelReason))
                    raise _refusal(f"order {order_id} cancelled by the venue: {reason}", specific=reason in C.VENUE_SPECIFIC_CANCELS)
                receipt = await self.evm.w3.eth.get_transaction_receipt(log["transactionHash"])
                return self._open_fill(event, receipt, order_id) if opening else self._close_fill(event, receipt, order_id, qty)
        timeout_event = "MarketOpenTimeoutExecutedV2" if opening else "MarketCloseTimeoutExecutedV2"
        for log in timeouts:
            try:
                getattr(self.trading.events, timeout_event)().process_log(log)
            except Exception:  # noqa: BLE001 - the order's initiation, not its timeout
                continue
            raise _timed_out(order_id)
        return None

    def _fees(self, receipt: dict[str, Any], names: tuple[str, ...], callbacks: Any) -> Decimal:
        units = 0
        for name in names:
            for e in getattr(callbacks.events, name)().process_receipt(receipt, errors=DISCARD):
                units += int(e.args.get("amount", e.args.get("closeFee", 0)))
        return Decimal(units) / 10**C.USDC_DECIMALS

    def _open_fill(self, event: Any, receipt: dict[str, Any], order_id: int) -> VenueFill:
        t = event.args.t
        price = Decimal(t.openPrice) / C.PRICE_SCALE
        qty = Decimal(event.args.tradeNotional) / C.BASE_SCALE
        fee = self._fees(receipt, OPEN_FEE_EVENTS, self._callbacks)
        charged = self._callbacks.events.DevFeeCharged().process_receipt(receipt, errors=DISCARD)
        trade_id = int(charged[0].args.tradeId) if charged else 0
        return VenueFill(price=float(price), qty=float(qty), notional_usd=float(price * qty), fee_usd=float(fee),
                         venue_order_id=str(order_id), trade_id=trade_id_of(t.pairIndex, t.index, trade_id))

    def _close_fill(self, event: Any, receipt: dict[str, Any], order_id: int, qty: Decimal | None) -> VenueFill:
        price = Decimal(event.args.price) / C.PRICE_SCALE
        size = (qty or Decimal(0)) * Decimal(event.args.percentageClosed) / C.FULL_CLOSE
        fee = self._fees(receipt, ("CloseFeeCharged", "OracleFeeCharged"), self._callbacks)
        return VenueFill(price=float(price), qty=float(size), notional_usd=float(price * size), fee_usd=float(fee),
                         venue_order_id=str(order_id))

    async def _cancel_if_timed_out(self, signer: Signer, order_id: int, block: int, *, opening: bool, client_id: str) -> None:
        """Past the venue's timeout with no answer from the keeper: cancel through the venue's own path, then refuse
        the order. Before the timeout, or when the contract refuses the cancel (the keeper answered first; on
        Arbitrum the contract counts L1 blocks, which come slower than the L2 blocks counted here), nothing happens:
        the order is followed on."""
        try:
            if await self.evm.w3.eth.block_number < block + await self.timeout_blocks():
                return
        except (OSError, asyncio.TimeoutError):
            return  # the chain did not answer: ask again next time
        inner = (self.trading.encode_abi("openTradeMarketTimeout", [order_id]) if opening
                 else self.trading.encode_abi("closeTradeMarketTimeout", [order_id, False]))
        try:
            await self._send(signer, inner, f"{client_id}:timeout")
        except VenueRefused:  # settled meanwhile, or not timed out yet by the contract's clock: its settlement tells
            return
        raise _timed_out(order_id)


__all__ = ["OstiumVenue"]
