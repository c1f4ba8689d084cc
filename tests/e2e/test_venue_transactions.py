"""The executor's journal of on-chain sends, on its real schema and the stack's chain: a send whose answer was lost
is found mined by an executor that restarted (a new client reading the same journal), and nothing is sent twice."""

from __future__ import annotations


import asyncpg
import httpx
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3

from vprime_chain.deploy import ERC20_ABI
from vprime_executor.adapters.transactions import PostgresJournal
from vprime_local.stack import ServiceStack, simulator_admin_headers
from vprime_shared.contracts import Venue
from vprime_venues.evm import EvmClient, SentTransaction
from vprime_venues.execution import VenueUnknown

from tests.conftest import eventually
from tests.infra import Endpoints


async def test_a_lost_send_is_found_mined_after_a_restart_from_the_executors_journal(stack: ServiceStack,
                                                                                     infra: Endpoints) -> None:
    async with httpx.AsyncClient(base_url=stack.url("simulator"), headers=simulator_admin_headers(stack.home)) as sim:
        chain = (await sim.get("/admin/chain")).json()
        wallet = Account.create()
        r = await sim.post("/admin/chain/faucet", json={"address": wallet.address, "usdc": "10", "eth": "1"})
        assert r.status_code == 200, r.text

    pool = await asyncpg.create_pool(infra.database_url("executor"), min_size=1, max_size=2)
    try:
        journal = PostgresJournal(pool)
        evm = EvmClient(AsyncWeb3(AsyncHTTPProvider(stack.url("chain"))), Venue.SPOT, journal=journal, poll_s=0.01)
        usdc = evm.contract(ERC20_ABI, chain["contracts"]["usdc"])
        real_send = evm.w3.eth.send_raw_transaction

        async def send_then_lose_the_answer(raw: bytes) -> bytes:
            await real_send(raw)
            raise ConnectionResetError("answer lost")

        evm.w3.eth.send_raw_transaction = send_then_lose_the_answer
        client_id = f"journal-{wallet.address}"
        try:
            await evm.send(wallet, usdc.functions.transfer(Account.create().address, 1_000_000), client_id=client_id)
            raise AssertionError("a lost answer must be unknown")
        except VenueUnknown:
            pass
        await evm.close()

        (row,) = await journal.sent(client_id)
        assert row.signer == wallet.address and row.nonce == 0
        await journal.record(SentTransaction(client_id, wallet.address, 0, row.tx_hash))  # a repeat is a no-op
        assert len(await journal.sent(client_id)) == 1

        restarted = EvmClient(AsyncWeb3(AsyncHTTPProvider(stack.url("chain"))), Venue.SPOT, journal=PostgresJournal(pool))
        async def mined() -> dict | None:  # anvil mines a moment after it took the bytes: "pending" until then
            try:
                return await restarted.look_up(client_id)
            except VenueUnknown:
                return None

        receipt = await eventually(mined, timeout=10, interval=0.05, what="the lost send to be found mined")
        assert receipt is not None and receipt["status"] == 1
        assert "0x" + receipt["transactionHash"].hex().removeprefix("0x") == row.tx_hash
        assert await restarted.token_balance(chain["contracts"]["usdc"], wallet.address) == 9_000_000
        assert await restarted.look_up("journal-never-sent") is None
        await restarted.close()
    finally:
        await pool.close()


