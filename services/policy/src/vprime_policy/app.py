"""Wiring: policy's subscribers. No logic here."""

from vprime_shared.batches import Received
from vprime_shared.contracts import DeploymentState, Intent, Position, Signal
from vprime_shared.contracts.base import utcnow
from vprime_shared.runtime import ServiceRuntime
from vprime_shared.unit_of_work import Tx

from vprime_policy import handlers
from vprime_policy.adapters.repository import PrunedEntries
from vprime_policy.settings import PolicySettings

settings = PolicySettings()
runtime = ServiceRuntime(settings, package="vprime_policy")
runtime.publishes(Intent)
pruned = PrunedEntries()


@runtime.subscriber(DeploymentState)
async def on_deployment(event: DeploymentState) -> None:
    await runtime.once(event, handlers.deployment_changed)


# Signals and positions come in bursts. A batch of positions is one statement, with no transaction around it.
# Positions need no inbox: each is an upsert that an older or repeated update leaves as it is, and the running
# totals its triggers keep change only when a position is first inserted or its state or size really changes.
# Nothing on a signal's way to its position waits for them, and until a position arrives its entry counts as pending,
# so the broker may hold a fetch for a fuller batch (`gather_ms`): fewer, larger statements.
@runtime.batch_subscriber(Position, inbox=False, together=True, one_statement=True, gather_ms=100)
async def on_positions(tx: Tx, received: list[Received[Position]]) -> None:
    await handlers.positions_changed(tx, received)


# A batch of signals is read in one statement and written in another (decisions, inbox rows, intents), with no
# transaction open between them: each agent's version stands in for a lock (see `handlers.signals_received`).
@runtime.batch_subscriber(Signal, together=True, one_statement=True)
async def on_signals(tx: Tx, received: list[Received[Signal]]) -> None:
    await handlers.signals_received(tx, received, settings, utcnow, pruned)


app = runtime.http_app(title="Vprime policy (Agent How)")
