"""Wiring: the router's subscribers. No logic here."""

from vprime_shared.contracts import Intent, Order, RoutingDecision
from vprime_shared.runtime import ServiceRuntime

from vprime_router import handlers
from vprime_router.domain.catalog import Catalog
from vprime_router.settings import RouterSettings

settings = RouterSettings()
runtime = ServiceRuntime(settings, package="vprime_router")
runtime.publishes(RoutingDecision, Order)
catalog = Catalog.from_file(settings.market_catalog_path)


@runtime.subscriber(Intent)
async def on_intent(event: Intent) -> None:
    await runtime.once(event, handlers.intent_received, catalog)


app = runtime.http_app(title="Vprime router (Agent Where)")
