"""Sending transactions for the on-chain venues (Ostium, GMX, SPOT), one way for all of them.

Invariants:
- One nonce sequence per signing wallet in this process: nonces are taken under the wallet's lock and the raw
  transaction is handed to the node before the lock is released, so concurrent orders from one agent wallet never
  collide. The sequence starts from the node's pending count (so it is recovered after a restart) and is re-read
  when the node says a nonce is too low (another instance used it); the transaction is then signed anew.
- A transaction's hash is known before it is sent (it is the hash of the signed bytes) and is journaled under the
  order's client id first. A send or a receipt wait whose answer is lost is `VenueUnknown`; `look_up` asks the chain
  about every hash journaled for the client id and says mined, pending (still unknown) or absent.
- A revert is the venue's answer: `Reverted` (a `VenueRefused`) with the reason decoded from the revert data
  (`Error(string)`, `Panic(uint256)` or a custom error of the contract's ABI). A revert found by gas estimation
  means the transaction was never sent.
- Fees are EIP-1559: the node's suggested priority fee and twice the latest base fee on top.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any, Protocol

from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_utils import function_abi_to_4byte_selector
from web3 import AsyncWeb3
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError

from vprime_shared.contracts import Venue

from vprime_venues.execution import VenueRefused, VenueUnavailable, VenueUnknown

MAX_UINT256 = 2**256 - 1
ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)


class Reverted(VenueRefused):
    """The chain refused the transaction (a revert), with the contract's reason."""

    def __init__(self, venue: Venue, reason: str, *, venue_specific: bool = False) -> None:
        super().__init__(f"{venue.value}: {reason}", venue_specific=venue_specific)
        self.reason = reason


@dataclass(frozen=True)
class SentTransaction:
    client_id: str
    signer: str
    nonce: int
    tx_hash: str


class TransactionJournal(Protocol):
    """Where the hashes of sent transactions are kept, by client id, before they are sent (the executor keeps them
    in PostgreSQL so a restarted instance can look them up)."""

    async def record(self, sent: SentTransaction) -> None: ...

    async def sent(self, client_id: str) -> list[SentTransaction]: ...


class MemoryJournal:
    def __init__(self) -> None:
        self.rows: list[SentTransaction] = []

    async def record(self, sent: SentTransaction) -> None:
        self.rows.append(sent)

    async def sent(self, client_id: str) -> list[SentTransaction]:
        return [r for r in self.rows if r.client_id == client_id]


def revert_reason(data: bytes | str | None, errors_abi: list[dict[str, Any]] = ()) -> str:  # type: ignore[assignment]
    """The reason in revert data: `Error(string)`, `Panic(uint256)` or a custom error named in `errors_abi`."""
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x")) if data.startswith("0x") else data.encode()
    if not data:
        return "reverted without a reason"
    selector, body = data[:4], data[4:]
    if selector == ERROR_STRING:
        return abi_decode(["string"], body)[0]
    if selector == PANIC:
        return f"panic 0x{abi_decode(['uint256'], body)[0]:02x}"
    for entry in errors_abi:
        if entry.get("type") == "error" and function_abi_to_4byte_selector(entry) == selector:
            types = [i["type"] for i in entry["inputs"]]
            values = abi_decode(types, body) if types else ()
            args = ", ".join(f"{i['name']}={v}" for i, v in zip(entry["inputs"], values, strict=True))
            return f"{entry['name']}({args})"
    return f"reverted with data 0x{data.hex()}"


def _reason_of(exc: Exception, errors_abi: list[dict[str, Any]]) -> str:
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        return revert_reason(data, errors_abi)
    message = getattr(exc, "message", None) or str(exc)
    return message.removeprefix("execution reverted: ").removeprefix("execution reverted")  or "reverted"


class EvmClient:
    """One chain, as the executor's agent wallets use it."""

    def __init__(self, w3: AsyncWeb3, venue: Venue, *, journal: TransactionJournal | None = None,
                 confirmations: int = 1, receipt_timeout_s: float = 30.0, poll_s: float = 0.05,
                 errors_abi: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        self.w3, self.venue = w3, venue
        self.journal = journal or MemoryJournal()
        self.confirmations, self.receipt_timeout_s, self.poll_s = confirmations, receipt_timeout_s, poll_s
        self.errors_abi = list(errors_abi)
        self._next_nonce: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._allowed: set[tuple[str, str, str]] = set()
        self._chain_id: int | None = None

    def contract(self, abi: list[dict[str, Any]], address: str) -> Any:
        return self.w3.eth.contract(address=self.w3.to_checksum_address(address), abi=abi)

    async def close(self) -> None:
        await self.w3.provider.disconnect()

    async def read(self, fn: Any, **kwargs: Any) -> Any:
        """A view call; a chain that does not answer is `VenueUnavailable`."""
        try:
            return await fn.call(**kwargs)
        except (ContractLogicError, ContractCustomError) as exc:
            raise Reverted(self.venue, _reason_of(exc, self.errors_abi)) from exc
        except (OSError, asyncio.TimeoutError, Web3RPCError) as exc:
            raise VenueUnavailable(f"{self.venue.value}: the chain did not answer ({type(exc).__name__})") from exc

    async def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = await self.rpc(self.w3.eth.chain_id)
        return self._chain_id

    async def rpc(self, awaitable: Any) -> Any:
        """Await a node call; a chain that does not answer is `VenueUnavailable`."""
        try:
            return await awaitable
        except (OSError, asyncio.TimeoutError) as exc:
            raise VenueUnavailable(f"{self.venue.value}: the chain did not answer ({type(exc).__name__})") from exc

    async def send(self, signer: LocalAccount, fn: Any, *, client_id: str, value: int = 0) -> str:
        """Sign and send a contract call from `signer`; its hash. Gas is estimated first (a revert there is
        `Reverted`, nothing sent); the hash is journaled before the bytes leave."""
        built = await self.rpc(fn.build_transaction({"from": signer.address, "value": value, "gas": 0}))
        tx: dict[str, Any] = {"to": built["to"], "data": built["data"], "value": value, "from": signer.address,
                              "chainId": await self.chain_id()}
        try:
            gas = await self.w3.eth.estimate_gas(tx)
        except (ContractLogicError, ContractCustomError) as exc:
            raise Reverted(self.venue, _reason_of(exc, self.errors_abi)) from exc
        except Web3RPCError as exc:  # the node refused to run it (insufficient funds for gas, say): nothing was sent
            raise Reverted(self.venue, _reason_of(exc, self.errors_abi)) from exc
        except (OSError, asyncio.TimeoutError) as exc:
            raise VenueUnavailable(f"{self.venue.value}: the chain did not answer ({type(exc).__name__})") from exc
        tx["gas"] = gas * 6 // 5 + 20_000
        priority, block = await self.rpc(asyncio.gather(self.w3.eth.max_priority_fee, self.w3.eth.get_block("latest")))
        tx["maxPriorityFeePerGas"] = priority
        tx["maxFeePerGas"] = 2 * block["baseFeePerGas"] + priority
        lock = self._locks.setdefault(signer.address, asyncio.Lock())
        async with lock:
            for _ in range(3):
                nonce = await self._nonce(signer.address)
                signed = signer.sign_transaction({**tx, "nonce": nonce})
                tx_hash = "0x" + signed.hash.hex().removeprefix("0x")
                await self.journal.record(SentTransaction(client_id, signer.address, nonce, tx_hash))
                try:
                    await self.w3.eth.send_raw_transaction(signed.raw_transaction)
                except Web3RPCError as exc:
                    message = str(exc).lower()
                    if "nonce too low" in message or "nonce has already been used" in message:
                        self._next_nonce.pop(signer.address, None)  # another sender used it: read the chain again
                        continue
                    if "already known" in message:
                        break
                    raise Reverted(self.venue, _reason_of(exc, self.errors_abi)) from exc
                except (OSError, asyncio.TimeoutError) as exc:
                    self._next_nonce.pop(signer.address, None)
                    raise VenueUnknown(f"{self.venue.value}: no answer to transaction {tx_hash}; looking it up") from exc
                break
            else:
                raise VenueUnavailable(f"{self.venue.value}: no free nonce for {signer.address} after 3 tries")
            self._next_nonce[signer.address] = nonce + 1
        return tx_hash

    async def _nonce(self, address: str) -> int:
        if address not in self._next_nonce:
            self._next_nonce[address] = await self.rpc(self.w3.eth.get_transaction_count(address, "pending"))
        return self._next_nonce[address]

    async def receipt(self, tx_hash: str, *, timeout_s: float | None = None) -> dict[str, Any]:
        """The mined receipt after `confirmations` blocks; `Reverted` with the reason if it reverted;
        `VenueUnknown` if it is not mined within the timeout (it may still be)."""
        try:
            receipt = await self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=timeout_s or self.receipt_timeout_s, poll_latency=self.poll_s)
        except (TimeExhausted, OSError, asyncio.TimeoutError) as exc:
            raise VenueUnknown(f"{self.venue.value}: transaction {tx_hash} not mined yet; looking it up") from exc
        await self._confirmed(receipt)
        if receipt["status"] != 1:
            raise Reverted(self.venue, await self.reason_of(receipt))
        return receipt

    async def _confirmed(self, receipt: dict[str, Any]) -> None:
        target = receipt["blockNumber"] + self.confirmations - 1
        while await self.rpc(self.w3.eth.block_number) < target:
            await asyncio.sleep(self.poll_s)

    async def reason_of(self, receipt: dict[str, Any]) -> str:
        """Why a mined transaction reverted (its receipt carries no reason): the node's call trace of it where the node
        serves one (right even when an earlier transaction of the same block caused the revert), else the call
        replayed on the state before its block."""
        tx_hash = receipt["transactionHash"]
        try:
            trace = await self.w3.provider.make_request(
                "debug_traceTransaction", [tx_hash if isinstance(tx_hash, str) else "0x" + bytes(tx_hash).hex(),
                                           {"tracer": "callTracer"}])
            output = (trace.get("result") or {}).get("output")
            if output and output != "0x":
                return revert_reason(output, self.errors_abi)
        except (Web3RPCError, ValueError, KeyError, TypeError):
            pass  # a node without debug_* (most public endpoints)
        except (OSError, asyncio.TimeoutError) as exc:
            raise VenueUnavailable(f"{self.venue.value}: the chain did not answer ({type(exc).__name__})") from exc
        tx = await self.rpc(self.w3.eth.get_transaction(tx_hash))
        call = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
        try:
            await self.w3.eth.call(call, block_identifier=receipt["blockNumber"] - 1)
        except (ContractLogicError, ContractCustomError, Web3RPCError) as exc:
            return _reason_of(exc, self.errors_abi)
        return "reverted (out of gas or a reason only the mined state had)"

    async def look_up(self, client_id: str) -> dict[str, Any] | None:
        """The mined receipt of the client id's transaction (`Reverted` with its reason if it reverted); None if none
        of its transactions exists (never sent, or dropped and its nonce used by another). `VenueUnknown` while one is
        still pending."""
        sent = await self.journal.sent(client_id)
        pending = False
        for row in sent:
            try:
                receipt = await self.w3.eth.get_transaction_receipt(row.tx_hash)
            except TransactionNotFound:
                receipt = None
            except (OSError, asyncio.TimeoutError) as exc:
                raise VenueUnavailable(f"{self.venue.value}: the chain did not answer ({type(exc).__name__})") from exc
            if receipt is not None:
                await self._confirmed(receipt)
                if receipt["status"] != 1:
                    raise Reverted(self.venue, await self.reason_of(receipt))
                return receipt
            try:
                await self.w3.eth.get_transaction(row.tx_hash)
                pending = True
            except TransactionNotFound:
                mined_count = await self.rpc(self.w3.eth.get_transaction_count(row.signer, "latest"))
                if mined_count <= row.nonce:
                    pending = True  # its nonce is not used yet: it may still arrive from a node's pool
        if pending:
            raise VenueUnknown(f"{self.venue.value}: transaction of {client_id} still pending")
        return None

    async def ensure_allowance(self, signer: LocalAccount, token: str, spender: str, amount: int, *,
                               client_id: str) -> None:
        """Approve `spender` for the maximum once per (token, owner, spender); later orders reuse it."""
        key = (token.lower(), signer.address.lower(), spender.lower())
        if key in self._allowed:
            return
        erc20 = self.contract(ERC20_ABI, token)
        allowance = await self.read(erc20.functions.allowance(signer.address, self.w3.to_checksum_address(spender)))
        if allowance < amount:
            tx_hash = await self.send(signer, erc20.functions.approve(self.w3.to_checksum_address(spender), MAX_UINT256),
                                      client_id=f"{client_id}:approve")
            await self.receipt(tx_hash)
        self._allowed.add(key)

    async def token_balance(self, token: str, owner: str) -> int:
        return await self.read(self.contract(ERC20_ABI, token).functions.balanceOf(self.w3.to_checksum_address(owner)))


ERC20_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "account", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "allowance", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "approve", "stateMutability": "nonpayable",
     "inputs": [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"type": "function", "name": "transfer", "stateMutability": "nonpayable",
     "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"type": "function", "name": "decimals", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint8"}]},
    {"type": "event", "name": "Transfer", "anonymous": False,
     "inputs": [{"name": "from", "type": "address", "indexed": True}, {"name": "to", "type": "address", "indexed": True},
                {"name": "value", "type": "uint256", "indexed": False}]},
]


def amount_units(amount: Decimal | int | str, decimals: int) -> int:
    """A Decimal amount in a token's integer units, rounded down (never more than asked); a float is refused so
    no binary artefact reaches the wire."""
    if isinstance(amount, float):
        raise TypeError("token amounts are Decimal, int or str, never float")
    return int((Decimal(str(amount)) * (Decimal(10) ** decimals)).to_integral_value(rounding=ROUND_DOWN))
