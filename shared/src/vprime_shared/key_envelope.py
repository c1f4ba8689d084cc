"""Venue agent keys sealed for the executor: the `vprime-x25519-aes256gcm-v1` envelope.

A client seals an agent key to the executor's import public key, bound to one wallet, one venue and one
key import nonce the executor issued. Only the executor can open it, and only for that same wallet,
venue and nonce, so an envelope seen in transit cannot be replayed into another deployment, and a
client never needs the executor's at-rest key.

The format, exactly (base64 is standard, padded; `||` is concatenation):

    executor key     X25519 private key = HKDF-SHA256(ikm = at-rest KEK (32 bytes), salt = none,
                       info = b"vprime executor import key v1", length 32); its public key is served as
                       base64 of the raw 32 bytes
    e                a fresh ephemeral X25519 key pair, one per envelope
    shared           X25519(e.private, executor public)
    aes_key          HKDF-SHA256(ikm = shared, salt = e_pub_raw(32) || executor_pub_raw(32),
                       info = b"vprime key import v1", length 32)
    iv               12 random bytes
    aad              UTF-8 of "vprime-key-import-v1\\n" + wallet.lower() + "\\n" + VENUE + "\\n" + nonce
                       (VENUE upper case: HYPERLIQUID, OSTIUM, GMX or SPOT; wallet "0x" + 40 hex digits)
    sealed           AES-256-GCM(aes_key).encrypt(iv, private key as 32 raw bytes, aad)  (ciphertext || 16-byte tag)
    encrypted        base64(e_pub_raw(32) || sealed[:-16])   (64 bytes before base64)
    iv               base64(iv)
    tag              base64(sealed[-16:])

Nothing here logs key material, and no error message holds any.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vprime_shared.addresses import ADDRESS
from vprime_shared.contracts import Venue

FORMAT = "vprime-x25519-aes256gcm-v1"
# The associated data of an envelope: what it is bound to. Filled by `aad`.
AAD = "vprime-key-import-v1\n{wallet}\n{venue}\n{nonce}"
EXECUTOR_KEY_INFO = b"vprime executor import key v1"
SEAL_KEY_INFO = b"vprime key import v1"

KEY_BYTES = 32
IV_BYTES = 12
TAG_BYTES = 16
# secp256k1's group order: a private key is an integer in [1, N).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
PRIVATE_KEY_HEX = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


class EnvelopeError(ValueError):
    """An envelope that cannot be sealed or opened. The message never holds key material."""


def _hkdf(ikm: bytes, *, salt: bytes | None, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def import_key_pair(kek: bytes) -> X25519PrivateKey:
    """The executor's import key, derived from its at-rest KEK: the same on every instance, and the KEK
    cannot be recovered from it (HKDF is one-way)."""
    if len(kek) != 32:
        raise EnvelopeError("the at-rest key must be 32 bytes")
    return X25519PrivateKey.from_private_bytes(_hkdf(kek, salt=None, info=EXECUTOR_KEY_INFO))


def public_key_b64(private: X25519PrivateKey) -> str:
    """The import public key as served: base64 of its raw 32 bytes."""
    return base64.b64encode(private.public_key().public_bytes_raw()).decode()


def aad(*, wallet: str, venue: str | Venue, nonce: str) -> bytes:
    """What an envelope is bound to: the wallet (lower case), the venue (upper case) and the key import nonce."""
    if not isinstance(wallet, str) or not ADDRESS.match(wallet):
        raise EnvelopeError("the wallet must be 0x followed by 40 hex digits")
    name = (venue.value if isinstance(venue, Venue) else str(venue)).upper()
    if name not in Venue.__members__:
        raise EnvelopeError(f"unknown venue {name!r}; one of {', '.join(v.value for v in Venue)}")
    if not isinstance(nonce, str) or not nonce or "\n" in nonce:
        raise EnvelopeError("the key import nonce must be a non-empty line of text")
    return AAD.format(wallet=wallet.lower(), venue=name, nonce=nonce).encode()


def private_key_bytes(private_key_hex: str) -> bytes:
    """A secp256k1 private key as 32 raw bytes, from 64 hex digits (0x optional)."""
    text = private_key_hex.strip() if isinstance(private_key_hex, str) else ""
    if not PRIVATE_KEY_HEX.match(text):
        raise EnvelopeError("the agent key must be 64 hex digits (0x optional)")
    raw = bytes.fromhex(text.removeprefix("0x"))
    if not 0 < int.from_bytes(raw, "big") < SECP256K1_N:
        raise EnvelopeError("the agent key is not a valid secp256k1 private key")
    return raw


def _b64(field: str, value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise EnvelopeError(f"the envelope's {field} is not base64") from None


def _aes_key(shared: bytes, ephemeral_pub: bytes, executor_pub: bytes) -> bytes:
    return _hkdf(shared, salt=ephemeral_pub + executor_pub, info=SEAL_KEY_INFO)


def seal_agent_key(public_key_b64: str, private_key_hex: str, *, wallet: str, venue: str | Venue, nonce: str) -> dict[str, str]:
    """Seal an agent key to the executor's import public key for (wallet, venue, nonce):
    `{"encrypted", "iv", "tag"}`, the deploy body's `<venue>_agent_key_encrypted/_iv/_tag`."""
    bound = aad(wallet=wallet, venue=venue, nonce=nonce)
    executor_pub = _b64("public key", public_key_b64)
    if len(executor_pub) != 32:
        raise EnvelopeError("the executor's import public key must be 32 bytes")
    key = private_key_bytes(private_key_hex)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_pub = ephemeral.public_key().public_bytes_raw()
    try:
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(executor_pub))
    except ValueError:  # a low-order point: no shared secret
        raise EnvelopeError("the executor's import public key is not usable") from None
    iv = os.urandom(IV_BYTES)
    sealed = AESGCM(_aes_key(shared, ephemeral_pub, executor_pub)).encrypt(iv, key, bound)
    return {"encrypted": base64.b64encode(ephemeral_pub + sealed[:-TAG_BYTES]).decode(),
            "iv": base64.b64encode(iv).decode(), "tag": base64.b64encode(sealed[-TAG_BYTES:]).decode()}


def open_agent_key(private: X25519PrivateKey, encrypted: str, iv: str, tag: str, *, wallet: str, venue: str | Venue,
                   nonce: str) -> str:
    """The agent key ("0x" + 64 hex digits) an envelope holds, if it was sealed to this executor key for
    exactly this wallet, venue and nonce; else `EnvelopeError`."""
    bound = aad(wallet=wallet, venue=venue, nonce=nonce)
    blob, iv_raw, tag_raw = _b64("encrypted", encrypted), _b64("iv", iv), _b64("tag", tag)
    if len(blob) != 32 + KEY_BYTES or len(iv_raw) != IV_BYTES or len(tag_raw) != TAG_BYTES:
        raise EnvelopeError(f"the envelope is malformed: {FORMAT} carries 64 encrypted bytes, a 12-byte iv and a 16-byte tag")
    ephemeral_pub, ciphertext = blob[:32], blob[32:]
    executor_pub = private.public_key().public_bytes_raw()
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_pub))
        key = AESGCM(_aes_key(shared, ephemeral_pub, executor_pub)).decrypt(iv_raw, ciphertext + tag_raw, bound)
    except (InvalidTag, ValueError):
        raise EnvelopeError("the agent key does not decrypt for this wallet, venue and key import nonce") from None
    if not 0 < int.from_bytes(key, "big") < SECP256K1_N:
        raise EnvelopeError("the decrypted agent key is not a valid secp256k1 private key")
    return "0x" + key.hex()
