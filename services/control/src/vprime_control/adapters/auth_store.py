"""Postgres persistence for sign-in nonces and bearer tokens (the `control` schema)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg


class AuthStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save_nonce(self, nonce: str, wallet: str, issued_at: datetime, expires_at: datetime) -> None:
        # Expired nonces are cleared as new ones are issued, so the table stays the size of the sign-ins in flight.
        await self.conn.execute("DELETE FROM auth_nonces WHERE expires_at < now()")
        await self.conn.execute(
            "INSERT INTO auth_nonces (nonce, wallet, issued_at, expires_at) VALUES ($1,$2,$3,$4)",
            nonce, wallet, issued_at, expires_at,
        )

    async def use_nonce(self, nonce: str) -> asyncpg.Record | None:
        """Mark the nonce used and return it, once; None if unknown or already used."""
        return await self.conn.fetchrow(
            "UPDATE auth_nonces SET used_at = now() WHERE nonce = $1 AND used_at IS NULL RETURNING *", nonce
        )

    async def save_token(self, digest: bytes, wallet: str, kind: str, label: str, expires_at: datetime | None) -> dict[str, Any]:
        row = await self.conn.fetchrow(
            """INSERT INTO auth_tokens (token_id, digest, wallet, kind, label, expires_at)
               VALUES ($1,$2,$3,$4,$5,$6) RETURNING token_id, wallet, kind, label, created_at, expires_at""",
            uuid.uuid4(), digest, wallet, kind, label, expires_at,
        )
        return dict(row)

    async def holder(self, digest: bytes) -> asyncpg.Record | None:
        """The wallet and kind of a live token."""
        return await self.conn.fetchrow(
            """SELECT wallet, kind FROM auth_tokens WHERE digest = $1 AND revoked_at IS NULL
                 AND (expires_at IS NULL OR expires_at > now())""",
            digest,
        )

    async def tokens(self, wallet: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            """SELECT token_id, kind, label, created_at, expires_at FROM auth_tokens
               WHERE wallet = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
               ORDER BY created_at DESC""",
            wallet,
        )
        return [dict(r) for r in rows]

    async def revoke_all(self, wallet: str) -> int:
        """Revoke every live token of the wallet, sessions included; how many."""
        done = await self.conn.execute(
            "UPDATE auth_tokens SET revoked_at = now() WHERE wallet = $1 AND revoked_at IS NULL", wallet
        )
        return int(done.rsplit(" ", 1)[1])

    async def revoke(self, token_id: uuid.UUID, wallet: str) -> bool:
        done = await self.conn.execute(
            "UPDATE auth_tokens SET revoked_at = now() WHERE token_id = $1 AND wallet = $2 AND revoked_at IS NULL",
            token_id, wallet,
        )
        return done.endswith(" 1")
