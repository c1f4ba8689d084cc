"""Wiring: policy's subscribers. No logic here."""

from vprime_shared.contracts import DeploymentState, Intent, Position, Signal
from vprime_shared.contracts.base import utcnow
from vprime_shared.runtime import ServiceRuntime

from vprime_policy import handlers
from vprime_policy.adapters.repository import wait_until_known
from vprime_policy.settings import PolicySettings

settings = PolicySettings()
runtime = ServiceRuntime(settings, package="vprime_policy")
runtime.publishes(Intent)


@runtime.subscriber(DeploymentState)
async def on_deployment(event: DeploymentState) -> None:
    await runtime.once(event, handlers.deployment_changed)


@runtime.subscriber(Position)
async def on_position(event: Position) -> None:
    await runtime.once(event, handlers.position_changed)


@runtime.subscriber(Signal)
async def on_signal(event: Signal) -> None:
    await wait_until_known(runtime.pool, event.agent_id, settings.registry_grace_s)
    await runtime.once(event, handlers.signal_received, settings, utcnow)


app = runtime.http_app(title="Vprime policy (Agent How)")
