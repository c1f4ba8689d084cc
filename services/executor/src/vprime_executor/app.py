"""Wiring: the executor's subscribers. No logic here."""

import httpx

from vprime_shared.contracts import DeploymentState, Execution, MarketTick, Order, Position
from vprime_shared.runtime import ServiceRuntime

from vprime_executor import handlers
from vprime_executor.adapters.credentials import CredentialStore, load_kek
from vprime_executor.api import internal_api
from vprime_executor.settings import ExecutorSettings
from vprime_executor.venues import VenueRouter

settings = ExecutorSettings()
runtime = ServiceRuntime(settings, package="vprime_executor")
runtime.publishes(Execution, Position)
credentials = CredentialStore(load_kek(settings.credentials_key, settings.credentials_key_file))
venues = VenueRouter(settings, None, credentials)


async def open_http(_: ServiceRuntime) -> None:
    venues.http = httpx.AsyncClient(timeout=httpx.Timeout(settings.venue_timeout_s))


async def close_http(_: ServiceRuntime) -> None:
    if venues.http is not None:
        await venues.http.aclose()


runtime.on_start.append(open_http)
runtime.on_stop.append(close_http)


@runtime.subscriber(DeploymentState)
async def on_deployment(event: DeploymentState) -> None:
    await runtime.once(event, handlers.deployment_changed)


@runtime.subscriber(MarketTick)
async def on_tick(event: MarketTick) -> None:
    # No inbox for ticks (the busiest topic): the price upsert is idempotent by timestamp, and a
    # redelivered tick finds the positions it closed already closed.
    async with runtime.uow.begin() as tx:
        await handlers.tick_received(tx, event, venues.paper(None))  # type: ignore[arg-type]


@runtime.subscriber(Order)
async def on_order(event: Order) -> None:
    await runtime.once(event, handlers.order_received, venues)


app = runtime.http_app(internal_api(credentials, settings.internal_api_token), title="Vprime executor")
app.state.runtime = runtime
