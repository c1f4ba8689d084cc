"""Who may write to the control plane, in the domain's words.

A caller is a `Principal`: a wallet that proved control of its key by signing a Sign-In with
Ethereum message (EIP-4361 text, EIP-191 `personal_sign`), or an operator holding a configured
token. Agents are changed and deployed only by their creator wallet; a deployment also by the
wallet it trades for; the global routing configuration only by an operator.

The server writes the whole sign-in message and keeps it with its nonce, so verification is an
exact comparison plus signer recovery (eth-account): nothing the client sends is parsed for trust.
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

from vprime_shared.contracts import AgentState, DeploymentState

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
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

    def may_change_deployment(self, agent: AgentState, deployment: DeploymentState) -> None:
        """The agent's creator or the wallet the deployment trades for."""
        if not (self.owns(agent.creator_wallet) or self.owns(deployment.user_wallet)):
            raise Forbidden(
                f"deployment {deployment.deployment_id} belongs to {deployment.user_wallet} "
                f"(agent creator {agent.creator_wallet}); signed in as {self.name}"
            )

    def may_change_global_routing(self) -> None:
        if not self.operator:
            raise Forbidden("the global routing configuration is changed by operators only; set an agent's with ?agent_id=")


def checked_address(wallet: str) -> str:
    if not ADDRESS.match(wallet):
        raise ValueError(f"wallet {wallet!r} is not a 0x-prefixed 20-byte hex address")
    return wallet.lower()


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
