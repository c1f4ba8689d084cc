"""Wiring: the control service's subscribers and HTTP app. No logic here."""

from vprime_shared.contracts import AgentState, DeploymentState, Signal
from vprime_shared.kafka import consumer_options
from vprime_shared.runtime import ServiceRuntime

from vprime_control import api, handlers
from vprime_control.settings import ControlSettings

runtime = ServiceRuntime(ControlSettings(), package="vprime_control")
broker = runtime.broker
runtime.publishes(AgentState, DeploymentState, Signal)


@broker.subscriber(Signal.TOPIC, **consumer_options("control", Signal.TOPIC))
async def on_signal(event: Signal) -> None:
    async with runtime.uow.once(event) as tx:
        if tx is not None:
            await handlers.record_signal(tx, event)


app = runtime.http_app(api.router, title="Vprime control API", description="Agents, deployments and manual signals.")
app.state.runtime = runtime
