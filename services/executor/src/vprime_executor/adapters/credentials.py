"""Venue agent keys, per deployment and venue, encrypted at rest with AES-256-GCM.

The key-encryption key (KEK) comes from `CREDENTIALS_KEY` (base64, 32 bytes) or `CREDENTIALS_KEY_FILE`.
A key arrives sealed to the executor's import key (`vprime_shared.key_envelope`, derived from the KEK)
and bound to a wallet, a venue and a key import nonce this store issued, or is generated here, in which
case only its address ever leaves. A nonce serves one deployment only (any of its venues), and an agent
address belongs to one deployment only (`agent_addresses`). Each stored key is sealed again under the
KEK with a fresh nonce and its (deployment, venue) as associated data, so a row cannot be swapped for
another. Nothing here logs, returns or publishes key material.
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_account import Account

from vprime_shared.addresses import ADDRESS
from vprime_shared.contracts import Venue
from vprime_shared.key_envelope import FORMAT, EnvelopeError, import_key_pair, open_agent_key, public_key_b64
from vprime_venues.execution import Signer

DISABLED = "no credentials key configured (CREDENTIALS_KEY or CREDENTIALS_KEY_FILE): venue keys cannot be stored"


class CredentialError(ValueError):
    """A key that cannot be accepted (wrong envelope, wrong address, unusable nonce). The message never holds key material."""


class CredentialConflict(ValueError):
    """A key that would clash with one already held: by another deployment, or by this one for the venue."""


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


@dataclass(frozen=True)
class KeyImport:
    """A key import nonce issued for a wallet, with the public key to seal to."""

    nonce: str
    wallet: str
    expires_at: datetime
    public_key: str

    def as_dict(self) -> dict[str, str]:
        return {"format": FORMAT, "public_key": self.public_key, "nonce": self.nonce, "wallet": self.wallet,
                "expires_at": self.expires_at.isoformat()}


@dataclass(frozen=True)
class SealedKey:
    """An agent key as a client sent it: a `vprime-x25519-aes256gcm-v1` envelope."""

    encrypted: str
    iv: str
    tag: str

    def __repr__(self) -> str:  # never show the envelope
        return "SealedKey(<sealed>)"


def check_nonce(row: Mapping[str, Any] | None, *, wallet: str, deployment_id: uuid.UUID) -> None:
    """A nonce seals keys only for the wallet it was issued to, until it expires, and for one deployment:
    the first that used it."""
    if row is None:
        raise CredentialError("unknown key import nonce; ask for a new one")
    if row["expired"]:
        raise CredentialError("this key import nonce has expired; ask for a new one")
    if row["wallet"] != wallet.lower():
        raise CredentialError("this key import nonce was issued for another wallet")
    if row["deployment_id"] is not None and row["deployment_id"] != deployment_id:
        raise CredentialError("this key import nonce was used for another deployment; ask for a new one")


class CredentialStore:
    def __init__(self, kek: bytes | None, *, key_import_ttl_s: float = 900.0) -> None:
        self._kek_aead = AESGCM(kek) if kek else None
        self._import_key = import_key_pair(kek) if kek else None
        self.key_import_ttl_s = key_import_ttl_s

    def __repr__(self) -> str:
        return f"CredentialStore(enabled={self._kek_aead is not None})"

    @property
    def _aead(self) -> AESGCM:
        if self._kek_aead is None:
            raise CredentialsDisabled(DISABLED)
        return self._kek_aead

    @property
    def _opener(self) -> X25519PrivateKey:
        if self._import_key is None:
            raise CredentialsDisabled(DISABLED)
        return self._import_key

    @property
    def public_key(self) -> str:
        """The import public key clients seal agent keys to (base64, raw 32 bytes)."""
        return public_key_b64(self._opener)

    @staticmethod
    def _aad(deployment_id: uuid.UUID, venue: Venue) -> bytes:
        return f"{deployment_id}/{venue.value}".encode()

    def _seal(self, deployment_id: uuid.UUID, venue: Venue, private_key: str) -> tuple[bytes, bytes]:
        nonce = os.urandom(12)
        return nonce, self._aead.encrypt(nonce, private_key.encode(), self._aad(deployment_id, venue))

    def open_import(self, sealed: SealedKey, *, wallet: str, venue: Venue, nonce: str, address: str | None) -> tuple[str, str]:
        """(address, private key) of an envelope sealed for this wallet, venue and nonce; the address, if
        given, must be the key's."""
        try:
            private_key = open_agent_key(self._opener, sealed.encrypted, sealed.iv, sealed.tag, wallet=wallet, venue=venue,
                                         nonce=nonce)
        except EnvelopeError as exc:
            raise CredentialError(str(exc)) from None
        derived = Account.from_key(private_key).address
        if address and address.lower() != derived.lower():
            raise CredentialError(f"the agent key belongs to {derived}, not to the given address {address}")
        return derived, private_key

    async def issue_key_import(self, conn: asyncpg.Connection, wallet: str) -> KeyImport:
        """A fresh nonce for `wallet`, valid `key_import_ttl_s`; expired ones are pruned on the way."""
        public_key = self.public_key
        if not ADDRESS.match(wallet):
            raise CredentialError("the wallet must be 0x followed by 40 hex digits")
        nonce = secrets.token_hex(16)
        async with conn.transaction():
            await conn.execute("DELETE FROM key_import_nonces WHERE expires_at < now()")
            expires_at = await conn.fetchval(
                """INSERT INTO key_import_nonces (nonce, wallet, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
                   RETURNING expires_at""", nonce, wallet.lower(), float(self.key_import_ttl_s))
        return KeyImport(nonce, wallet.lower(), expires_at, public_key)

    async def import_key(self, conn: asyncpg.Connection, deployment_id: uuid.UUID, venue: Venue, sealed: SealedKey, *,
                         wallet: str, nonce: str, address: str | None = None, replace: bool = False,
                         account: str | None = None) -> str:
        """Store the key an envelope holds for the deployment and venue, in one transaction: the nonce is
        locked and checked, the envelope opened for (wallet, venue, nonce), the address claimed for this
        deployment, and the nonce bound to it. Returns the key's address."""
        async with conn.transaction():
            row = await conn.fetchrow(
                """SELECT wallet, deployment_id, expires_at <= now() AS expired FROM key_import_nonces WHERE nonce = $1
                   FOR UPDATE""", nonce)
            check_nonce(row, wallet=wallet, deployment_id=deployment_id)
            derived, private_key = self.open_import(sealed, wallet=wallet, venue=venue, nonce=nonce, address=address)
            await self._claim(conn, deployment_id, derived)
            await self._store(conn, deployment_id, venue, derived, private_key, "imported", replace=replace, account=account)
            await conn.execute("UPDATE key_import_nonces SET deployment_id = $2 WHERE nonce = $1", nonce, deployment_id)
        return derived

    async def generate(self, conn: asyncpg.Connection, deployment_id: uuid.UUID, venue: Venue, *, replace: bool = False,
                       account: str | None = None) -> str:
        """A new agent wallet for the deployment on `venue`, trading for `account` (the venue account that approves
        it; None: its own address). Only its address leaves."""
        agent = Account.create()
        async with conn.transaction():
            await self._claim(conn, deployment_id, agent.address)
            await self._store(conn, deployment_id, venue, agent.address, agent.key.hex(), "generated", replace=replace,
                              account=account)
        return agent.address

    @staticmethod
    async def abandon(conn: asyncpg.Connection, deployment_id: uuid.UUID) -> int:
        """Forget the keys of a deployment control failed to create: its address claims are released and its key
        import nonces unbound, so the user can deploy again with the same keys. Refused (`CredentialConflict`) once
        the deployment has an order: then it exists. Returns how many keys were forgotten."""
        async with conn.transaction():
            if await conn.fetchval("SELECT EXISTS (SELECT FROM orders WHERE deployment_id = $1)", deployment_id):
                raise CredentialConflict(f"deployment {deployment_id} has orders; its keys are not abandoned")
            forgotten = await conn.execute("DELETE FROM credentials WHERE deployment_id = $1", deployment_id)
            await conn.execute("DELETE FROM agent_addresses WHERE deployment_id = $1", deployment_id)
            await conn.execute("UPDATE key_import_nonces SET deployment_id = NULL WHERE deployment_id = $1", deployment_id)
        return int(forgotten.rsplit(" ", 1)[1])

    @staticmethod
    async def _claim(conn: asyncpg.Connection, deployment_id: uuid.UUID, address: str) -> None:
        """An agent address is held by one deployment at most (the primary key of `agent_addresses` says so,
        also between concurrent imports: the second waits for the first and then sees its row)."""
        await conn.execute("INSERT INTO agent_addresses (address, deployment_id) VALUES ($1, $2) ON CONFLICT (address) DO NOTHING",
                           address.lower(), deployment_id)
        holder = await conn.fetchval("SELECT deployment_id FROM agent_addresses WHERE address = $1", address.lower())
        if holder != deployment_id:
            raise CredentialConflict(f"agent key {address} is already held by another deployment")

    async def _store(self, conn: asyncpg.Connection, deployment_id: uuid.UUID, venue: Venue, address: str, private_key: str,
                     source: str, *, replace: bool, account: str | None = None) -> None:
        previous = await conn.fetchval("SELECT address FROM credentials WHERE deployment_id = $1 AND venue = $2 FOR UPDATE",
                                       deployment_id, venue.value)
        if previous is not None and not replace:
            raise CredentialConflict(f"deployment {deployment_id} already has a {venue.value} agent key; pass replace to change it")
        nonce, sealed = self._seal(deployment_id, venue, private_key)
        status = await conn.execute(
            """INSERT INTO credentials (deployment_id, venue, address, nonce, sealed_key, source, account_address)
               VALUES ($1,$2,$3,$4,$5,$6,$8)
               ON CONFLICT (deployment_id, venue) DO UPDATE SET address = EXCLUDED.address, nonce = EXCLUDED.nonce,
                 sealed_key = EXCLUDED.sealed_key, source = EXCLUDED.source, updated_at = now(),
                 account_address = coalesce(EXCLUDED.account_address, credentials.account_address)
               WHERE $7::boolean""",
            deployment_id, venue.value, address, nonce, sealed, source, replace, account.lower() if account else None,
        )
        if status.endswith(" 0"):  # another import for this venue committed between the check and the insert
            raise CredentialConflict(f"deployment {deployment_id} already has a {venue.value} agent key; pass replace to change it")
        if previous is not None and previous.lower() != address.lower():
            # The replaced address is free again, unless another of this deployment's venues still uses it.
            await conn.execute(
                """DELETE FROM agent_addresses a WHERE a.address = lower($2) AND a.deployment_id = $1
                   AND NOT EXISTS (SELECT FROM credentials c WHERE c.deployment_id = $1 AND lower(c.address) = lower($2))""",
                deployment_id, previous)

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
            """SELECT c.deployment_id, c.venue, c.address, c.nonce, c.sealed_key, c.account_address
               FROM credentials c JOIN unnest($1::uuid[], $2::text[]) AS w(deployment_id, venue)
                 ON c.deployment_id = w.deployment_id AND c.venue = w.venue""",
            [d for d, _ in pairs], [v.value for _, v in pairs],
        )
        found = {}
        for row in rows:
            deployment_id, venue = row["deployment_id"], Venue(row["venue"])
            private_key = self._aead.decrypt(row["nonce"], row["sealed_key"], self._aad(deployment_id, venue)).decode()
            found[(deployment_id, venue)] = Signer(row["address"], Account.from_key(private_key), row["account_address"] or "")
        return found
