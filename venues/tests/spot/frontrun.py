"""A sandwich's first half on anvil, for tests: a victim's swap is caught pending, a whale's swap is mined before it,
and the victim is mined next, in a block of its own (so a replay at the block before it sees the whale's move)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount


class Anvil:
    def __init__(self, rpc_url: str) -> None:
        self.rpc_url = rpc_url

    async def rpc(self, method: str, *params: Any) -> Any:
        async with httpx.AsyncClient(timeout=10) as http:
            body = (await http.post(self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})).json()
        if "error" in body:
            raise RuntimeError(f"{method}: {body['error']}")
        return body["result"]

    async def pending_from(self, sender: str, timeout_s: float = 30.0) -> str:
        """The hash of the first transaction of `sender` waiting in the pool."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            pending = (await self.rpc("txpool_content"))["pending"]
            for address, by_nonce in pending.items():
                if address.lower() == sender.lower() and by_nonce:
                    return by_nonce[min(by_nonce, key=int)]["hash"]
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no pending transaction from {sender} within {timeout_s:g}s")

    async def front_run(self, victim: str, whale: LocalAccount, tx: dict[str, Any]) -> str | None:
        """With automine off: take the victim's pending transaction out, mine the whale's `tx`, then the victim's;
        automine back on. The victim's hash; None when a block came first and mined it (on a chain where keepers
        mine blocks of their own, a race that can be lost: try again)."""
        victim_hash = await self.pending_from(victim)
        raw = await self.rpc("eth_getRawTransactionByHash", victim_hash)
        await self.rpc("anvil_dropTransaction", victim_hash)
        if await self.rpc("eth_getTransactionReceipt", victim_hash) is not None:
            await self.rpc("evm_setAutomine", True)
            return None
        nonce = int(await self.rpc("eth_getTransactionCount", whale.address, "pending"), 16)
        signed = whale.sign_transaction({**tx, "nonce": nonce, "chainId": int(await self.rpc("eth_chainId"), 16)})
        await self.rpc("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex().removeprefix("0x"))
        await self.rpc("evm_mine")
        await self.rpc("eth_sendRawTransaction", raw)
        await self.rpc("evm_mine")
        await self.rpc("evm_setAutomine", True)
        return victim_hash
