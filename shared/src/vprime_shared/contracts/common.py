"""Vocabulary shared by several topic families."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from vprime_shared.contracts.base import Contract


class Venue(StrEnum):
    HYPERLIQUID = "HYPERLIQUID"
    OSTIUM = "OSTIUM"
    GMX = "GMX"
    SPOT = "SPOT"


class RequestedVenue(StrEnum):
    """What an agent (and its signals) asks for: routing across venues (MULTI), or one fixed venue
    (the single-venue model: it routes only there)."""

    MULTI = "MULTI"
    HYPERLIQUID = "HYPERLIQUID"
    OSTIUM = "OSTIUM"
    GMX = "GMX"
    SPOT = "SPOT"

    @property
    def fixed_venue(self) -> Venue | None:
        return None if self is RequestedVenue.MULTI else Venue(self.value)


MULTI = RequestedVenue.MULTI

# Used when neither the deployment nor the routing config names an order.
GLOBAL_VENUE_PRIORITY: tuple[Venue, ...] = (Venue.HYPERLIQUID, Venue.OSTIUM, Venue.GMX, Venue.SPOT)


class Side(StrEnum):
    LONG = "LONG"
    SHORT = "SHORT"


class SizeModel(Contract):
    type: Literal["percentage", "fixed-usdc"] = "percentage"
    value: float = Field(gt=0, description="percentage: % of the account's equity as margin; fixed-usdc: USDC of margin")

    @model_validator(mode="after")
    def _bounded(self) -> SizeModel:
        if self.type == "percentage" and self.value > 100:
            raise ValueError("a percentage size_model value is at most 100")
        return self


class RiskModel(Contract):
    type: Literal["trailing-stop", "stop-loss", "none"] = "trailing-stop"
    stop: float | None = Field(default=None, gt=0, lt=1, description="stop distance as a fraction of price")
    take_profit: float | None = Field(default=None, gt=0)
    leverage: float = Field(default=1.0, ge=1, le=100)
