"""Wiring: policy's subscribers. No logic here."""

from vprime_shared.contracts import DeploymentState, Intent, Signal
from vprime_shared.kafka import consumer_options
from vprime_shared.runtime import ServiceRuntime

from vprime_policy import handlers
from vprime_policy.adapters.repository import wait_until_known
from vprime_policy.settings import PolicySettings

settings = PolicySettings()
runtime = ServiceRuntime(settings, package="vprime_policy")
broker = runtime.broker
runtime.publishes(Intent)


@broker.subscriber(DeploymentState.TOPIC, **consumer_options("policy", DeploymentState.TOPIC))
async def on_deployment(event: DeploymentState) -> None:
    async with runtime.uow.once(event) as tx:
        if tx is not None:
            await handlers.deployment_changed(tx, event)


@broker.subscriber(Signal.TOPIC, **consumer_options("policy", Signal.TOPIC))
async def on_signal(event: Signal) -> None:
    await wait_until_known(runtime.pool, event.agent_id, settings.registry_grace_s)
    async with runtime.uow.once(event) as tx:
        if tx is not None:
            await handlers.signal_received(tx, event)


app = runtime.http_app(title="Vprime policy (Agent How)")
