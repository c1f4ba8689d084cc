"""A deployment's risk policy: the guard rails Agent How applies to every signal. Every field is
optional; an empty policy approves every signal as it comes (the seed's pass-through)."""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import Field, StringConstraints, field_validator, model_validator

from vprime_shared.contracts.base import Contract
from vprime_shared.contracts.common import Side, Venue

AssetClass = Literal["crypto", "fx", "commodity", "index", "stocks"]
Instrument = Annotated[str, StringConstraints(min_length=1, max_length=32)]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class TradingWindow(Contract):
    """A UTC window in which new entries are allowed; `end` before `start` runs past midnight."""

    start: str = Field(examples=["13:30"])
    end: str = Field(examples=["20:00"])
    days: list[int] = Field(default_factory=lambda: list(range(7)), max_length=7, description="0 = Monday … 6 = Sunday")

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"{value!r} is not a UTC time as HH:MM")
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, days: list[int]) -> list[int]:
        if not days or any(d not in range(7) for d in days):
            raise ValueError("days are 0 (Monday) to 6 (Sunday), at least one")
        return days


class VenueBias(Contract):
    preferred: list[Venue] = Field(default_factory=list, max_length=len(Venue), description="tried first, in this order")
    excluded: list[Venue] = Field(default_factory=list, max_length=len(Venue), description="never used")

    @model_validator(mode="after")
    def _disjoint(self) -> VenueBias:
        if both := set(self.preferred) & set(self.excluded):
            raise ValueError(f"venues both preferred and excluded: {sorted(v.value for v in both)}")
        return self


class DeploymentPolicy(Contract):
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    allowed_sides: list[Side] | None = Field(default=None, min_length=1, max_length=len(Side), examples=[["LONG"]])
    allowed_instruments: list[Instrument] | None = Field(default=None, min_length=1, max_length=500)
    denied_instruments: list[Instrument] = Field(default_factory=list, max_length=500)
    allowed_asset_classes: list[AssetClass] | None = Field(default=None, min_length=1, max_length=len(get_args(AssetClass)))
    max_position_pct: float | None = Field(default=None, gt=0, le=100, description="larger sizes are clamped")
    size_multiplier: float | None = Field(default=None, gt=0, le=10)
    max_leverage: float | None = Field(default=None, ge=1, le=100)
    max_open_positions: int | None = Field(default=None, ge=0)
    max_exposure_pct: float | None = Field(default=None, gt=0, le=1000, description="sum of open sizes, % of equity")
    cooldown_minutes: float | None = Field(default=None, gt=0, description="per instrument, after an entry")
    daily_loss_limit_pct: float | None = Field(default=None, gt=0, le=100)
    max_drawdown_pct: float | None = Field(default=None, gt=0, le=100)
    trading_hours: list[TradingWindow] | None = Field(default=None, min_length=1, max_length=50)
    venue_bias: VenueBias | None = None

    @field_validator("allowed_instruments", "denied_instruments")
    @classmethod
    def _upper(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else [v.strip().upper() for v in values]

    @model_validator(mode="after")
    def _consistent(self) -> DeploymentPolicy:
        if self.allowed_instruments and (both := set(self.allowed_instruments) & set(self.denied_instruments)):
            raise ValueError(f"instruments both allowed and denied: {sorted(both)}")
        return self
