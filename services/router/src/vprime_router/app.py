"""Wiring: the router's subscribers. No logic here."""

from vprime_shared.contracts import Intent, Order, RoutingDecision
from vprime_shared.kafka import consumer_options
from vprime_shared.runtime import ServiceRuntime

from vprime_router import handlers
from vprime_router.domain.catalog import Catalog
from vprime_router.settings import RouterSettings

settings = RouterSettings()
runtime = ServiceRuntime(settings, package="vprime_router")
broker = runtime.broker
runtime.publishes(RoutingDecision, Order)
catalog = Catalog.from_file(settings.market_catalog_path)


@broker.subscriber(Intent.TOPIC, **consumer_options("router", Intent.TOPIC))
async def on_intent(event: Intent) -> None:
    async with runtime.uow.once(event) as tx:
        if tx is not None:
            await handlers.intent_received(tx, event, catalog)


app = runtime.http_app(title="Vprime router (Agent Where)")
