"""What the credential store decides before it writes: which key import nonces it accepts, which
envelopes it opens, and that nothing it holds shows in a repr."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest
from eth_account import Account

from vprime_shared.contracts import Venue
from vprime_shared.key_envelope import FORMAT, import_key_pair, public_key_b64, seal_agent_key

from vprime_executor.adapters.credentials import (
    CredentialError,
    CredentialsDisabled,
    CredentialStore,
    KeyImport,
    SealedKey,
    Signer,
    check_nonce,
    new_kek,
)

WALLET = "0x" + "Ab" * 20
NONCE = "00112233445566778899aabbccddeeff"
DEPLOYMENT = uuid.uuid4()


def nonce_row(**changes: object) -> dict[str, object]:
    return {"wallet": WALLET.lower(), "deployment_id": None, "expired": False, **changes}


def test_a_fresh_nonce_of_the_wallet_is_accepted_and_so_is_one_this_deployment_used() -> None:
    check_nonce(nonce_row(), wallet=WALLET, deployment_id=DEPLOYMENT)
    check_nonce(nonce_row(deployment_id=DEPLOYMENT), wallet=WALLET.upper().replace("0X", "0x"), deployment_id=DEPLOYMENT)


@pytest.mark.parametrize("row,message", [
    (None, "unknown key import nonce"),
    (nonce_row(expired=True), "has expired"),
    (nonce_row(wallet="0x" + "cd" * 20), "issued for another wallet"),
    (nonce_row(deployment_id=uuid.uuid4()), "used for another deployment; ask for a new one"),
])
def test_unusable_nonces_are_refused(row: dict[str, object] | None, message: str) -> None:
    with pytest.raises(CredentialError, match=message):
        check_nonce(row, wallet=WALLET, deployment_id=DEPLOYMENT)


@pytest.fixture
def kek() -> bytes:
    return base64.b64decode(new_kek())


def sealed_for(kek: bytes, private_hex: str, venue: str = "HYPERLIQUID", nonce: str = NONCE, wallet: str = WALLET) -> SealedKey:
    envelope = seal_agent_key(public_key_b64(import_key_pair(kek)), private_hex, wallet=wallet, venue=venue, nonce=nonce)
    return SealedKey(envelope["encrypted"], envelope["iv"], envelope["tag"])


def test_an_envelope_opens_for_its_wallet_venue_and_nonce_only(kek: bytes) -> None:
    store, agent = CredentialStore(kek), Account.create()
    assert store.public_key == public_key_b64(import_key_pair(kek))
    sealed = sealed_for(kek, agent.key.hex())
    address, private_key = store.open_import(sealed, wallet=WALLET, venue=Venue.HYPERLIQUID, nonce=NONCE, address=agent.address.lower())
    assert address == agent.address and Account.from_key(private_key).address == agent.address
    for other in [{"wallet": "0x" + "11" * 20}, {"venue": Venue.OSTIUM}, {"nonce": "ff" * 16}]:
        bound = {"wallet": WALLET, "venue": Venue.HYPERLIQUID, "nonce": NONCE, **other}
        with pytest.raises(CredentialError, match="does not decrypt for this wallet, venue and key import nonce"):
            store.open_import(sealed, address=None, **bound)  # type: ignore[arg-type]
    with pytest.raises(CredentialError, match="does not decrypt"):  # sealed to another executor
        CredentialStore(base64.b64decode(new_kek())).open_import(sealed, wallet=WALLET, venue=Venue.HYPERLIQUID, nonce=NONCE, address=None)


def test_an_envelope_for_another_address_is_refused_naming_addresses_only(kek: bytes) -> None:
    agent, someone = Account.create(), Account.create()
    with pytest.raises(CredentialError, match="not to the given address") as caught:
        CredentialStore(kek).open_import(sealed_for(kek, agent.key.hex()), wallet=WALLET, venue=Venue.HYPERLIQUID, nonce=NONCE,
                                         address=someone.address)
    assert agent.key.hex().removeprefix("0x") not in str(caught.value)


def test_without_a_kek_nothing_is_issued_or_opened() -> None:
    store = CredentialStore(None)
    with pytest.raises(CredentialsDisabled):
        store.public_key  # noqa: B018
    with pytest.raises(CredentialsDisabled):
        store.open_import(SealedKey("a", "b", "c"), wallet=WALLET, venue=Venue.GMX, nonce=NONCE, address=None)


def test_a_key_import_answers_in_the_agreed_shape() -> None:
    expires = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert KeyImport(NONCE, WALLET.lower(), expires, "cHVi").as_dict() == {
        "format": FORMAT, "public_key": "cHVi", "nonce": NONCE, "wallet": WALLET.lower(), "expires_at": "2026-01-02T03:04:05+00:00"}


def test_reprs_hide_key_material(kek: bytes) -> None:
    agent = Account.create()
    sealed = sealed_for(kek, agent.key.hex())
    shown = repr(sealed) + str(sealed) + repr(Signer(agent.address, agent)) + repr(CredentialStore(kek))
    for needle in (sealed.encrypted, sealed.tag, agent.key.hex().removeprefix("0x"), base64.b64encode(kek).decode()):
        assert needle not in shown
