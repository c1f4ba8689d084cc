"""Venue agent keys, per deployment and venue, encrypted at rest with AES-256-GCM.

The key-encryption key comes from `CREDENTIALS_KEY` (base64, 32 bytes) or `CREDENTIALS_KEY_FILE`. A key
arrives either encrypted under that same key (the seed's deploy body: ciphertext, iv, tag), or is
generated here, in which case only its address ever leaves. Each stored key is sealed again with a
fresh nonce and its (deployment, venue) as associated data, so a row cannot be swapped for another.
Nothing here logs, returns or publishes key material.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_account import Account

from vprime_shared.contracts import Venue


class CredentialError(ValueError):
    """A key that cannot be accepted (wrong encryption, wrong address). The message never holds key material."""


class CredentialsDisabled(RuntimeError):
    """No key-encryption key is configured: venue keys cannot be taken, everything trades on paper."""


def load_kek(key_b64: str, key_file: str) -> bytes | None:
    raw = key_b64 or (Path(key_file).read_text().strip() if key_file else "")
    if not raw:
        return None
    key = base64.b64decode(raw)
    if len(key) != 32:
        raise RuntimeError("the credentials key must be 32 bytes (AES-256), base64-encoded")
    return key


def new_kek() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def encrypt_for_executor(kek_b64: str, private_key_hex: str) -> dict[str, str]:
    """What a client sends in the deploy body: the agent key under the executor's key (no associated data)."""
    iv = os.urandom(12)
    sealed = AESGCM(base64.b64decode(kek_b64)).encrypt(iv, private_key_hex.encode(), None)
    return {"encrypted": base64.b64encode(sealed[:-16]).decode(), "iv": base64.b64encode(iv).decode(),
            "tag": base64.b64encode(sealed[-16:]).decode()}


@dataclass(frozen=True)
class Signer:
    """An agent wallet, unsealed for the moment of signing."""

    address: str
    account: object  # eth_account LocalAccount

    def __repr__(self) -> str:  # never show the key
        return f"Signer({self.address})"


class CredentialStore:
    def __init__(self, kek: bytes | None) -> None:
        self._kek_aead = AESGCM(kek) if kek else None

    @property
    def _aead(self) -> AESGCM:
        if self._kek_aead is None:
            raise CredentialsDisabled("no credentials key configured (CREDENTIALS_KEY or CREDENTIALS_KEY_FILE): venue keys cannot be stored")
        return self._kek_aead

    @staticmethod
    def _aad(deployment_id: uuid.UUID, venue: Venue) -> bytes:
        return f"{deployment_id}/{venue.value}".encode()

    def _seal(self, deployment_id: uuid.UUID, venue: Venue, private_key: str) -> tuple[bytes, bytes]:
        nonce = os.urandom(12)
        return nonce, self._aead.encrypt(nonce, private_key.encode(), self._aad(deployment_id, venue))

    def open_client_ciphertext(self, encrypted: str, iv: str, tag: str) -> str:
        try:
            return self._aead.decrypt(base64.b64decode(iv), base64.b64decode(encrypted) + base64.b64decode(tag), None).decode()
        except (InvalidTag, ValueError) as exc:
            raise CredentialError("the agent key does not decrypt under the executor's credentials key") from exc

    async def import_key(self, conn: asyncpg.Connection, deployment_id: uuid.UUID, venue: Venue, *, address: str | None,
                         encrypted: str, iv: str, tag: str) -> str:
        private_key = self.open_client_ciphertext(encrypted, iv, tag)
        try:
            derived = Account.from_key(private_key).address
        except (ValueError, TypeError) as exc:
            raise CredentialError("the decrypted agent key is not a valid secp256k1 private key") from exc
        if address and address.lower() != derived.lower():
            raise CredentialError(f"the agent key belongs to {derived}, not to the given address {address}")
        await self._store(conn, deployment_id, venue, derived, private_key, "imported")
        return derived

    async def generate(self, conn: asyncpg.Connection, deployment_id: uuid.UUID, venue: Venue) -> str:
        account = Account.create()
        await self._store(conn, deployment_id, venue, account.address, account.key.hex(), "generated")
        return account.address

    async def _store(self, conn: asyncpg.Connection, deployment_id: uuid.UUID, venue: Venue, address: str, private_key: str,
                     source: str) -> None:
        nonce, sealed = self._seal(deployment_id, venue, private_key)
        await conn.execute(
            """INSERT INTO credentials (deployment_id, venue, address, nonce, sealed_key, source) VALUES ($1,$2,$3,$4,$5,$6)
               ON CONFLICT (deployment_id, venue) DO UPDATE SET address = EXCLUDED.address, nonce = EXCLUDED.nonce,
                 sealed_key = EXCLUDED.sealed_key, source = EXCLUDED.source, updated_at = now()""",
            deployment_id, venue.value, address, nonce, sealed, source,
        )

    async def address(self, conn: asyncpg.Connection | asyncpg.Pool, deployment_id: uuid.UUID, venue: Venue) -> str | None:
        if self._kek_aead is None:
            return None
        return await conn.fetchval("SELECT address FROM credentials WHERE deployment_id = $1 AND venue = $2", deployment_id, venue.value)

    async def signer(self, conn: asyncpg.Connection | asyncpg.Pool, deployment_id: uuid.UUID, venue: Venue) -> Signer | None:
        return (await self.signers(conn, [(deployment_id, venue)])).get((deployment_id, venue))

    async def signers(self, conn: asyncpg.Connection | asyncpg.Pool,
                      wanted: Iterable[tuple[uuid.UUID, Venue]]) -> dict[tuple[uuid.UUID, Venue], Signer]:
        """The signers of several (deployment, venue) pairs, in one query; a pair without a key is absent."""
        pairs = set(wanted)
        rows = await conn.fetch(
            """SELECT c.deployment_id, c.venue, c.address, c.nonce, c.sealed_key
               FROM credentials c JOIN unnest($1::uuid[], $2::text[]) AS w(deployment_id, venue)
                 ON c.deployment_id = w.deployment_id AND c.venue = w.venue""",
            [d for d, _ in pairs], [v.value for _, v in pairs],
        )
        found = {}
        for row in rows:
            deployment_id, venue = row["deployment_id"], Venue(row["venue"])
            private_key = self._aead.decrypt(row["nonce"], row["sealed_key"], self._aad(deployment_id, venue)).decode()
            found[(deployment_id, venue)] = Signer(row["address"], Account.from_key(private_key))
        return found
