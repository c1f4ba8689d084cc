"""Wiring: the control service's subscribers and HTTP app. No logic here."""

from vprime_shared.contracts import AgentState, DeploymentState, RoutingConfig, Signal
from vprime_shared.runtime import ServiceRuntime

from vprime_control import api, handlers
from vprime_control.settings import ControlSettings

runtime = ServiceRuntime(ControlSettings(), package="vprime_control")
runtime.publishes(AgentState, DeploymentState, RoutingConfig, Signal)


@runtime.subscriber(Signal)
async def on_signal(event: Signal) -> None:
    await runtime.once(event, handlers.record_signal)


app = runtime.http_app(api.router, title="Vprime control API", description="Agents, deployments and manual signals.")
app.state.runtime = runtime
