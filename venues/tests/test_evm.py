"""The on-chain send path on a real anvil: one nonce sequence per wallet under concurrency, reverts with their
reasons, lost answers looked up by the journaled hash, approvals made once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3

from vprime_chain.anvil import Anvil
from vprime_chain.deploy import ERC20_ABI, Chain, Deployment, Faucet, deploy_tokens
from vprime_shared.contracts import Venue
from vprime_venues.evm import EvmClient, MemoryJournal, Reverted, amount_units, revert_reason
from vprime_venues.execution import VenueUnknown

PORT = 18591


@pytest.fixture(scope="module")
async def chain_with_usdc():
    with Anvil(PORT) as node:
        chain = Chain(node.rpc_url)
        deployment = Deployment(await chain.chain_id(), node.rpc_url)
        await deploy_tokens(chain, deployment, [])
        yield chain, deployment
        await chain.close()


def client(rpc_url: str, journal: MemoryJournal | None = None) -> EvmClient:
    return EvmClient(AsyncWeb3(AsyncHTTPProvider(rpc_url)), Venue.SPOT, journal=journal or MemoryJournal(), poll_s=0.01)


async def funded_wallet(chain: Chain, deployment: Deployment, usdc: str = "1000") -> object:
    wallet = Account.create()
    await Faucet(chain, deployment).fund(wallet.address, usdc=Decimal(usdc), eth=Decimal(1))
    return wallet


async def test_twenty_concurrent_sends_from_one_wallet_all_land(chain_with_usdc) -> None:
    chain, deployment = chain_with_usdc
    wallet = await funded_wallet(chain, deployment)
    evm = client(chain.rpc_url)
    usdc = evm.contract(ERC20_ABI, deployment.tokens["USDC"].address)
    to = Account.create().address
    hashes = await asyncio.gather(*(evm.send(wallet, usdc.functions.transfer(to, 1_000_000), client_id=f"c{i}")
                                    for i in range(20)))
    receipts = await asyncio.gather(*(evm.receipt(h) for h in hashes))
    assert all(r["status"] == 1 for r in receipts)
    assert await evm.token_balance(deployment.tokens["USDC"].address, to) == 20_000_000
    nonces = sorted([r.nonce for r in evm.journal.rows])
    assert nonces == list(range(20))


async def test_a_revert_is_refused_with_the_contracts_reason_and_nothing_is_sent(chain_with_usdc) -> None:
    chain, deployment = chain_with_usdc
    wallet = await funded_wallet(chain, deployment, usdc="1")
    evm = client(chain.rpc_url)
    usdc = evm.contract(ERC20_ABI, deployment.tokens["USDC"].address)
    with pytest.raises(Reverted, match="ERC20: transfer amount exceeds balance"):
        await evm.send(wallet, usdc.functions.transfer(Account.create().address, 2_000_000), client_id="too-much")
    assert evm.journal.rows == []
    assert await chain.w3.eth.get_transaction_count(wallet.address) == 0


async def test_a_lost_send_is_unknown_then_found_mined_by_its_journaled_hash(chain_with_usdc) -> None:
    chain, deployment = chain_with_usdc
    wallet = await funded_wallet(chain, deployment)
    journal = MemoryJournal()
    evm = client(chain.rpc_url, journal)
    usdc = evm.contract(ERC20_ABI, deployment.tokens["USDC"].address)

    real_send = evm.w3.eth.send_raw_transaction

    async def send_then_lose_the_answer(raw: bytes) -> bytes:
        await real_send(raw)
        raise ConnectionResetError("answer lost")

    evm.w3.eth.send_raw_transaction = send_then_lose_the_answer  # the wire, not our code
    with pytest.raises(VenueUnknown):
        await evm.send(wallet, usdc.functions.transfer(Account.create().address, 5), client_id="lost")
    evm.w3.eth.send_raw_transaction = real_send

    restarted = client(chain.rpc_url, journal)  # a new process with the same journal
    receipt = await restarted.look_up("lost")
    assert receipt is not None and receipt["status"] == 1
    assert await restarted.look_up("never-sent") is None


async def test_approval_is_made_once_and_reused(chain_with_usdc) -> None:
    chain, deployment = chain_with_usdc
    wallet = await funded_wallet(chain, deployment)
    evm = client(chain.rpc_url)
    spender = Account.create().address
    token = deployment.tokens["USDC"].address
    await evm.ensure_allowance(wallet, token, spender, 10, client_id="o1")
    await evm.ensure_allowance(wallet, token, spender, 10, client_id="o2")
    fresh = client(chain.rpc_url)  # reads the allowance from the chain and finds it sufficient
    await fresh.ensure_allowance(wallet, token, spender, 10, client_id="o3")
    assert [r.client_id for r in evm.journal.rows] == ["o1:approve"] and fresh.journal.rows == []


def test_revert_reasons_decode_error_panic_and_custom_errors() -> None:
    error = "0x08c379a0" + (32).to_bytes(32, "big").hex() + (5).to_bytes(32, "big").hex() + b"hello".ljust(32, b"\0").hex()
    assert revert_reason(error) == "hello"
    assert revert_reason("0x4e487b71" + (0x11).to_bytes(32, "big").hex()) == "panic 0x11"
    custom = [{"type": "error", "name": "OrderNotFound", "inputs": [{"name": "key", "type": "uint256"}]}]
    from eth_utils import function_abi_to_4byte_selector
    data = "0x" + function_abi_to_4byte_selector(custom[0]).hex() + (7).to_bytes(32, "big").hex()
    assert revert_reason(data, custom) == "OrderNotFound(key=7)"


def test_amounts_are_integer_units_from_decimals_never_floats() -> None:
    assert amount_units(Decimal("1234.567891"), 6) == 1_234_567_891
    assert amount_units("0.1", 18) == 10**17
    assert amount_units(Decimal("0.123456789"), 8) == 12_345_678  # rounded down
    with pytest.raises(TypeError):
        amount_units(0.1, 18)  # type: ignore[arg-type]



async def test_a_revert_caused_by_an_earlier_transaction_of_its_block_has_its_own_reason(chain_with_usdc) -> None:
    chain, deployment = chain_with_usdc
    wallet = await funded_wallet(chain, deployment, usdc="1.5")
    evm = client(chain.rpc_url)
    usdc = evm.contract(ERC20_ABI, deployment.tokens["USDC"].address)
    to = Account.create().address
    await chain.w3.provider.make_request("evm_setAutomine", [False])
    try:  # each transfer passes gas estimation alone; in one block the second finds the balance spent
        first = await evm.send(wallet, usdc.functions.transfer(to, 1_000_000), client_id="first")
        second = await evm.send(wallet, usdc.functions.transfer(to, 1_000_000), client_id="second")
        await chain.w3.provider.make_request("evm_mine", [])
    finally:
        await chain.w3.provider.make_request("evm_setAutomine", [True])
    assert (await evm.receipt(first))["status"] == 1
    with pytest.raises(Reverted, match="ERC20: transfer amount exceeds balance"):
        await evm.receipt(second)


async def test_a_wallet_without_gas_money_is_refused_before_anything_is_sent(chain_with_usdc) -> None:
    chain, deployment = chain_with_usdc
    wallet = Account.create()
    await Faucet(chain, deployment).fund(wallet.address, usdc=Decimal(5))  # USDC, no ether
    evm = client(chain.rpc_url)
    usdc = evm.contract(ERC20_ABI, deployment.tokens["USDC"].address)
    with pytest.raises(Reverted, match="(?i)insufficient funds"):
        await evm.send(wallet, usdc.functions.transfer(Account.create().address, 1), client_id="no-gas")
    assert await chain.w3.eth.get_transaction_count(wallet.address, "pending") == 0
