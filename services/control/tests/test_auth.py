"""The sign-in message, signature recovery and who may change what."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from vprime_shared.contracts import AgentState, AgentStatus, DeploymentState, DeploymentStatus, RequestedVenue, Venue

from vprime_control import auth

ALICE, BOB = Account.create(), Account.create()


def message_for(address: str, nonce: str = "abcdef0123456789") -> str:
    return auth.sign_in_message(domain="vprime.example", uri="https://vprime.example", address=address.lower(),
                                nonce=nonce, issued_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), ttl=timedelta(minutes=10))


def sign(account, message: str) -> str:  # noqa: ANN001 - an eth_account LocalAccount
    return "0x" + Account.sign_message(encode_defunct(text=message), account.key).signature.hex().removeprefix("0x")


def test_message_follows_eip_4361_with_a_checksummed_address() -> None:
    text = message_for(ALICE.address)
    lines = text.split("\n")
    assert lines[0] == "vprime.example wants you to sign in with your Ethereum account:"
    assert lines[1] == ALICE.address  # checksummed, as wallets show it
    assert "Nonce: abcdef0123456789" in lines
    assert "Issued At: 2026-01-02T03:04:05Z" in lines and "Expiration Time: 2026-01-02T03:14:05Z" in lines
    assert auth.nonce_of(text) == "abcdef0123456789"


def test_signer_is_recovered_and_a_stranger_is_told_apart() -> None:
    text = message_for(ALICE.address)
    assert auth.signer_of(text, sign(ALICE, text)) == ALICE.address.lower()
    assert auth.signer_of(text, sign(BOB, text)) == BOB.address.lower()
    assert auth.signer_of(text + " ", sign(ALICE, text)) != ALICE.address.lower()  # any edit changes the signer


@pytest.mark.parametrize("signature", ["", "0x", "0xnothex", "0x" + "00" * 65, "0x" + "11" * 10])
def test_malformed_signatures_are_unauthenticated_not_errors(signature: str) -> None:
    with pytest.raises(auth.Unauthenticated):
        auth.signer_of(message_for(ALICE.address), signature)


def test_a_message_without_a_nonce_is_refused() -> None:
    with pytest.raises(auth.Unauthenticated, match="Nonce"):
        auth.nonce_of("hello")


@pytest.mark.parametrize("wallet", ["0xE2E", "alice", "0x" + "g" * 40, "0x" + "a" * 41])
def test_wallets_must_be_addresses(wallet: str) -> None:
    with pytest.raises(ValueError, match="address"):
        auth.checked_address(wallet)


def test_tokens_are_prefixed_random_and_stored_as_digests() -> None:
    a, b = auth.new_token(auth.SESSION_PREFIX), auth.new_token(auth.SESSION_PREFIX)
    assert a.startswith("vps_") and a != b and len(a) > 40
    assert auth.token_digest(a) == auth.token_digest(a) != auth.token_digest(b)
    assert auth.is_operator_token("op-1", ["op-0", "op-1"]) and not auth.is_operator_token("op-2", ["op-0", "op-1"])
    assert not auth.is_operator_token("", [])


def agent_of(creator: str) -> AgentState:
    return AgentState(agent_id=uuid.uuid4(), creator_wallet=creator, name="a", venue=RequestedVenue.MULTI,
                      status=AgentStatus.ACTIVE, profit_receiver_address=creator, created_at=datetime.now(UTC))


def deployment_of(agent: AgentState, user: str) -> DeploymentState:
    return DeploymentState(deployment_id=uuid.uuid4(), agent_id=agent.agent_id, user_wallet=user, status=DeploymentStatus.ACTIVE,
                           enabled_venues=[Venue.HYPERLIQUID], created_at=datetime.now(UTC))


def test_only_the_creator_changes_an_agent_and_wallet_case_does_not_matter() -> None:
    alice, bob = auth.Principal(ALICE.address.lower()), auth.Principal(BOB.address.lower())
    agent = agent_of(ALICE.address)  # stored as the creator typed it (checksummed)
    alice.may_change_agent(agent)
    alice.may_create(ALICE.address.upper().replace("0X", "0x"))
    with pytest.raises(auth.Forbidden, match="belongs to"):
        bob.may_change_agent(agent)
    with pytest.raises(auth.Forbidden, match="not the signed-in wallet"):
        bob.may_create(ALICE.address)


def test_a_deployment_is_changed_by_its_agent_creator_or_its_user_and_global_routing_by_operators() -> None:
    carol = Account.create()
    agent = agent_of(ALICE.address)
    deployment = deployment_of(agent, BOB.address)
    auth.Principal(ALICE.address.lower()).may_change_deployment(agent, deployment)
    auth.Principal(BOB.address.lower()).may_change_deployment(agent, deployment)
    with pytest.raises(auth.Forbidden):
        auth.Principal(carol.address.lower()).may_change_deployment(agent, deployment)
    operator = auth.Principal(None, operator=True)
    operator.may_change_deployment(agent, deployment)
    operator.may_change_global_routing()
    with pytest.raises(auth.Forbidden, match="operators"):
        auth.Principal(ALICE.address.lower()).may_change_global_routing()
