"""The key import envelope: opens only with the executor key it was sealed to, and only for the wallet,
venue and nonce it was sealed for; no failure says anything about the key."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_account import Account

from vprime_shared.key_envelope import (
    FORMAT,
    EnvelopeError,
    aad,
    import_key_pair,
    open_agent_key,
    public_key_b64,
    seal_agent_key,
)

KEK = bytes(range(32))
WALLET = "0x" + "Ab" * 20
NONCE = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def executor() -> X25519PrivateKey:
    return import_key_pair(KEK)


@pytest.fixture
def key_hex() -> str:
    return "0x" + Account.create().key.hex().removeprefix("0x")


def sealed(executor: X25519PrivateKey, key_hex: str, **bound: str) -> dict[str, str]:
    return seal_agent_key(public_key_b64(executor), key_hex, **{"wallet": WALLET, "venue": "HYPERLIQUID", "nonce": NONCE, **bound})


def opened(executor: X25519PrivateKey, envelope: dict[str, str], **bound: str) -> str:
    return open_agent_key(executor, envelope["encrypted"], envelope["iv"], envelope["tag"],
                          **{"wallet": WALLET, "venue": "HYPERLIQUID", "nonce": NONCE, **bound})


def test_a_sealed_key_opens_for_its_wallet_venue_and_nonce(executor: X25519PrivateKey, key_hex: str) -> None:
    envelope = sealed(executor, key_hex)
    assert set(envelope) == {"encrypted", "iv", "tag"}
    assert len(base64.b64decode(envelope["encrypted"])) == 64 and len(base64.b64decode(envelope["iv"])) == 12
    assert len(base64.b64decode(envelope["tag"])) == 16
    assert opened(executor, envelope) == key_hex.lower()
    # The wallet is bound lower-cased and the venue upper-cased, whichever way either was written.
    assert opened(executor, envelope, wallet=WALLET.lower(), venue="hyperliquid") == key_hex.lower()
    assert opened(executor, sealed(executor, key_hex.removeprefix("0x"))) == key_hex.lower()  # 0x optional


def test_the_import_key_is_derived_from_the_kek_and_is_not_it() -> None:
    one, again, other = import_key_pair(KEK), import_key_pair(KEK), import_key_pair(bytes(32))
    assert public_key_b64(one) == public_key_b64(again) != public_key_b64(other)
    assert len(base64.b64decode(public_key_b64(one))) == 32
    assert one.private_bytes_raw() != KEK and KEK not in base64.b64decode(public_key_b64(one))
    with pytest.raises(EnvelopeError):
        import_key_pair(b"short")


@pytest.mark.parametrize("bound", [{"wallet": "0x" + "cd" * 20}, {"venue": "OSTIUM"}, {"venue": "SPOT"},
                                   {"nonce": "fedcba9876543210fedcba9876543210"}])
def test_another_wallet_venue_or_nonce_does_not_open_it(executor: X25519PrivateKey, key_hex: str, bound: dict[str, str]) -> None:
    with pytest.raises(EnvelopeError, match="does not decrypt for this wallet, venue and key import nonce"):
        opened(executor, sealed(executor, key_hex), **bound)


def flip(b64: str, at: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("field,at", [("encrypted", 0), ("encrypted", 40), ("iv", 3), ("tag", 15)])
def test_tampering_is_refused(executor: X25519PrivateKey, key_hex: str, field: str, at: int) -> None:
    envelope = sealed(executor, key_hex)
    with pytest.raises(EnvelopeError, match="does not decrypt"):
        opened(executor, {**envelope, field: flip(envelope[field], at)})


def test_an_envelope_for_another_executor_key_is_refused(executor: X25519PrivateKey, key_hex: str) -> None:
    other = import_key_pair(os.urandom(32))
    with pytest.raises(EnvelopeError, match="does not decrypt"):
        opened(executor, sealed(other, key_hex))


def test_malformed_envelopes_and_bad_inputs_are_refused(executor: X25519PrivateKey, key_hex: str) -> None:
    envelope = sealed(executor, key_hex)
    for broken, message in [({"encrypted": "not base64!"}, "not base64"), ({"iv": base64.b64encode(b"x" * 11).decode()}, "malformed"),
                            ({"encrypted": envelope["encrypted"][:-8] + "===="}, "not base64|malformed")]:
        with pytest.raises(EnvelopeError, match=message):
            opened(executor, {**envelope, **broken})
    for bound, message in [({"wallet": "0x1"}, "wallet"), ({"venue": "PAPER"}, "unknown venue"), ({"nonce": ""}, "nonce")]:
        with pytest.raises(EnvelopeError, match=message):
            sealed(executor, key_hex, **bound)
    for bad_key in ["", "0x12", "zz" * 32, "00" * 32, "ff" * 32]:  # empty, short, not hex, zero, beyond the curve order
        with pytest.raises(EnvelopeError, match="agent key"):
            sealed(executor, bad_key)


def test_no_error_message_holds_key_material(executor: X25519PrivateKey, key_hex: str) -> None:
    envelope = sealed(executor, key_hex)
    needles = {key_hex.removeprefix("0x").lower(), envelope["encrypted"], envelope["tag"], public_key_b64(executor),
               base64.b64encode(KEK).decode(), executor.private_bytes_raw().hex()}
    failures: list[EnvelopeError] = []
    for attempt in [lambda: opened(executor, envelope, nonce="other"), lambda: opened(import_key_pair(os.urandom(32)), envelope),
                    lambda: opened(executor, {**envelope, "tag": flip(envelope["tag"], 0)}),
                    lambda: sealed(executor, key_hex[:-1] + "g"), lambda: sealed(executor, key_hex[:-2])]:
        with pytest.raises(EnvelopeError) as caught:
            attempt()
        failures.append(caught.value)
    for error in failures:
        text = f"{error} {error!r} {error.__cause__!r} {error.__context__!r}"
        assert not any(n in text or n.upper() in text for n in needles), text
        # Nothing of the failing step hangs on it either (a traceback shows neither cause nor context).
        assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_the_format_as_documented_can_be_built_independently(executor: X25519PrivateKey, key_hex: str) -> None:
    """An envelope built from the written description alone (as a browser would) opens."""
    executor_pub = base64.b64decode(public_key_b64(executor))
    e = X25519PrivateKey.generate()
    e_pub = e.public_key().public_bytes_raw()
    aes_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=e_pub + executor_pub, info=b"vprime key import v1").derive(
        e.exchange(X25519PublicKey.from_public_bytes(executor_pub)))
    iv = os.urandom(12)
    bound = f"vprime-key-import-v1\n{WALLET.lower()}\nGMX\n{NONCE}".encode()
    assert bound == aad(wallet=WALLET, venue="gmx", nonce=NONCE)
    out = AESGCM(aes_key).encrypt(iv, bytes.fromhex(key_hex.removeprefix("0x")), bound)
    envelope = {"encrypted": base64.b64encode(e_pub + out[:-16]).decode(), "iv": base64.b64encode(iv).decode(),
                "tag": base64.b64encode(out[-16:]).decode()}
    assert opened(executor, envelope, venue="GMX") == key_hex.lower()
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"vprime executor import key v1").derive(KEK)
    assert executor.private_bytes_raw() == derived
    assert FORMAT == "vprime-x25519-aes256gcm-v1"
