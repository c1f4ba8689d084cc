"""Venue nonces per signing wallet, from the executor's schema.

Hyperliquid refuses a nonce a wallet has used (it keeps the 100 highest and wants a new one above the
smallest of them). Every executor instance signs with the same agent wallets, and an instance may
restart, so a nonce held in one process's memory is not enough: one statement per order takes the
next one here, `max(last + 1, now in ms)`, unique however many instances sign at once.
"""

from __future__ import annotations

import time

import asyncpg


class PostgresNonces:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def next(self, signer_address: str) -> int:
        return await self.pool.fetchval(
            """INSERT INTO venue_nonces (signer, last) VALUES ($1, $2)
               ON CONFLICT (signer) DO UPDATE SET last = GREATEST(venue_nonces.last + 1, EXCLUDED.last) RETURNING last""",
            signer_address.lower(), time.time_ns() // 1_000_000,
        )
