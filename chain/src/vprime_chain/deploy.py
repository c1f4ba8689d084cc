"""Deploy everything a local stack trades against onto a chain: the test USDC, WETH, one ERC-20 per SPOT token
(with the decimals the real token has on Arbitrum), then each venue's contracts (`vprime_chain.<venue>.deploy`).
The result is a `Deployment`: every address by name, written as JSON for the simulator and the local stack."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import AsyncHTTPProvider, AsyncWeb3

from vprime_venues.evm import ERC20_ABI as EVM_ERC20_ABI

from vprime_chain.anvil import DEV_KEYS
from vprime_chain.solidity import Artifact, compile_sources, sources_under
from vprime_chain.toolchain import CONTRACTS

log = logging.getLogger(__name__)
VENUE_MODULES = ("uniswap", "ostium", "gmx")
# Decimals of the SPOT venue's tokens on Arbitrum where they are not 18.
TOKEN_DECIMALS = {"USDC": 6, "USDT": 6, "WBTC": 8}


@dataclass(frozen=True)
class Token:
    address: str
    decimals: int


@dataclass
class Deployment:
    chain_id: int
    rpc_url: str
    contracts: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    fingerprint: str = ""  # of the code that deployed it (`code_fingerprint`)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Deployment:
        data = json.loads(text)
        return cls(data["chain_id"], data["rpc_url"], dict(data["contracts"]),
                   {s: Token(**t) for s, t in data["tokens"].items()}, data.get("fingerprint", ""))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)


class TransactionFailed(RuntimeError):
    pass


class Chain:
    """A chain as the deployer, keepers and faucet use it: local keys, one nonce sequence per sender held here
    (these senders are ours alone), fees from the latest block."""

    def __init__(self, rpc_url: str, *, deployer_key: str = DEV_KEYS[0]) -> None:
        self.rpc_url = rpc_url
        self.w3 = AsyncWeb3(AsyncHTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
        self.deployer: LocalAccount = Account.from_key(deployer_key)
        self._next_nonce: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._chain_id: int | None = None

    async def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = await self.w3.eth.chain_id
        return self._chain_id

    async def close(self) -> None:
        await self.w3.provider.disconnect()

    def contract(self, abi: list[dict[str, Any]] | Artifact, address: str) -> Any:
        return self.w3.eth.contract(address=self.w3.to_checksum_address(address),
                                    abi=abi.abi if isinstance(abi, Artifact) else abi)

    async def send(self, tx: dict[str, Any], sender: LocalAccount | None = None) -> dict[str, Any]:
        """Sign and send `tx` from `sender` (the deployer by default) and wait for its receipt; a revert raises."""
        sender = sender or self.deployer
        lock = self._locks.setdefault(sender.address, asyncio.Lock())
        async with lock:
            try:
                if sender.address not in self._next_nonce:
                    self._next_nonce[sender.address] = await self.w3.eth.get_transaction_count(sender.address, "pending")
                tx = {**tx, "from": sender.address, "nonce": self._next_nonce[sender.address], "chainId": await self.chain_id()}
                if "gas" not in tx:
                    tx["gas"] = int(await self.w3.eth.estimate_gas(tx) * 1.2) + 10_000
                base = (await self.w3.eth.get_block("latest"))["baseFeePerGas"]
                tx.setdefault("maxPriorityFeePerGas", 1)
                tx.setdefault("maxFeePerGas", base * 2 + 1)
                signed = sender.sign_transaction(tx)
                tx_hash = await self.w3.eth.send_raw_transaction(signed.raw_transaction)
            except Exception:
                # Another sender may have used the nonce (a second simulator keeping the same chain, say): the next
                # send reads it from the chain again instead of repeating a stale one forever.
                self._next_nonce.pop(sender.address, None)
                raise
            self._next_nonce[sender.address] += 1
        receipt = await self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.005)
        if receipt["status"] != 1:
            raise TransactionFailed(f"transaction {tx_hash.hex()} reverted")
        return receipt

    async def deploy(self, artifact: Artifact, *args: Any, sender: LocalAccount | None = None) -> str:
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx = await factory.constructor(*args).build_transaction({"from": (sender or self.deployer).address, "gas": 0})
        tx.pop("gas")
        receipt = await self.send({"data": tx["data"]}, sender)
        return receipt["contractAddress"]

    async def transact(self, fn: Any, sender: LocalAccount | None = None, *, value: int = 0) -> dict[str, Any]:
        """Send a contract call (`contract.functions.f(...)`)."""
        sender = sender or self.deployer
        tx = await fn.build_transaction({"from": sender.address, "value": value, "gas": 0})
        tx.pop("gas")
        return await self.send({"to": tx["to"], "data": tx["data"], "value": value}, sender)

    async def set_eth_balance(self, address: str, wei: int) -> None:
        await self.w3.provider.make_request("anvil_setBalance", [address, hex(wei)])


class BlockPacer:
    """anvil mines only when a transaction comes, while Arbitrum makes blocks all the time: an empty block is mined
    when none came for `every_s`, so what venues count in blocks or block time passes on the local chain too."""

    def __init__(self, chain: Chain, every_s: float = 1.0) -> None:
        self.chain, self.every_s = chain, every_s
        self._last: tuple[int, float] = (-1, time.monotonic())

    async def keep_blocks_coming(self) -> None:
        number = await self.chain.w3.eth.block_number
        if number != self._last[0]:
            self._last = (number, time.monotonic())
        elif time.monotonic() - self._last[1] >= self.every_s:
            await self.chain.w3.provider.make_request("evm_mine", [])
            self._last = (number + 1, time.monotonic())


async def keep_running(round_: Callable[[], Awaitable[object]], interval_s: float, name: str) -> None:
    """A keeper's life: one round every `interval_s`, a failed round logged and the next one tried (a keeper
    outlives a bad round: a reverted transaction, a node that did not answer)."""
    while True:
        try:
            await round_()
        except Exception as exc:  # noqa: BLE001 - a keeper outlives one bad round
            log.warning("%s round failed: %r", name, exc)
        await asyncio.sleep(interval_s)


def common_artifacts() -> dict[str, Artifact]:
    return compile_sources(sources_under("common"))


async def deploy_tokens(chain: Chain, deployment: Deployment, symbols: list[str]) -> None:
    """The test USDC, WETH and one test ERC-20 per symbol (WETH is the WETH9 contract)."""
    artifacts = common_artifacts()
    deployment.tokens["USDC"] = Token(await chain.deploy(artifacts["TestERC20"], "USD Coin", "USDC", 6), 6)
    weth = await chain.deploy(artifacts["WETH9"])
    deployment.tokens["WETH"] = Token(weth, 18)
    deployment.contracts["usdc"], deployment.contracts["weth"] = deployment.tokens["USDC"].address, weth
    for symbol in symbols:
        if symbol not in deployment.tokens:
            decimals = TOKEN_DECIMALS.get(symbol, 18)
            deployment.tokens[symbol] = Token(await chain.deploy(artifacts["TestERC20"], symbol, symbol, decimals), decimals)


async def deploy_all(chain: Chain, prices: dict[str, Decimal], spot_symbols: list[str]) -> Deployment:
    """Tokens first, then each venue module that defines `deploy(chain, deployment, prices)`."""
    deployment = Deployment(await chain.chain_id(), chain.rpc_url, fingerprint=code_fingerprint())
    await deploy_tokens(chain, deployment, spot_symbols)
    for name in VENUE_MODULES:
        try:
            module = importlib.import_module(f"vprime_chain.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"vprime_chain.{name}":
                raise
            continue
        if hasattr(module, "deploy"):
            await module.deploy(chain, deployment, prices)
    return deployment


def code_fingerprint() -> str:
    """A hash of what decides a deployment: our contracts, the deploying code and the pinned npm artifacts. A saved
    deployment made by other code (a contract edited, a venue added) is deployed again."""
    digest = hashlib.sha256()
    files = [*sorted(CONTRACTS.rglob("*.sol")), *sorted(Path(__file__).parent.glob("*.py")),
             CONTRACTS.parent / "package-lock.json"]
    for path in files:
        if path.exists():
            digest.update(str(path.relative_to(CONTRACTS.parent)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


async def is_deployed(chain: Chain, deployment: Deployment) -> bool:
    """Whether `deployment` lives on this chain (a restarted anvil without its state has none of it) and was made by
    this code."""
    if deployment.chain_id != await chain.chain_id() or not deployment.contracts:
        return False
    if deployment.fingerprint != code_fingerprint():
        return False
    codes = await asyncio.gather(*(chain.w3.eth.get_code(chain.w3.to_checksum_address(a))
                                   for a in deployment.contracts.values()))
    return all(len(c) > 0 for c in codes)


class Faucet:
    """Local accounts get ether for gas and test USDC (minted: the test USDC's `mint` is public)."""

    def __init__(self, chain: Chain, deployment: Deployment) -> None:
        self.chain, self.deployment = chain, deployment

    async def fund(self, address: str, *, usdc: Decimal = Decimal(0), eth: Decimal = Decimal(0)) -> None:
        address = self.chain.w3.to_checksum_address(address)
        if eth:
            balance = await self.chain.w3.eth.get_balance(address)
            await self.chain.set_eth_balance(address, balance + int(eth * 10**18))
        if usdc:
            token = self.deployment.tokens["USDC"]
            usdc_contract = self.chain.contract(ERC20_ABI, token.address)
            await self.chain.transact(usdc_contract.functions.mint(address, int(usdc * 10**token.decimals)))


ERC20_ABI: list[dict[str, Any]] = [*EVM_ERC20_ABI, {
    "type": "function", "name": "mint", "stateMutability": "nonpayable",
    "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}], "outputs": []}]
