"""`vprime seal-key`: asks control for a nonce, prints a deploy body's fields the executor can open for
that wallet, venue and nonce only; never prints a key; says what is wrong with its input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from typer.testing import CliRunner

from vprime_cli import __main__ as cli
from vprime_cli.client import Api
from vprime_shared.key_envelope import EnvelopeError, import_key_pair, open_agent_key, public_key_b64

runner = CliRunner()
EXECUTOR = import_key_pair(bytes(range(32)))
WALLET = Account.create().address
NONCE = "0123456789abcdef0123456789abcdef"


class FakeControl:
    """Control's `POST /api/v3/key-imports`, as agreed: the executor's answer plus success."""

    def __init__(self, answer: dict[str, Any] | None = None, status: int = 201) -> None:
        self.requests: list[httpx.Request] = []
        self.answer, self.status = answer, status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        wallet = json.loads(request.content)["wallet"]
        body = self.answer or {"success": True, "format": "vprime-x25519-aes256gcm-v1", "public_key": public_key_b64(EXECUTOR),
                               "nonce": NONCE, "wallet": wallet.lower(), "expires_at": "2026-01-01T00:15:00+00:00"}
        return httpx.Response(self.status, json=body)


@pytest.fixture
def control() -> Iterator[FakeControl]:
    fake = FakeControl()
    cli.state.injected = Api("http://control", "http://query", transport=httpx.MockTransport(fake))
    try:
        yield fake
    finally:
        cli.state.injected = None


def key_file(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def test_seal_key_prints_deploy_fields_the_executor_opens_for_that_wallet_venue_and_nonce(control: FakeControl, tmp_path: Path) -> None:
    hl, ostium = Account.create(), Account.create()
    hl_hex, ostium_hex = hl.key.hex().removeprefix("0x"), "0x" + ostium.key.hex().removeprefix("0x")
    result = runner.invoke(cli.app, ["seal-key", "--wallet", WALLET, "--key", f"HYPERLIQUID={key_file(tmp_path, 'hl.key', hl_hex + chr(10))}",
                                     "--key", f"ostium={key_file(tmp_path, 'ostium.key', ostium_hex)}"])
    assert result.exit_code == 0, result.output
    fields = json.loads(result.stdout)
    [request] = control.requests
    assert (request.method, request.url.path, json.loads(request.content)) == ("POST", "/api/v3/key-imports", {"wallet": WALLET})

    assert fields["user_wallet"] == WALLET and fields["key_import_nonce"] == NONCE
    assert fields["hyperliquid_agent_address"] == hl.address and fields["ostium_agent_address"] == ostium.address  # checksummed
    assert set(fields) == {"user_wallet", "key_import_nonce"} | {f"{v}_agent_{f}" for v in ("hyperliquid", "ostium")
                                                                  for f in ("address", "key_encrypted", "key_iv", "key_tag")}
    for venue, account in (("hyperliquid", hl), ("ostium", ostium)):
        envelope = [fields[f"{venue}_agent_key_{f}"] for f in ("encrypted", "iv", "tag")]
        opened = open_agent_key(EXECUTOR, *envelope, wallet=WALLET, venue=venue, nonce=NONCE)
        assert Account.from_key(opened).address == account.address
        with pytest.raises(EnvelopeError):  # for another deployment's nonce, it does not open
            open_agent_key(EXECUTOR, *envelope, wallet=WALLET, venue=venue, nonce="f" * 32)
    assert hl_hex not in result.output and ostium_hex.removeprefix("0x") not in result.output


@pytest.mark.parametrize("args,message", [
    (["--key", "HYPERLIQUID=/no/such/file"], "no key file at /no/such/file"),
    (["--key", "DYDX={file}"], "unknown venue 'DYDX'; one of HYPERLIQUID, OSTIUM, GMX, SPOT"),
    (["--key", "{file}"], "write it VENUE=path/to/keyfile"),
    (["--key", "GMX={bad}"], "does not hold a hex private key (64 hex digits, 0x optional)"),
    (["--key", "GMX={file}", "--key", "gmx={file}"], "--key GMX is given twice"),
])
def test_seal_key_says_what_is_wrong_and_asks_control_nothing(control: FakeControl, tmp_path: Path, args: list[str], message: str) -> None:
    secret = Account.create().key.hex().removeprefix("0x")
    good, bad = key_file(tmp_path, "good.key", secret), key_file(tmp_path, "bad.key", secret[:-1] + "z")
    result = runner.invoke(cli.app, ["seal-key", "--wallet", WALLET, *[a.format(file=good, bad=bad) for a in args]])
    assert result.exit_code == 2 and message in " ".join(result.stderr.split()), result.output
    assert control.requests == [] and result.stdout == ""
    assert secret not in result.output and secret[:-1] not in result.output


def test_seal_key_refuses_a_bad_wallet_and_reports_control_s_refusal(control: FakeControl, tmp_path: Path) -> None:
    path = key_file(tmp_path, "k", Account.create().key.hex())
    result = runner.invoke(cli.app, ["seal-key", "--wallet", "0xUser", "--key", f"SPOT={path}"])
    assert result.exit_code == 2 and "is not a wallet address" in result.stderr
    control.answer, control.status = {"success": False, "error": "you may ask a key import nonce for your own wallet only"}, 403
    result = runner.invoke(cli.app, ["seal-key", "--wallet", WALLET, "--key", f"SPOT={path}"])
    assert result.exit_code == 1 and "403: you may ask a key import nonce for your own wallet only" in " ".join(result.stderr.split())
    control.answer, control.status = {"success": True, "format": "something-else-v9", "public_key": "", "nonce": NONCE, "wallet": WALLET}, 201
    result = runner.invoke(cli.app, ["seal-key", "--wallet", WALLET, "--key", f"SPOT={path}"])
    assert result.exit_code == 1 and "this vprime seals vprime-x25519-aes256gcm-v1 only" in " ".join(result.stderr.split())
