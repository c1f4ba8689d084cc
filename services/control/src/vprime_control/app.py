"""Wiring: the control service's subscribers and HTTP app. No logic here."""

from vprime_shared.batches import Received
from vprime_shared.contracts import AgentState, DeploymentState, RoutingConfig, Signal
from vprime_shared.runtime import ServiceRuntime
from vprime_shared.unit_of_work import Tx

from vprime_control import api, auth_api, handlers
from vprime_control.adapters.executor_client import ExecutorKeys
from vprime_control.settings import ControlSettings
from vprime_control.web_access import install_web_access

settings = ControlSettings()
runtime = ServiceRuntime(settings, package="vprime_control")
runtime.publishes(AgentState, DeploymentState, RoutingConfig, Signal)


# Signals come in bursts: a batch of them is recorded in one statement (a signal of an unknown agent is
# dead-lettered alone). No inbox: recording a signal is an upsert that a redelivery repeats harmlessly.
# Nothing waits for the record on a signal's way to its position, so batches gather for up to 100 ms.
@runtime.batch_subscriber(Signal, inbox=False, together=True, gather_ms=100)
async def on_signal(tx: Tx, received: list[Received[Signal]]) -> None:
    await handlers.record_signals(tx, [r.event for r in received])


app = runtime.http_app(api.router, auth_api.router, title="Vprime control API",
                       description="Agents, deployments and manual signals. Writes need a bearer token: sign in with a "
                                   "wallet (POST /api/v3/auth/nonce, then /api/v3/auth/verify) or use an operator token.")
api.install_domain_errors(app)
install_web_access(app, settings.web_origin_list())
app.state.runtime = runtime
app.state.agent_keys = ExecutorKeys(settings.executor_url, settings.internal_api_token)
app.state.authenticator = auth_api.Authenticator(runtime, settings)
app.state.nonce_limit = auth_api.ClientRateLimit(settings.nonce_rate_per_minute)
