"""The on-chain venues' transaction journal in the executor's schema (`vprime_venues.evm.TransactionJournal`):
shared by every instance, kept across restarts."""

from __future__ import annotations

import asyncpg

from vprime_venues.evm import SentTransaction


class PostgresJournal:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record(self, sent: SentTransaction) -> None:
        await self.pool.execute(
            "INSERT INTO venue_transactions (tx_hash, client_id, signer, nonce) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (tx_hash) DO NOTHING", sent.tx_hash, sent.client_id, sent.signer, sent.nonce)

    async def sent(self, client_id: str) -> list[SentTransaction]:
        rows = await self.pool.fetch(
            "SELECT client_id, signer, nonce, tx_hash FROM venue_transactions WHERE client_id = $1 ORDER BY sent_at",
            client_id)
        return [SentTransaction(r["client_id"], r["signer"], r["nonce"], r["tx_hash"]) for r in rows]
