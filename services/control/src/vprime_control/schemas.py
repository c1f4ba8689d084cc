"""HTTP request bodies of the control API (the seed's bodies, plus what they left out)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from vprime_shared.contracts import DeploymentPolicy, RequestedVenue, RiskModel, Side, SizeModel, Venue

from vprime_control.adapters.executor_client import SealedKey
from vprime_control.auth import valid_address

# Every string and list a body takes is bounded, so what a request can make control store and publish stays well
# under the most an event may be (a field that is not bounded is an outbox row Kafka refuses).
Address = Annotated[str, AfterValidator(valid_address)]
SourceId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
SourceText = Annotated[str, StringConstraints(max_length=2_000)]
SealedPart = Annotated[str, StringConstraints(min_length=1, max_length=512)]


def _no_nul(value: Any, where: str = "") -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(f"{where or 'a text field'} contains a NUL character, which no text field accepts")
    if isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k, where)
            _no_nul(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for v in value:
            _no_nul(v, where)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _text_is_text(cls, data: Any) -> Any:
        _no_nul(data)
        return data


class CreateAgent(Body):
    creator_wallet: Address = Field(examples=["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"])
    name: str = Field(min_length=1, max_length=200)
    x_account_ids: list[SourceId] = Field(default_factory=list, max_length=200)
    research_institute_ids: list[SourceId] = Field(default_factory=list, max_length=200)
    weights: dict[Annotated[str, StringConstraints(max_length=32)], float] = Field(
        default_factory=lambda: {"x": 0.5, "research": 0.5}, max_length=8)
    profit_receiver_address: Address
    venue: RequestedVenue = Field(default="MULTI", description="MULTI routes per trade; a venue name fixes the agent to it")
    signal_threshold: float = Field(default=0.6, ge=0, le=1, description="confidence Agent What needs before it signals")


class DeployAgent(Body):
    agent_id: uuid.UUID
    user_wallet: Address = Field(description="the wallet the deployment trades for: the signed-in wallet (operators: any)")
    enabled_venues: list[Venue] | None = Field(
        default=None, description="ordered venue priority; defaults to the venues given credentials, else the global priority"
    )
    policy: DeploymentPolicy = Field(default_factory=DeploymentPolicy, description="risk policy; empty approves every signal")
    hyperliquid_agent_address: Address | None = None
    hyperliquid_agent_key_encrypted: SealedPart | None = None
    hyperliquid_agent_key_iv: SealedPart | None = None
    hyperliquid_agent_key_tag: SealedPart | None = None
    ostium_agent_address: Address | None = None
    ostium_agent_key_encrypted: SealedPart | None = None
    ostium_agent_key_iv: SealedPart | None = None
    ostium_agent_key_tag: SealedPart | None = None
    gmx_agent_address: Address | None = None
    gmx_agent_key_encrypted: SealedPart | None = None
    gmx_agent_key_iv: SealedPart | None = None
    gmx_agent_key_tag: SealedPart | None = None
    spot_agent_address: Address | None = None
    spot_agent_key_encrypted: SealedPart | None = None
    spot_agent_key_iv: SealedPart | None = None
    spot_agent_key_tag: SealedPart | None = None
    hyperliquid_account_address: Address | None = Field(
        default=None, description="the Hyperliquid account (or vault or sub-account) the agent key trades for; user_wallet "
                                  "when left out. Given with a hyperliquid agent key")
    key_import_nonce: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16,64}$")] | None = Field(
        default=None, description="the nonce from POST /api/v3/key-imports the agent keys were sealed with (docs/key-import.md)")

    @field_validator("enabled_venues")
    @classmethod
    def _no_duplicates(cls, venues: list[Venue] | None) -> list[Venue] | None:
        if venues is not None:
            if not venues:
                raise ValueError("enabled_venues must name at least one venue (or be left out)")
            if len(set(venues)) != len(venues):
                raise ValueError("enabled_venues lists a venue twice")
        return venues

    @model_validator(mode="after")
    def _complete_keys(self) -> DeployAgent:
        for venue in Venue:
            prefix = venue.value.lower()
            parts = [getattr(self, f"{prefix}_agent_key_{p}") for p in ("encrypted", "iv", "tag")]
            if any(parts) and not all(parts):
                raise ValueError(f"{prefix}_agent_key_encrypted, _iv and _tag go together: give all three or none")
        if self.hyperliquid_account_address and Venue.HYPERLIQUID not in self.venue_keys():
            raise ValueError("hyperliquid_account_address goes with a hyperliquid agent key (a generated agent wallet trades "
                             "for user_wallet)")
        if self.venue_keys() and not self.key_import_nonce:
            raise ValueError("agent keys are sealed with a key import nonce: ask POST /api/v3/key-imports for one, seal the keys "
                             "with it and send it as key_import_nonce (docs/key-import.md)")
        return self

    def venue_keys(self) -> dict[Venue, SealedKey]:
        """Per venue: the agent key sealed to the executor's import key."""
        keys = {}
        for venue in Venue:
            prefix = venue.value.lower()
            encrypted = getattr(self, f"{prefix}_agent_key_encrypted")
            if encrypted:
                keys[venue] = SealedKey(getattr(self, f"{prefix}_agent_address"), encrypted, getattr(self, f"{prefix}_agent_key_iv"),
                                        getattr(self, f"{prefix}_agent_key_tag"))
        return keys

    def trading_account(self, venue: Venue) -> str:
        """The venue account a key for `venue` trades for: the deployment's wallet unless the deploy body names one."""
        if venue is Venue.HYPERLIQUID and self.hyperliquid_account_address:
            return self.hyperliquid_account_address.lower()
        return self.user_wallet.lower()

    def __repr__(self) -> str:  # the key fields stay out of any log line
        return f"DeployAgent(agent_id={self.agent_id}, user_wallet={self.user_wallet!r}, venues={self.enabled_venues})"

    def credentialed_venues(self) -> dict[Venue, str | None]:
        """Venues for which an agent address or key was given, in the global priority order."""
        given: dict[Venue, str | None] = {}
        for venue in Venue:
            prefix = venue.value.lower()
            address = getattr(self, f"{prefix}_agent_address")
            key = getattr(self, f"{prefix}_agent_key_encrypted")
            if address or key:
                given[venue] = address
        return given


class GenerateSignal(Body):
    agent_id: uuid.UUID
    token_symbol: str = Field(min_length=1, max_length=32, description="canonical instrument id, e.g. ETH, GOLD, EURUSD")
    side: Side
    size_model: SizeModel = Field(default_factory=lambda: SizeModel(value=10))
    risk_model: RiskModel = Field(default_factory=RiskModel)
    confidence: float = Field(default=1.0, ge=0, le=1)
    source_tweets: list[SourceText] = Field(default_factory=list, max_length=50)
    source_research: list[SourceText] = Field(default_factory=list, max_length=50)

    @field_validator("token_symbol")
    @classmethod
    def _canonical(cls, value: str) -> str:
        value = value.strip().upper()
        if not value.replace("-", "").replace("/", "").isalnum():
            raise ValueError("token_symbol must be a canonical instrument id such as ETH, GOLD or EURUSD")
        return value


class ExecuteTrade(Body):
    signal_id: uuid.UUID


class KeyImportRequest(Body):
    wallet: Address | None = Field(default=None, description="the deployment's wallet; the signed-in wallet when left out")
