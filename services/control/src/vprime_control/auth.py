"""Who may write to the control plane, in the domain's words.

A caller is a `Principal`: a wallet that proved control of its key by signing a Sign-In with
Ethereum message (EIP-4361 text, EIP-191 `personal_sign`), or an operator holding a configured
token. An agent is changed only by its creator; a deployment belongs to the wallet it trades for
(copy-trading: any wallet deploys a published agent for itself), and only that wallet changes it;
the global routing configuration is changed by operators only. Operators may do anything.

The server writes the whole sign-in message from its configuration (the domain, URI and chain id,
never the request's `Host`) and the nonce row, so verification is an exact comparison plus signer
recovery (eth-account): nothing the client sends is parsed for trust.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address

from vprime_shared.addresses import ADDRESS
from vprime_shared.contracts import AgentState, AgentStatus, DeploymentState

# An RFC 3986 authority without user info: a DNS name, an IPv4 address or a bracketed IPv6 one, and an optional port.
DOMAIN = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
                    r"|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")
NONCE_LINE = re.compile(r"^Nonce: ([0-9A-Za-z]{8,64})$", re.MULTILINE)
STATEMENT = "Sign in to Vprime control: create, deploy and change your agents."

# Token prefixes make leaked tokens easy to find with a secret scanner and say what they are.
SESSION_PREFIX, API_TOKEN_PREFIX = "vps_", "vpt_"


class Unauthenticated(PermissionError):
    """No credentials, or credentials that do not check out (401)."""


class Forbidden(PermissionError):
    """A known caller asking for something that is not theirs (403)."""


@dataclass(frozen=True)
class Principal:
    wallet: str | None  # lower-case 0x address; None for an operator token
    operator: bool = False
    session: bool = False  # signed in with the wallet (a `vps_` token), not a script's API token

    @property
    def name(self) -> str:
        return "operator" if self.operator else str(self.wallet)

    def owns(self, wallet: str) -> bool:
        return self.operator or (self.wallet is not None and self.wallet == wallet.lower())

    def require_owner(self, wallet: str, what: str) -> None:
        if not self.owns(wallet):
            raise Forbidden(f"{what} belongs to {wallet}; signed in as {self.name}")

    def may_create(self, creator_wallet: str) -> None:
        if not self.owns(creator_wallet):
            raise Forbidden(f"creator_wallet {creator_wallet} is not the signed-in wallet {self.name}")

    def may_change_agent(self, agent: AgentState) -> None:
        self.require_owner(agent.creator_wallet, f"agent {agent.agent_id}")

    def may_deploy(self, agent: AgentState, user_wallet: str) -> None:
        """A wallet deploys for itself: a published (ACTIVE) agent, or its own agent in any state but paused.
        Its first deployment by its creator publishes a draft."""
        if not self.owns(user_wallet):
            raise Forbidden(f"user_wallet {user_wallet} is not the signed-in wallet {self.name}; a wallet deploys for itself")
        if self.owns(agent.creator_wallet):
            return
        if agent.status is not AgentStatus.ACTIVE:
            raise Forbidden(f"agent {agent.agent_id} is {agent.status.value}: only its creator deploys it until it is published")

    def may_change_deployment(self, deployment: DeploymentState) -> None:
        """Only the wallet the deployment trades for: an agent's creator does not steer its followers' deployments."""
        self.require_owner(deployment.user_wallet, f"deployment {deployment.deployment_id}")

    def may_read_deployment(self, agent: AgentState, deployment: DeploymentState) -> None:
        """Its user, and the agent's creator (who sees who follows the agent, never changes it)."""
        if not (self.owns(deployment.user_wallet) or self.owns(agent.creator_wallet)):
            raise Forbidden(f"deployment {deployment.deployment_id} belongs to {deployment.user_wallet}; signed in as {self.name}")

    def may_change_global_routing(self) -> None:
        if not self.operator:
            raise Forbidden("the global routing configuration is changed by operators only; set an agent's with ?agent_id=")


def valid_address(value: str, what: str = "wallet") -> str:
    """`value` if it is a 0x-prefixed 20-byte hex address whose mixed case, if any, is its EIP-55 checksum."""
    if not isinstance(value, str) or not ADDRESS.match(value):
        shown = value if len(str(value)) <= 60 else f"{str(value)[:60]}…"
        raise ValueError(f"{what} {shown!r} is not a 0x-prefixed 20-byte hex address")
    body = value[2:]
    if body != body.lower() and body != body.upper() and to_checksum_address(value) != value:
        raise ValueError(f"{what} {value} has mixed case that is not its EIP-55 checksum ({to_checksum_address(value)}); "
                         "check it was copied whole")
    return value


def checked_address(wallet: str) -> str:
    return valid_address(wallet).lower()


def valid_domain(domain: str) -> str:
    """The EIP-4361 `domain`: an RFC 3986 authority (host and optional port), no scheme, path or whitespace."""
    if not domain or len(domain) > 253 or not DOMAIN.match(domain):
        raise ValueError(f"SIGN_IN_DOMAIN {domain[:80]!r} is not a host[:port] authority such as app.vprime.example")
    return domain


def new_nonce() -> str:
    return secrets.token_hex(12)


def sign_in_message(*, domain: str, uri: str, address: str, nonce: str, issued_at: datetime, ttl: timedelta,
                    chain_id: int = 1) -> str:
    """The EIP-4361 message a wallet signs. `address` is shown checksummed, as wallets expect."""
    return (
        f"{domain} wants you to sign in with your Ethereum account:\n"
        f"{to_checksum_address(address)}\n\n"
        f"{STATEMENT}\n\n"
        f"URI: {uri}\n"
        f"Version: 1\n"
        f"Chain ID: {chain_id}\n"
        f"Nonce: {nonce}\n"
        f"Issued At: {_iso(issued_at)}\n"
        f"Expiration Time: {_iso(issued_at + ttl)}"
    )


def nonce_of(message: str) -> str:
    found = NONCE_LINE.search(message)
    if not found:
        raise Unauthenticated("the message has no `Nonce:` line; sign the message returned by /api/v3/auth/nonce")
    return found.group(1)


def signer_of(message: str, signature: str) -> str:
    """The lower-case address whose key made this EIP-191 personal signature."""
    try:
        return Account.recover_message(encode_defunct(text=message), signature=signature).lower()
    except Exception as exc:  # malformed hex, wrong length, bad recovery id: all one answer for the caller
        raise Unauthenticated(f"the signature does not verify: {type(exc).__name__}") from exc


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    """Tokens are stored as SHA-256 digests: they are 256-bit random, so no salt or stretching is needed."""
    return hashlib.sha256(token.encode()).digest()


def is_operator_token(token: str, operator_tokens: list[str]) -> bool:
    # Compare against every configured token so the time taken does not say which one was close.
    matched = False
    for candidate in operator_tokens:
        matched |= hmac.compare_digest(token.encode(), candidate.encode())
    return matched


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
