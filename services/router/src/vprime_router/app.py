"""Wiring: the router's subscribers, catalog sync and HTTP app. No logic here."""

import uuid
from datetime import timedelta

from vprime_shared.batches import Received
from vprime_shared.contracts import Execution, Intent, MarketCatalog, Order, RoutingConfig, RoutingDecision
from vprime_shared.contracts.base import utcnow
from vprime_shared.runtime import ServiceRuntime
from vprime_shared.unit_of_work import Tx

from vprime_router import handlers
from vprime_router.adapters.repository import RouterRepository
from vprime_router.api import router_status
from vprime_router.domain.catalog import fixture_catalogs
from vprime_router.settings import RouterSettings
from vprime_router.state import RouterState
from vprime_router.sync import CatalogSync, venue_adapters

settings = RouterSettings()
runtime = ServiceRuntime(settings, package="vprime_router")
runtime.publishes(RoutingDecision, Order, MarketCatalog)
state = RouterState(settings)
syncs: list[CatalogSync] = []


async def load_state(rt: ServiceRuntime) -> None:
    """Breakers, routing configuration and the last catalogs from the schema; then the first sync."""
    repo = RouterRepository(rt.pool)
    state.breakers.update(await repo.breakers(settings.breaker_failures, timedelta(seconds=settings.breaker_open_s)))
    for scope, body in (await repo.configs()).items():
        if scope == "global":
            state.global_config = body
        else:
            state.agent_configs[uuid.UUID(scope)] = body
    if settings.catalog_source == "fixture":
        state.catalogs = fixture_catalogs(utcnow())
        return
    for catalog in await repo.catalogs():
        state.catalogs.put(catalog)
    sync = CatalogSync(state, rt.uow, venue_adapters(settings))
    await sync.start()
    syncs.append(sync)


async def stop_sync(_: ServiceRuntime) -> None:
    for sync in syncs:
        await sync.stop()


async def catalogs_ready() -> tuple[bool, dict[str, object]]:
    return state.catalog_readiness(utcnow())


runtime.on_start.append(load_state)
runtime.on_stop.append(stop_sync)
# Ready means able to route: every venue's catalog synced once by this process (or given up on as down).
runtime.ready_when("catalogs", catalogs_ready)


# Intents and executions come in bursts: a batch of them shares one transaction (inbox rows and all); a batch
# of intents is routed in process and written in one statement, which is its transaction.
@runtime.batch_subscriber(Intent, together=True, one_statement=True)
async def on_intents(tx: Tx, received: list[Received[Intent]]) -> None:
    await handlers.intents_received(tx, received, state, utcnow())


# Executions gather for up to 100 ms: a fill only settles its intent, and a failure's next attempt can wait that long.
@runtime.batch_subscriber(Execution, gather_ms=100)
async def on_execution(tx: Tx, event: Execution) -> None:
    await handlers.execution_received(tx, event, state, utcnow())


@runtime.subscriber(RoutingConfig)
async def on_config(event: RoutingConfig) -> None:
    await runtime.once(event, handlers.config_changed, state)


app = runtime.http_app(router_status(state), title="Vprime router (Agent Where)")
