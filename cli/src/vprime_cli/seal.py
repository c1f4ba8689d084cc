"""`vprime seal-key`: venue agent keys sealed for a deploy body (`vprime-x25519-aes256gcm-v1`, docs/key-import.md).

Control issues a key import nonce for the wallet with the executor's import public key; each key is
sealed for (wallet, venue, nonce), so only the executor opens it, and only for a deployment of that
wallet. Keys are read from files and never printed: the output holds addresses and envelopes only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eth_account import Account

from vprime_shared.addresses import ADDRESS
from vprime_shared.contracts import Venue
from vprime_shared.key_envelope import FORMAT, EnvelopeError, private_key_bytes, seal_agent_key



class SealError(ValueError):
    """Why keys cannot be sealed. The message names files and venues, never key material."""


def check_wallet(wallet: str) -> str:
    if not ADDRESS.match(wallet):
        raise SealError(f"--wallet {wallet!r} is not a wallet address (0x followed by 40 hex digits)")
    return wallet


def read_keys(specs: list[str]) -> dict[Venue, str]:
    """`VENUE=path` pairs to {venue: hex private key}, each file checked to hold one secp256k1 key."""
    if not specs:
        raise SealError("give at least one --key VENUE=path/to/keyfile")
    keys: dict[Venue, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise SealError(f"--key {spec!r}: write it VENUE=path/to/keyfile")
        venue = name.strip().upper()
        if venue not in Venue.__members__:
            raise SealError(f"--key {spec!r}: unknown venue {name.strip()!r}; one of {', '.join(v.value for v in Venue)}")
        if Venue(venue) in keys:
            raise SealError(f"--key {venue} is given twice")
        file = Path(path.strip()).expanduser()
        if not file.is_file():
            raise SealError(f"--key {venue}: no key file at {file}")
        try:
            text = file.read_text().strip()
            private_key_bytes(text)
        except (UnicodeDecodeError, EnvelopeError):
            raise SealError(f"--key {venue}: {file} does not hold a hex private key (64 hex digits, 0x optional)") from None
        keys[Venue(venue)] = text
    return keys


def deploy_fields(issued: dict[str, Any], wallet: str, keys: dict[Venue, str]) -> dict[str, str]:
    """The deploy body's fields for these keys, sealed with the nonce control issued for `wallet`."""
    if issued.get("format") != FORMAT:
        raise SealError(f"control offers key import format {issued.get('format')!r}; this vprime seals {FORMAT} only")
    if str(issued.get("wallet", "")).lower() != wallet.lower():
        raise SealError("control issued the key import nonce for another wallet")
    nonce = issued["nonce"]
    fields = {"user_wallet": wallet, "key_import_nonce": nonce}
    for venue, private_key in keys.items():
        prefix = venue.value.lower()
        envelope = seal_agent_key(issued["public_key"], private_key, wallet=wallet, venue=venue, nonce=nonce)
        fields[f"{prefix}_agent_address"] = Account.from_key(private_key).address
        fields[f"{prefix}_agent_key_encrypted"] = envelope["encrypted"]
        fields[f"{prefix}_agent_key_iv"] = envelope["iv"]
        fields[f"{prefix}_agent_key_tag"] = envelope["tag"]
    return fields
