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


def test_a_deployment_is_changed_by_its_user_only_and_global_routing_by_operators() -> None:
    carol = Account.create()
    agent = agent_of(ALICE.address)
    deployment = deployment_of(agent, BOB.address)
    auth.Principal(BOB.address.lower()).may_change_deployment(deployment)
    for outsider in (ALICE, carol):  # the agent's creator steers no follower's deployment
        with pytest.raises(auth.Forbidden, match="belongs to"):
            auth.Principal(outsider.address.lower()).may_change_deployment(deployment)
    auth.Principal(ALICE.address.lower()).may_read_deployment(agent, deployment)  # the creator sees who follows
    with pytest.raises(auth.Forbidden):
        auth.Principal(carol.address.lower()).may_read_deployment(agent, deployment)
    operator = auth.Principal(None, operator=True)
    operator.may_change_deployment(deployment)
    operator.may_change_global_routing()
    with pytest.raises(auth.Forbidden, match="operators"):
        auth.Principal(ALICE.address.lower()).may_change_global_routing()


def test_a_wallet_deploys_published_agents_for_itself_and_its_own_drafts() -> None:
    alice, bob = auth.Principal(ALICE.address.lower()), auth.Principal(BOB.address.lower())
    published = agent_of(ALICE.address)
    bob.may_deploy(published, BOB.address)
    with pytest.raises(auth.Forbidden, match="deploys for itself"):
        bob.may_deploy(published, ALICE.address)
    with pytest.raises(auth.Forbidden, match="deploys for itself"):
        alice.may_deploy(published, BOB.address)  # a creator cannot put a follower's wallet on its agent
    draft = published.model_copy(update={"status": AgentStatus.DRAFT})
    alice.may_deploy(draft, ALICE.address)
    with pytest.raises(auth.Forbidden, match="DRAFT"):
        bob.may_deploy(draft, BOB.address)
    auth.Principal(None, operator=True).may_deploy(draft, BOB.address)


@pytest.mark.parametrize("address", [ALICE.address, ALICE.address.lower(), "0x" + ALICE.address[2:].upper()])
def test_addresses_in_one_case_or_checksummed_are_accepted(address: str) -> None:
    assert auth.valid_address(address) == address


def test_a_mixed_case_address_must_be_its_checksum() -> None:
    checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55's own example
    assert auth.valid_address(checksummed) == checksummed
    with pytest.raises(ValueError, match="EIP-55"):
        auth.valid_address(checksummed.replace("aAeb", "aaeb"))


@pytest.mark.parametrize("domain", ["app.vprime.example", "localhost:8000", "127.0.0.1:18000", "[::1]:8000", "a-b.c"])
def test_sign_in_domains_are_authorities(domain: str) -> None:
    assert auth.valid_domain(domain) == domain


@pytest.mark.parametrize("domain", ["", "evil\tphish", "https://app.example", "app.example/path", "a b", "x" * 300, "-bad.example"])
def test_other_sign_in_domains_are_refused(domain: str) -> None:
    with pytest.raises(ValueError, match="SIGN_IN_DOMAIN"):
        auth.valid_domain(domain)
