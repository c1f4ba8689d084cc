"""Wiring: query's subscribers (one per fact topic, each projecting into the read models) and HTTP app."""

from vprime_shared.contracts import Event
from vprime_shared.kafka import consumer_options
from vprime_shared.runtime import ServiceRuntime

from vprime_query import api
from vprime_query.projections import PROJECTIONS, Projection
from vprime_query.settings import QuerySettings

runtime = ServiceRuntime(QuerySettings(), package="vprime_query")
broker = runtime.broker


def subscribe(model: type[Event], project: Projection) -> None:
    async def handle(event: model) -> None:  # type: ignore[valid-type]
        async with runtime.uow.once(event) as tx:
            if tx is not None:
                await project(tx.conn, event)

    handle.__name__ = f"project_{model.__name__}"
    broker.subscriber(model.TOPIC, **consumer_options("query", model.TOPIC))(handle)


for _model, _project in PROJECTIONS.items():
    subscribe(_model, _project)

app = runtime.http_app(api.router, title="Vprime query API", description="Stats, routing history and signal timelines.")
app.state.runtime = runtime
