"""The client side of a control-API wallet sign-in (EIP-4361 message, EIP-191 signature), for the CLI,
the demo and tests: ask for a nonce, sign the message as given, trade it for a bearer token."""

from __future__ import annotations

from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct


def signature(message: str, private_key: str | bytes) -> str:
    signed = Account.sign_message(encode_defunct(text=message), private_key)
    return "0x" + signed.signature.hex().removeprefix("0x")


def _raise_for(r: httpx.Response, step: str) -> dict[str, Any]:
    if r.status_code >= 400:
        raise PermissionError(f"sign-in {step} answered {r.status_code}: {r.text}")
    return r.json()


def _nonce_body(private_key: str | bytes) -> dict[str, str]:
    return {"wallet": Account.from_key(private_key).address}


def _verify_body(issued: httpx.Response, private_key: str | bytes) -> dict[str, str]:
    message = _raise_for(issued, "nonce")["message"]
    return {"message": message, "signature": signature(message, private_key)}


def sign_in(http: httpx.Client, control_url: str, private_key: str | bytes) -> str:
    """A session token for the wallet whose key this is."""
    issued = http.post(f"{control_url}/api/v3/auth/nonce", json=_nonce_body(private_key))
    verified = http.post(f"{control_url}/api/v3/auth/verify", json=_verify_body(issued, private_key))
    return _raise_for(verified, "verify")["token"]


async def sign_in_async(http: httpx.AsyncClient, control_url: str, private_key: str | bytes) -> str:
    issued = await http.post(f"{control_url}/api/v3/auth/nonce", json=_nonce_body(private_key))
    verified = await http.post(f"{control_url}/api/v3/auth/verify", json=_verify_body(issued, private_key))
    return _raise_for(verified, "verify")["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
