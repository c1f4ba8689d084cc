"""Policy's reactions to events."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from prometheus_client import Counter

from vprime_shared import ids
from vprime_shared.batches import Received
from vprime_shared.contracts import DeploymentState, Intent, IntentStatus, Position, Signal
from vprime_shared.reference import canonical_instruments
from vprime_shared.telemetry import attached
from vprime_shared.unit_of_work import Tx

from vprime_policy.adapters.repository import BatchState, PolicyRepository, PrunedEntries
from vprime_policy.domain.policy import decide, no_deployment
from vprime_policy.settings import PolicySettings

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)
REJECTIONS = Counter("vprime_policy_rejections_total", "Intents rejected, by the policy rule that fired", ["rule"])
ASSET_CLASSES = canonical_instruments()
MAX_DECIDE_ROUNDS = 20  # a batch decided again this often found another writer each time: something is wrong


async def deployment_changed(tx: Tx, deployment: DeploymentState) -> None:
    await PolicyRepository(tx.conn).save_deployment(deployment)


async def positions_changed(tx: Tx, received: list[Received[Position]]) -> None:
    """Risk state (open positions, exposure, entries, realised PnL) follows the executor's positions: a batch's in one
    statement. Of a position updated more than once in the batch, only its latest state is written: the running
    totals move by what changed from the stored row to the new one, so skipping the states in between leaves them
    where applying each would have (and a statement may change a row only once)."""
    latest: dict[uuid.UUID, Position] = {}
    for r in received:
        p = r.event
        if p.position_id not in latest or p.occurred_at >= latest[p.position_id].occurred_at:
            latest[p.position_id] = p
    for p in latest.values():
        PolicyRepository.save_position(tx, p)
    await tx.flush()


async def signals_received(tx: Tx, received: list[Received[Signal]], settings: PolicySettings, clock: Clock,
                           pruned: PrunedEntries | None = None) -> None:
    """One intent per deployment of each signal's agent, approved or rejected with the rules that fired; a batch of
    signals decided together, on a state read in one statement and recorded in another, with the batch's inbox rows
    (`tx.inbox`) and the intents published. Signals for one deployment are decided in the batch's order, each seeing
    the entries approved before it. Nothing is locked from read to write: an agent's version says whether its
    deployments changed meanwhile (another instance deciding for them, a registry update), and if one did, or a
    decision turns out to be recorded before (a re-run of the same drive, a redelivery), the batch is decided again
    on what is there now; what was recorded before is not made again."""
    repo = PolicyRepository(tx.conn)
    agents = {r.event.agent_id for r in received}
    done: set[uuid.UUID] = set()  # decisions found recorded before
    waited: set[uuid.UUID] = set()  # agents given the registry's grace already
    for _ in range(MAX_DECIDE_ROUNDS):
        now, ttl = clock(), timedelta(seconds=settings.pending_entry_ttl_s)
        state = await repo.batch_state(agents, now, ttl, settings.default_equity_usd, pruned, tx.inbox)
        if pruned is not None:
            tx.on_commit(lambda now=now: pruned.advance(agents, now - ttl))
        todo = [r for r in received if r.event.event_id not in state.seen]
        if not todo:
            if tx.inbox is not None:
                tx.inbox.record(None)
            return
        unknown = {r.event.agent_id for r in todo} - state.deployments.keys() - waited
        if unknown and settings.registry_grace_s > 0:  # registry events in flight: give them a moment, then read again
            waited |= unknown
            if any([await repo.wait_for_deployments(agent_id, settings.registry_grace_s) for agent_id in unknown]):
                continue
        intents = _decide_batch(todo, state, now, done)
        for intent, trace in intents:
            with attached(trace):
                await tx.publish(intent, about=intent.intent_id)  # written with the decisions, if they are new
        decided_for = {i.agent_id for i, _ in intents if i.deployment_id is not None}
        recorded = await repo.record(tx, [intent for intent, _ in intents], {a: state.versions[a] for a in decided_for})
        if recorded.written:
            _announce(intents, recorded.new)
            return
        done |= recorded.before
    raise RuntimeError(f"a batch of {len(received)} signals found its deployments changed {MAX_DECIDE_ROUNDS} times in a row")


def _decide_batch(todo: list[Received[Signal]], state: BatchState, now: datetime,
                  done: set[uuid.UUID]) -> list[tuple[Intent, dict[str, str]]]:
    """Each signal's answers: one per live deployment of its agent, or the agent's rejection if it has none; a
    signal twice in the batch, or a decision recorded before (`done`), once."""
    risk = dict(state.risk)
    # A stopped deployment is over: it takes no part. A paused one still answers, with the reason.
    live = {agent: [d for d in ds if d.status != "STOPPED"] for agent, ds in state.deployments.items()}
    answered = set(done)
    intents: list[tuple[Intent, dict[str, str]]] = []
    for r in todo:
        for deployment in live.get(r.event.agent_id) or [None]:
            intent_id = ids.intent_id(r.event.signal_id, deployment.deployment_id if deployment else None, r.event.drive)
            if intent_id in answered:
                continue
            answered.add(intent_id)
            if deployment is None:
                intents.append((no_deployment(r.event), r.trace))
                continue
            intent = decide(r.event, deployment, risk[deployment.deployment_id], now, ASSET_CLASSES.get(r.event.instrument.upper()))
            if intent.status is IntentStatus.APPROVED:
                risk[deployment.deployment_id] = risk[deployment.deployment_id].with_entry(intent.instrument, intent.size_pct, now)
            intents.append((intent, r.trace))
    return intents


def _announce(intents: list[tuple[Intent, dict[str, str]]], new: set[uuid.UUID]) -> None:
    for intent, _ in intents:
        if intent.intent_id in new:
            for reason in intent.reasons if intent.status is IntentStatus.REJECTED else ():
                REJECTIONS.labels(reason.rule).inc()
            log.info("signal %s, deployment %s: %s (%s)", intent.signal_id, intent.deployment_id, intent.status.value,
                     "; ".join(f"{r.rule}: {r.detail}" for r in intent.reasons))
