"""The router's reactions to events: route approved intents, fail over on retryable execution
failures, follow routing configuration. Every attempt is recorded and published."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from prometheus_client import Counter, Histogram

from vprime_shared import ids
from vprime_shared.batches import Received, first_of_each
from vprime_shared.contracts import (
    Execution,
    ExecutionStatus,
    Intent,
    IntentStatus,
    Order,
    RoutingConfig,
    RoutingDecision,
    Venue,
)
from vprime_shared.telemetry import attached
from vprime_shared.unit_of_work import Tx

from vprime_router.adapters.repository import RouterRepository
from vprime_router.domain.routing import Choice, candidate_venues, route
from vprime_router.state import RouterState


log = logging.getLogger(__name__)
DECISIONS = Counter("vprime_routing_decisions_total", "Routing decisions by selected venue and outcome", ["venue", "outcome"])
DECISION_SECONDS = Histogram("vprime_routing_decision_seconds", "In-process routing decision time", ["strategy"],
                             buckets=(5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.01))


async def intents_received(tx: Tx, received: list[Received[Intent]], state: RouterState, now: datetime) -> list[RoutingDecision]:
    """Route a batch of intents: each decided in process, in the batch's order (a half-open venue's probe, taken by
    one decision, is seen by the next), then the whole batch written in one statement: its inbox rows, each new
    intent taken up with its decision recorded, and the decisions and orders of those to publish. A redelivery
    with a new event id finds its intent taken and adds nothing. Each intent's decision and order continue its trace."""
    # A rejection is final at policy: nothing to route.
    routable = [r for r in received if r.event.status is IntentStatus.APPROVED and r.event.deployment_id is not None]
    decided = [(r, *_decide(r.event, 1, [], state, now)) for r in first_of_each(routable, lambda r: r.event.intent_id)]
    for r, decision, choice in decided:
        with attached(r.trace):
            await _publish(tx, r.event, decision, choice, about=r.event.intent_id)
    new = await RouterRepository(tx.conn).record_first_attempts(tx, [(r, decision) for r, decision, _ in decided])
    recorded = []
    for r, decision, choice in decided:
        if decision.decision_id in new:
            _announced(r.event, decision, choice, state)
            recorded.append(decision)
    return recorded


async def execution_received(tx: Tx, execution: Execution, state: RouterState, now: datetime) -> RoutingDecision | None:
    """Feed the venue's breaker; on a failure another venue could absorb, route the intent again."""
    breaker = state.breaker(execution.venue)
    repo = RouterRepository(tx.conn)
    before = breaker.persisted()
    if execution.status is ExecutionStatus.FILLED:
        breaker.record_success()
    elif execution.retryable:
        breaker.record_failure(now, execution.reason or execution.status.value)
    if breaker.persisted() != before:  # a fill on a healthy venue changes nothing worth a write
        await repo.save_breaker(execution.venue, breaker)

    if execution.status is ExecutionStatus.FILLED:
        # The common case, in one statement: the fill settles the intent if it answers the latest attempt, which the
        # execution says (the executor copies it from the order).
        RouterRepository.settle(tx, execution.intent_id, execution.attempt)
        return None
    found = await repo.intent(execution.intent_id)
    if found is None:
        return None
    intent, attempts, tried, settled = found
    if settled or execution.order_id != ids.order_id(intent.intent_id, attempts):
        return None  # an old attempt's news, or the intent is done
    config = state.effective_config(intent.agent_id)
    can_elsewhere = execution.retryable or execution.venue_specific
    if can_elsewhere and config.failover_enabled and attempts < config.max_attempts:
        return await _attempt(tx, repo, intent, attempts + 1, tried, state, now)
    # The intent ends here; say so, so nobody mistakes a failover in progress for the end.
    why = ("the venue's refusal is definitive" if not can_elsewhere
           else "failover is off" if not config.failover_enabled else f"{attempts} of {config.max_attempts} attempts used")
    return await _give_up(tx, repo, intent, attempts + 1, tried, f"gave up after {execution.venue.value}: {execution.reason} ({why})")


async def _attempt(tx: Tx, repo: RouterRepository, intent: Intent, attempt: int, failed: list[Venue],
                   state: RouterState, now: datetime) -> RoutingDecision | None:
    """A later attempt, after `failed` venues: decided, recorded and announced (None if recorded before)."""
    decision, choice = _decide(intent, attempt, failed, state, now)
    if not await repo.record_attempt(decision):
        return None  # recorded before
    _announced(intent, decision, choice, state)
    await _publish(tx, intent, decision, choice)
    return decision


def _decide(intent: Intent, attempt: int, failed: list[Venue], state: RouterState, now: datetime) -> tuple[RoutingDecision, Choice]:
    """The routing decision, in process; a half-open venue it picks is marked as probed, so the next decision
    leaves it to this one."""
    started = time.perf_counter_ns()
    agent_config, global_config = state.config_for(intent.agent_id)
    config = agent_config or global_config
    candidates = candidate_venues(intent, agent_config, global_config, failed)
    choice = route(intent, candidates, config.routing_strategy, state.context(now))
    elapsed_us = (time.perf_counter_ns() - started) / 1000
    DECISION_SECONDS.labels(config.routing_strategy.value).observe(elapsed_us / 1_000_000)
    if choice.venue is not None:
        state.breaker(choice.venue).probe(now)
    reason = choice.reason if not failed else f"attempt {attempt} after {', '.join(v.value for v in failed)} failed: {choice.reason}"
    decision = RoutingDecision(
        decision_id=ids.decision_id(intent.intent_id, attempt), intent_id=intent.intent_id, signal_id=intent.signal_id,
        agent_id=intent.agent_id, deployment_id=intent.deployment_id, instrument=intent.instrument, side=intent.side,  # type: ignore[arg-type]
        requested_venue=intent.requested_venue, selected_venue=choice.venue, reason=reason, checked_venues=choice.checked,
        venue_availability=choice.availability, costs=choice.costs,
        scores={v: -c.total_bps for v, c in choice.costs.items()}, strategy=config.routing_strategy.value,
        attempt=attempt, failed_venues=failed, duration_ms=elapsed_us / 1000, duration_us=elapsed_us,
    )
    return decision, choice


def _announced(intent: Intent, decision: RoutingDecision, choice: Choice, state: RouterState) -> None:
    """A recorded decision: its instrument's market watched, the decision counted and logged."""
    state.watch(intent.instrument)
    venue = choice.venue
    DECISIONS.labels(venue.value if venue else "NONE", "routed" if venue else "no_venue").inc()
    log.info("intent %s attempt %d → %s in %.0f µs: %s", intent.intent_id, decision.attempt,
             venue.value if venue else "no venue", decision.duration_us, decision.reason)


async def _publish(tx: Tx, intent: Intent, decision: RoutingDecision, choice: Choice, *, about: Any = None) -> None:
    """A decision published, with the order it places (if a venue was found)."""
    venue = choice.venue
    await tx.publish(decision, about=about)
    if choice.selected is not None and venue is not None:
        await tx.publish(Order(
            order_id=ids.order_id(intent.intent_id, decision.attempt), intent_id=intent.intent_id, signal_id=intent.signal_id,
            agent_id=intent.agent_id, deployment_id=intent.deployment_id,  # type: ignore[arg-type]
            venue=venue, venue_symbol=choice.selected.venue_symbol,
            contract_multiplier=choice.selected.contract_multiplier, instrument=intent.instrument, side=intent.side,
            size_type=intent.size_type, size_pct=intent.size_pct, leverage=choice.leverage, taker_fee_bps=choice.selected.taker_fee_bps,
            risk_model=intent.risk_model.model_copy(update={"leverage": choice.leverage}), attempt=decision.attempt,
        ), about=about)


async def _give_up(tx: Tx, repo: RouterRepository, intent: Intent, attempt: int, failed: list[Venue], reason: str) -> RoutingDecision:
    decision = RoutingDecision(
        decision_id=ids.decision_id(intent.intent_id, attempt), intent_id=intent.intent_id, signal_id=intent.signal_id,
        agent_id=intent.agent_id, deployment_id=intent.deployment_id, instrument=intent.instrument, side=intent.side,  # type: ignore[arg-type]
        requested_venue=intent.requested_venue, selected_venue=None, reason=reason, checked_venues=[], venue_availability={},
        strategy="SETTLED", attempt=attempt, failed_venues=failed, duration_ms=0.0, duration_us=0.0,
    )
    if await repo.record_attempt(decision, settled=True):
        await tx.publish(decision)
    return decision


async def config_changed(tx: Tx, config: RoutingConfig, state: RouterState) -> None:
    await RouterRepository(tx.conn).save_config(config)
    body = config.body()
    if config.agent_id is None:
        state.global_config = body
    else:
        state.agent_configs[config.agent_id] = body
