"""Every policy rule alone, at its edges, and together. The clock is passed in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from vprime_shared.contracts import (
    DeploymentPolicy,
    IntentStatus,
    RequestedVenue,
    RiskModel,
    Side,
    Signal,
    SignalOrigin,
    SizeModel,
    Venue,
)
from vprime_policy.domain.policy import DeploymentView, decide, in_trading_hours, no_deployment
from vprime_policy.domain.risk import Close, RiskState

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # a Wednesday
ENABLED = [Venue.HYPERLIQUID, Venue.OSTIUM, Venue.GMX]


def signal(*, instrument: str = "ETH", side: Side = Side.LONG, size: float = 20, leverage: float = 3,
           confidence: float = 0.8, drive: int = 0, venue: RequestedVenue = RequestedVenue.MULTI) -> Signal:
    return Signal(
        signal_id=uuid.UUID(int=1), agent_id=uuid.UUID(int=2), instrument=instrument, side=side,
        size_model=SizeModel(value=size), risk_model=RiskModel(leverage=leverage, stop=0.03), confidence=confidence,
        requested_venue=venue, origin=SignalOrigin.MANUAL, drive=drive,
    )


def deployment(status: str = "ACTIVE", **policy: object) -> DeploymentView:
    return DeploymentView(uuid.UUID(int=100), uuid.UUID(int=2), status, ENABLED, DeploymentPolicy.model_validate(policy))


def run(policy: dict | None = None, *, sig: Signal | None = None, state: RiskState | None = None, now: datetime = NOW,
        asset_class: str | None = "crypto", status: str = "ACTIVE"):  # type: ignore[no-untyped-def]
    return decide(sig or signal(), deployment(status, **(policy or {})), state or RiskState(), now, asset_class)


def rules(intent) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.rule for r in intent.reasons]


def test_empty_policy_passes_the_signal_through() -> None:
    intent = run()
    assert intent.status is IntentStatus.APPROVED and rules(intent) == ["approved"]
    assert (intent.size_pct, intent.leverage, intent.venue_preference) == (20, 3, ENABLED)
    assert intent.notional_usd == 6_000  # 20 % of 10,000 at 3x


def test_intent_ids_are_derived_so_reruns_match_and_redrives_differ() -> None:
    assert run().intent_id == run().intent_id
    assert run(sig=signal(drive=1)).intent_id != run().intent_id


@pytest.mark.parametrize("status", ["PAUSED", "STOPPED"])
def test_paused_and_stopped_deployments_reject_with_the_reason(status: str) -> None:
    intent = run(status=status)
    assert intent.status is IntentStatus.REJECTED and rules(intent) == [f"deployment_{status.lower()}"]


@pytest.mark.parametrize(("confidence", "approved"), [(0.59, False), (0.6, True), (0.61, True)])
def test_min_confidence_edge(confidence: float, approved: bool) -> None:
    intent = run({"min_confidence": 0.6}, sig=signal(confidence=confidence))
    assert (intent.status is IntentStatus.APPROVED) is approved
    if not approved:
        assert intent.reasons[0].detail == "confidence 0.59 < min_confidence 0.6"


def test_allowed_sides_long_only() -> None:
    assert run({"allowed_sides": ["LONG"]}).status is IntentStatus.APPROVED
    assert rules(run({"allowed_sides": ["LONG"]}, sig=signal(side=Side.SHORT))) == ["allowed_sides"]


def test_allowed_and_denied_instruments() -> None:
    assert rules(run({"allowed_instruments": ["btc", "SOL"]})) == ["allowed_instruments"]
    assert run({"allowed_instruments": ["eth"]}).status is IntentStatus.APPROVED
    assert rules(run({"denied_instruments": ["ETH"]})) == ["denied_instruments"]


def test_allowed_asset_classes() -> None:
    assert rules(run({"allowed_asset_classes": ["fx", "commodity"]})) == ["allowed_asset_classes"]
    assert run({"allowed_asset_classes": ["commodity"]}, sig=signal(instrument="GOLD"), asset_class="commodity").status is IntentStatus.APPROVED
    unknown = run({"allowed_asset_classes": ["crypto"]}, asset_class=None)
    assert "unknown asset class" in unknown.reasons[0].detail


def test_trading_hours_edges_and_midnight_windows() -> None:
    day = {"trading_hours": [{"start": "13:30", "end": "20:00"}]}
    assert run(day, now=NOW.replace(hour=13, minute=30)).status is IntentStatus.APPROVED  # start is inside
    assert rules(run(day, now=NOW.replace(hour=20, minute=0))) == ["trading_hours"]  # end is outside
    assert rules(run(day, now=NOW.replace(hour=13, minute=29))) == ["trading_hours"]
    night = [{"start": "22:00", "end": "02:00", "days": [0]}]  # Monday night into Tuesday
    from vprime_shared.contracts import TradingWindow

    windows = [TradingWindow.model_validate(w) for w in night]
    monday_late = datetime(2026, 11, 16, 23, 0, tzinfo=UTC)
    assert in_trading_hours(windows, monday_late)
    assert in_trading_hours(windows, monday_late + timedelta(hours=2, minutes=59))  # Tue 01:59
    assert not in_trading_hours(windows, monday_late + timedelta(hours=3))  # Tue 02:00
    assert not in_trading_hours(windows, monday_late - timedelta(days=1))  # Sunday 23:00


def test_max_position_pct_clamps_and_records_it() -> None:
    intent = run({"max_position_pct": 15})
    assert intent.status is IntentStatus.APPROVED and intent.size_pct == 15
    assert [(a.rule, a.detail) for a in intent.adjustments] == [("max_position_pct", "size 20% clamped to 15%")]
    assert run({"max_position_pct": 20}).adjustments == []  # exactly at the limit: no clamp


def test_size_multiplier_then_clamp() -> None:
    intent = run({"size_multiplier": 1.5, "max_position_pct": 25})
    assert intent.size_pct == 25 and [a.rule for a in intent.adjustments] == ["size_multiplier", "max_position_pct"]
    assert run({"size_multiplier": 0.5}).size_pct == 10


def test_max_leverage_clamps() -> None:
    intent = run({"max_leverage": 2})
    assert intent.leverage == 2 and intent.risk_model.leverage == 2 and intent.adjustments[0].rule == "max_leverage"


@pytest.mark.parametrize(("open_", "pending", "approved"), [(0, 0, True), (1, 0, True), (2, 0, False), (1, 1, False)])
def test_max_open_positions_counts_pending_entries(open_: int, pending: int, approved: bool) -> None:
    intent = run({"max_open_positions": 2}, state=RiskState(open_positions=open_, pending_entries=pending))
    assert (intent.status is IntentStatus.APPROVED) is approved
    if not approved:
        assert rules(intent) == ["max_open_positions"]


def test_max_open_positions_zero_blocks_everything() -> None:
    assert rules(run({"max_open_positions": 0})) == ["max_open_positions"]


@pytest.mark.parametrize(("exposure", "approved"), [(30, True), (30.000001, False), (0, True)])
def test_max_exposure_edge(exposure: float, approved: bool) -> None:
    intent = run({"max_exposure_pct": 50}, state=RiskState(exposure_pct=exposure))
    assert (intent.status is IntentStatus.APPROVED) is approved


def test_max_exposure_uses_the_clamped_size() -> None:
    assert run({"max_exposure_pct": 50, "max_position_pct": 10}, state=RiskState(exposure_pct=40)).status is IntentStatus.APPROVED


@pytest.mark.parametrize(("minutes_ago", "approved"), [(29.9, False), (30, True), (45, True)])
def test_cooldown_expires(minutes_ago: float, approved: bool) -> None:
    state = RiskState(last_entry={"ETH": NOW - timedelta(minutes=minutes_ago)})
    intent = run({"cooldown_minutes": 30}, state=state)
    assert (intent.status is IntentStatus.APPROVED) is approved
    assert run({"cooldown_minutes": 30}, state=state, sig=signal(instrument="BTC")).status is IntentStatus.APPROVED


def test_daily_loss_limit_stops_entries_until_the_next_utc_day() -> None:
    today_losses = RiskState(equity_usd=10_000, closes=[Close(NOW - timedelta(hours=2), -300), Close(NOW - timedelta(hours=1), -200)])
    assert rules(run({"daily_loss_limit_pct": 5}, state=today_losses)) == ["daily_loss_limit_pct"]  # exactly 5 %
    assert run({"daily_loss_limit_pct": 5.01}, state=today_losses).status is IntentStatus.APPROVED
    next_day = datetime(2026, 11, 19, 0, 0, tzinfo=UTC)
    assert run({"daily_loss_limit_pct": 5}, state=today_losses, now=next_day).status is IntentStatus.APPROVED
    yesterday = RiskState(equity_usd=10_000, closes=[Close(NOW - timedelta(days=1), -900)])
    assert run({"daily_loss_limit_pct": 5}, state=yesterday).status is IntentStatus.APPROVED


def test_max_drawdown_from_peak_until_the_next_utc_day() -> None:
    curve = RiskState(equity_usd=10_000, closes=[
        Close(NOW - timedelta(days=2), +1_000),  # peak 11,000
        Close(NOW - timedelta(hours=3), -700),   # 10,300
        Close(NOW - timedelta(hours=1), -400),   # 9,900: 10 % below the peak
    ])
    assert rules(run({"max_drawdown_pct": 10}, state=curve)) == ["max_drawdown_pct"]
    assert run({"max_drawdown_pct": 10.5}, state=curve).status is IntentStatus.APPROVED
    assert run({"max_drawdown_pct": 10}, state=curve, now=datetime(2026, 11, 19, 0, 1, tzinfo=UTC)).status is IntentStatus.APPROVED


def test_venue_bias_orders_and_excludes() -> None:
    intent = run({"venue_bias": {"preferred": ["GMX"], "excluded": ["HYPERLIQUID"]}})
    assert intent.venue_preference == [Venue.GMX, Venue.OSTIUM] and intent.excluded_venues == [Venue.HYPERLIQUID]
    assert intent.adjustments[-1].rule == "venue_bias"
    everything = run({"venue_bias": {"excluded": ["HYPERLIQUID", "OSTIUM", "GMX"]}})
    assert rules(everything) == ["venue_bias"]
    fixed = run({"venue_bias": {"excluded": ["OSTIUM"]}}, sig=signal(venue=RequestedVenue.OSTIUM))
    assert rules(fixed) == ["venue_bias"] and "only on OSTIUM" in fixed.reasons[0].detail


def test_every_rejecting_rule_is_reported_together() -> None:
    policy = {"min_confidence": 0.9, "allowed_sides": ["SHORT"], "denied_instruments": ["ETH"], "max_open_positions": 1,
              "cooldown_minutes": 60, "max_position_pct": 5}
    state = RiskState(open_positions=1, last_entry={"ETH": NOW - timedelta(minutes=10)})
    intent = run(policy, state=state)
    assert intent.status is IntentStatus.REJECTED and intent.size_pct == 0
    assert rules(intent) == ["min_confidence", "allowed_sides", "denied_instruments", "cooldown_minutes", "max_open_positions"]
    assert intent.adjustments[0].rule == "max_position_pct"  # what would have been adjusted is still shown


def test_policy_contract_refuses_nonsense() -> None:
    from pydantic import ValidationError

    for bad, mentions in [
        ({"min_confidence": 1.5}, "min_confidence"),
        ({"allowed_instruments": ["ETH"], "denied_instruments": ["eth"]}, "both allowed and denied"),
        ({"trading_hours": [{"start": "25:00", "end": "26:00"}]}, "HH:MM"),
        ({"venue_bias": {"preferred": ["GMX"], "excluded": ["GMX"]}}, "both preferred and excluded"),
        ({"allowed_asset_classes": ["bonds"]}, "allowed_asset_classes"),
        ({"max_leverage": 0.5}, "max_leverage"),
        ({"surprise": 1}, "surprise"),
    ]:
        with pytest.raises(ValidationError, match=mentions):
            DeploymentPolicy.model_validate(bad)


def test_no_deployment_is_an_explained_rejection() -> None:
    intent = no_deployment(signal())
    assert intent.status is IntentStatus.REJECTED and intent.deployment_id is None
    assert rules(intent) == ["no_active_deployment"]
