"""Agent How: each signal becomes, per deployment of its agent, one intent, approved (with its final
size, leverage and venue preference) or rejected, with every rule that fired and the values it saw.
Pure functions: the clock and the risk state are passed in.

An empty policy approves every signal as it comes. Rules, in the order they are reported:
deployment status, min_confidence, allowed_sides, allowed/denied instruments, allowed_asset_classes,
trading_hours, daily_loss_limit_pct, max_drawdown_pct, cooldown_minutes, max_open_positions,
size (size_multiplier, then max_position_pct clamps), max_exposure_pct, max_leverage (clamps),
venue_bias. A rejection lists every rejecting rule, not only the first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from vprime_shared import ids
from vprime_shared.contracts import (
    DeploymentPolicy,
    Intent,
    IntentStatus,
    RuleOutcome,
    Signal,
    TradingWindow,
    Venue,
)

from vprime_policy.domain.risk import RiskState, last_drawdown_breach, realized_today, utc_midnight


@dataclass(frozen=True)
class DeploymentView:
    deployment_id: uuid.UUID
    agent_id: uuid.UUID
    status: str
    enabled_venues: list[Venue]
    policy: DeploymentPolicy = DeploymentPolicy()
    resumed_at: datetime | None = None


def _fmt(x: float) -> str:
    return f"{x:g}"


def in_trading_hours(windows: list[TradingWindow], now: datetime) -> bool:
    minute = now.hour * 60 + now.minute
    for w in windows:
        start = int(w.start[:2]) * 60 + int(w.start[3:])
        end = int(w.end[:2]) * 60 + int(w.end[3:])
        if start <= end:
            if now.weekday() in w.days and start <= minute < end:
                return True
        else:  # past midnight: the part before midnight belongs to the listed day, the rest to the next
            if (now.weekday() in w.days and minute >= start) or ((now.weekday() - 1) % 7 in w.days and minute < end):
                return True
    return False


def venue_order(enabled: list[Venue], policy: DeploymentPolicy) -> tuple[list[Venue], list[Venue]]:
    bias = policy.venue_bias
    if bias is None:
        return list(enabled), []
    preferred = [v for v in bias.preferred if v in enabled]
    ordered = preferred + [v for v in enabled if v not in preferred]
    return [v for v in ordered if v not in bias.excluded], list(bias.excluded)


def decide(signal: Signal, deployment: DeploymentView, state: RiskState, now: datetime, asset_class: str | None) -> Intent:
    p = deployment.policy
    rejections: list[RuleOutcome] = []
    adjustments: list[RuleOutcome] = []

    def reject(rule: str, detail: str) -> None:
        rejections.append(RuleOutcome(rule=rule, detail=detail))

    if deployment.status != "ACTIVE":
        reject(f"deployment_{deployment.status.lower()}", f"deployment {deployment.deployment_id} is {deployment.status}")
    if p.min_confidence is not None and signal.confidence < p.min_confidence:
        reject("min_confidence", f"confidence {_fmt(signal.confidence)} < min_confidence {_fmt(p.min_confidence)}")
    if p.allowed_sides is not None and signal.side not in p.allowed_sides:
        reject("allowed_sides", f"{signal.side.value} not in allowed_sides {[s.value for s in p.allowed_sides]}")
    instrument = signal.instrument.upper()
    if p.allowed_instruments is not None and instrument not in p.allowed_instruments:
        reject("allowed_instruments", f"{instrument} not in allowed_instruments {p.allowed_instruments}")
    if instrument in p.denied_instruments:
        reject("denied_instruments", f"{instrument} is in denied_instruments")
    if p.allowed_asset_classes is not None and asset_class not in p.allowed_asset_classes:
        reject("allowed_asset_classes", f"{instrument} is {asset_class or 'of unknown asset class'}; allowed {p.allowed_asset_classes}")
    if p.trading_hours is not None and not in_trading_hours(p.trading_hours, now):
        windows = ", ".join(f"{w.start}-{w.end}" for w in p.trading_hours)
        reject("trading_hours", f"{now:%a %H:%M} UTC is outside the trading hours ({windows} UTC)")
    if p.daily_loss_limit_pct is not None:
        loss_pct = -realized_today(state, now) / state.equity_usd * 100
        if loss_pct >= p.daily_loss_limit_pct:
            reject("daily_loss_limit_pct", f"realised loss today {_fmt(round(loss_pct, 4))}% >= {_fmt(p.daily_loss_limit_pct)}%; entries resume next UTC day or on resume")
    if p.max_drawdown_pct is not None:
        breach = last_drawdown_breach(state, p.max_drawdown_pct)
        if breach is not None and breach >= utc_midnight(now):
            reject("max_drawdown_pct", f"drawdown reached {_fmt(p.max_drawdown_pct)}% at {breach:%H:%M} UTC; entries resume next UTC day or on resume")
    if p.cooldown_minutes is not None and (last := state.last_entry.get(instrument)) is not None:
        elapsed = (now - last).total_seconds() / 60
        if elapsed < p.cooldown_minutes:
            reject("cooldown_minutes", f"last {instrument} entry {_fmt(round(elapsed, 2))} min ago < cooldown {_fmt(p.cooldown_minutes)} min")
    if p.max_open_positions is not None and state.busy_slots >= p.max_open_positions:
        reject("max_open_positions", f"{state.open_positions} open + {state.pending_entries} pending >= max_open_positions {p.max_open_positions}")

    size = signal.size_model.value
    if p.size_multiplier is not None:
        adjusted = round(size * p.size_multiplier, 6)
        adjustments.append(RuleOutcome(rule="size_multiplier", detail=f"size {_fmt(size)}% x {_fmt(p.size_multiplier)} = {_fmt(adjusted)}%"))
        size = adjusted
    if p.max_position_pct is not None and size > p.max_position_pct:
        adjustments.append(RuleOutcome(rule="max_position_pct", detail=f"size {_fmt(size)}% clamped to {_fmt(p.max_position_pct)}%"))
        size = p.max_position_pct
    size = min(size, 100.0)
    if p.max_exposure_pct is not None and state.exposure_pct + size > p.max_exposure_pct + 1e-9:
        reject("max_exposure_pct", f"exposure {_fmt(round(state.exposure_pct, 6))}% + {_fmt(size)}% > max_exposure_pct {_fmt(p.max_exposure_pct)}%")
    leverage = signal.risk_model.leverage
    if p.max_leverage is not None and leverage > p.max_leverage:
        adjustments.append(RuleOutcome(rule="max_leverage", detail=f"leverage {_fmt(leverage)}x clamped to {_fmt(p.max_leverage)}x"))
        leverage = p.max_leverage
    venues, excluded = venue_order(deployment.enabled_venues, p)
    fixed = signal.requested_venue.fixed_venue
    if fixed is not None and fixed in excluded:
        reject("venue_bias", f"the agent trades only on {fixed.value}, which venue_bias excludes")
    elif not venues:
        reject("venue_bias", f"venue_bias excludes every enabled venue {[v.value for v in deployment.enabled_venues]}")
    if p.venue_bias is not None and venues != deployment.enabled_venues:
        adjustments.append(RuleOutcome(rule="venue_bias", detail=f"venues {[v.value for v in deployment.enabled_venues]} -> {[v.value for v in venues]}"))

    approved = not rejections
    return Intent(
        intent_id=ids.intent_id(signal.signal_id, deployment.deployment_id, signal.drive),
        signal_id=signal.signal_id,
        agent_id=signal.agent_id,
        deployment_id=deployment.deployment_id,
        drive=signal.drive,
        status=IntentStatus.APPROVED if approved else IntentStatus.REJECTED,
        reasons=rejections if rejections else (adjustments or [RuleOutcome(rule="approved", detail="every policy rule passed")]),
        instrument=instrument,
        side=signal.side,
        size_type=signal.size_model.type,
        size_pct=size if approved else 0.0,
        leverage=leverage,
        risk_model=signal.risk_model.model_copy(update={"leverage": leverage}),
        requested_venue=signal.requested_venue,
        venue_preference=venues,
        excluded_venues=excluded,
        notional_usd=round((size if signal.size_model.type == "fixed-usdc" else size / 100 * state.equity_usd) * leverage, 2)
        if approved else 0.0,
        adjustments=adjustments,
    )


def no_deployment(signal: Signal) -> Intent:
    """The signal's fate when its agent has no deployment at all."""
    return Intent(
        intent_id=ids.intent_id(signal.signal_id, None, signal.drive),
        signal_id=signal.signal_id,
        agent_id=signal.agent_id,
        deployment_id=None,
        drive=signal.drive,
        status=IntentStatus.REJECTED,
        reasons=[RuleOutcome(rule="no_active_deployment", detail=f"agent {signal.agent_id} has no deployment that is not stopped")],
        instrument=signal.instrument,
        side=signal.side,
        size_pct=0,
        leverage=1,
        risk_model=signal.risk_model,
        requested_venue=signal.requested_venue,
    )



