"""Wiring: query's subscribers (one consumer of every fact topic, projecting into the read models), the live
decision feed (this instance's own reader of the decisions), the web app and the HTTP API."""

from pathlib import Path

from fastapi.staticfiles import StaticFiles

from vprime_shared.contracts import Event, MarketTick, RoutingDecision
from vprime_shared.runtime import ServiceRuntime
from vprime_shared.unit_of_work import Tx

from vprime_query import api, projections, web
from vprime_query.projections import PROJECTIONS
from vprime_query.access import TokenCheck
from vprime_query.settings import QuerySettings
from vprime_query.stream import DecisionFeed, DecisionTail

STATIC = Path(__file__).parent / "static"

runtime = ServiceRuntime(QuerySettings(), package="vprime_query")
feed = DecisionFeed()
tail = DecisionTail(runtime.settings.kafka_bootstrap_servers, feed, RoutingDecision.TOPIC)


async def start_tail(_: ServiceRuntime) -> None:
    await tail.start()


async def stop_tail(_: ServiceRuntime) -> None:
    await tail.stop()


runtime.on_start.append(start_tail)
runtime.on_stop.append(stop_tail)


# One consumer for every fact topic: a poll's events of all kinds share one transaction, rather than a consumer
# and a transaction per topic. Every projection is an idempotent upsert keyed by the fact's id, so a redelivery
# rewrites the same row: no inbox needed. Facts of different topics were never ordered relative to each other.
# Batches gather for up to 100 ms: a dashboard does not tell 100 ms from none, and the database work is per batch.
@runtime.batch_subscriber(*PROJECTIONS, group="read-models", inbox=False, gather_ms=100)
async def project(tx: Tx, event: Event) -> None:
    PROJECTIONS[type(event)](tx, event)


@runtime.subscriber(MarketTick)
async def on_tick(event: MarketTick) -> None:
    # Latest price per venue and instrument, for unrealised PnL: idempotent by timestamp, no inbox row per tick.
    await projections.tick(runtime.pool, event)


app = runtime.http_app(api.router, title="Vprime query API", description="Stats, routing history, signal timelines and the dashboard.")
app.state.runtime = runtime
app.state.feed = feed
settings = runtime.settings
app.state.token_check = (TokenCheck(settings.control_url, ttl_s=settings.token_cache_s)
                         if settings.read_access == "token" else None)
app.mount("/static", StaticFiles(directory=STATIC), name="static")
web.install(app, settings, STATIC)
