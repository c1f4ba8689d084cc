"""Wiring: query's subscribers (one per fact topic, each projecting into the read models) and HTTP app."""

from vprime_shared.contracts import Event
from vprime_shared.runtime import ServiceRuntime

from vprime_query import api
from vprime_query.projections import PROJECTIONS, Projection
from vprime_query.settings import QuerySettings

runtime = ServiceRuntime(QuerySettings(), package="vprime_query")


def subscribe(model: type[Event], project: Projection) -> None:
    async def handle(event: model) -> None:  # type: ignore[valid-type]
        await runtime.once(event, lambda tx, e: project(tx.conn, e))

    handle.__name__ = f"project_{model.__name__}"
    runtime.subscriber(model)(handle)


for _model, _project in PROJECTIONS.items():
    subscribe(_model, _project)

app = runtime.http_app(api.router, title="Vprime query API", description="Stats, routing history and signal timelines.")
app.state.runtime = runtime
