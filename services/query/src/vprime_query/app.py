"""Wiring: query's subscribers (one per fact topic, each projecting into the read models), the live
decision feed, the dashboard and the HTTP API."""

from pathlib import Path

from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from vprime_shared.contracts import Event, MarketTick, RoutingDecision
from vprime_shared.runtime import ServiceRuntime
from vprime_shared.unit_of_work import Tx

from vprime_query import api, projections
from vprime_query.projections import PROJECTIONS, Projection
from vprime_query.settings import QuerySettings
from vprime_query.stream import DecisionFeed

STATIC = Path(__file__).parent / "static"

runtime = ServiceRuntime(QuerySettings(), package="vprime_query")
feed = DecisionFeed()


def publish_decisions(decisions: list[RoutingDecision]) -> None:
    for decision in decisions:
        feed.publish(decision.model_dump(mode="json"))


def subscribe(model: type[Event], project: Projection) -> None:
    # Projections cost a transaction each, not much more: a batch of events shares one. Every projection is an
    # idempotent upsert keyed by the fact's id, so a redelivery rewrites the same row: no inbox needed.
    async def handle(tx: Tx, event: Event) -> None:
        project(tx, event)

    handle.__name__ = f"project_{model.__name__}"
    runtime.batch_subscriber(model, after_commit=publish_decisions if model is RoutingDecision else None, inbox=False)(handle)


for _model, _project in PROJECTIONS.items():
    subscribe(_model, _project)


@runtime.subscriber(MarketTick)
async def on_tick(event: MarketTick) -> None:
    # Latest price per venue and instrument, for unrealised PnL: idempotent by timestamp, no inbox row per tick.
    await projections.tick(runtime.pool, event)


app = runtime.http_app(api.router, title="Vprime query API", description="Stats, routing history, signal timelines and the dashboard.")
app.state.runtime = runtime
app.state.feed = feed
app.mount("/static", StaticFiles(directory=STATIC), name="static")


@app.get("/", include_in_schema=False)
async def dashboard() -> FileResponse:
    return FileResponse(STATIC / "index.html")
