"""What every service process is made of: settings → Postgres pool (+ migrations) → Kafka broker
(+ topics) → outbox relay → HTTP (health, metrics, AsyncAPI, and the service's own routes).

A service's `app.py` creates one `ServiceRuntime`, declares its subscribers on `runtime.broker`,
and hands `runtime.http_app(...)` to uvicorn. SIGTERM stops HTTP, then consumers, then the relay
(after a last flush), then the pool.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar, Union

import asyncpg
import uvicorn
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from faststream.specification import AsyncAPI
from prometheus_client import REGISTRY, CONTENT_TYPE_LATEST, Gauge, generate_latest
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vprime_shared import db, logs
from vprime_shared.batches import BatchSubscription
from vprime_shared.contracts import Event
from vprime_shared.kafka import DeadLetters, consumer_lag, consumer_options, ensure_topics, make_broker, make_outbox_producer
from vprime_shared.outbox import OutboxRelay
from vprime_shared.settings import ServiceSettings
from vprime_shared.telemetry import configure_tracing, instrument_app, shutdown_tracing
from vprime_shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

OUTBOX_BACKLOG = Gauge("vprime_outbox_backlog", "Outbox rows not yet published", ["service"])
CONSUMER_LAG = Gauge("vprime_consumer_lag", "Messages not yet consumed, per consumer group and topic", ["service", "group", "topic"])

GATHER_BYTES = 256 * 1024  # a gathering consumer's fetch returns early once this much has arrived
Hook = Callable[["ServiceRuntime"], Awaitable[None]]
ReadinessCheck = Callable[[], Awaitable[tuple[bool, dict[str, object]]]]  # (ready, what /health shows of it)
E = TypeVar("E", bound=Event)
R = TypeVar("R")


class ServiceRuntime:
    def __init__(self, settings: ServiceSettings, package: str) -> None:
        self.settings = settings
        self.name = settings.service_name
        configure_tracing(self.name)  # before the broker: its telemetry middleware takes the provider
        self.package = package
        self.dead_letters = DeadLetters(self.name)
        self.broker = make_broker(settings.kafka_bootstrap_servers, self.name, self.dead_letters,
                                  linger_ms=settings.kafka_linger_ms)
        self._pool: asyncpg.Pool | None = None
        self._uow: UnitOfWork | None = None
        self.relay: OutboxRelay | None = None
        self.ready = False
        self.on_start: list[Hook] = []
        self.on_stop: list[Hook] = []
        self.readiness_checks: dict[str, ReadinessCheck] = {}
        self.groups: dict[str, list[str]] = {}  # consumer group → its topics
        self._lag_task: asyncio.Task[None] | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError(f"{self.name} has not started")
        return self._pool

    @property
    def uow(self) -> UnitOfWork:
        if self._uow is None:
            raise RuntimeError(f"{self.name} has not started")
        return self._uow

    def subscriber(self, event: type[Event]) -> Any:
        """A typed FastStream subscriber for `event`'s topic in this service's consumer group."""
        options = consumer_options(self.name, event.TOPIC)
        self.groups[options["group_id"]] = [event.TOPIC]
        return self.broker.subscriber(event.TOPIC, **options)

    def batch_subscriber(self, *events: type[E], group: str | None = None, max_records: int = 500,
                         after_commit: Callable[[list[E]], Awaitable[None] | None] | None = None, inbox: bool = True,
                         together: bool = False, one_statement: bool = False,
                         gather_ms: int = 0) -> Callable[[Callable[..., Awaitable[None]]], Any]:
        """Like `subscriber` + `once`, for `handler(tx, event)`, but a batch of events per transaction
        (see `vprime_shared.batches`): for consumers whose cost is the transaction, not the event.
        Several event types make one consumer of all their topics (named `group`), whose batches mix them.
        `after_commit(events)` runs once the batch's transaction has committed, with the events it handled.
        `inbox=False` is for handlers that are idempotent by themselves: redeliveries are handled again.
        `together=True` hands the batch's new events to `handler(tx, received)` at once (`Received`: each event with
        its trace), for handlers that do their work in set-based statements rather than a round trip per event.
        `one_statement=True` (with `together`) is for a handler that writes the batch's inbox rows (`tx.inbox`, unless
        `inbox=False`), state and outbox rows (`tx.outgoing`) in one statement (after reads of its own, if it needs
        them): it is handed every event of the batch, and no explicit transaction is opened (`UnitOfWork.statement`).
        `gather_ms` is for consumers off the path from a signal to its position (records, read models): the broker
        holds each fetch up to that long for a fuller batch, so that a steady stream makes fewer, larger
        transactions than one per few events. The others are on that path, and the broker holds their empty fetches
        for `KAFKA_FETCH_MAX_WAIT_MS` only."""
        if len(events) > 1 and group is None:
            raise ValueError("a consumer of several topics needs a group name")
        options = consumer_options(self.name, group or events[0].TOPIC)
        if gather_ms:
            options.update(fetch_max_wait_ms=gather_ms, fetch_min_bytes=GATHER_BYTES)
        else:  # on a signal's way to its position (see `KAFKA_FETCH_MAX_WAIT_MS`)
            options.update(fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms)
        topics = [e.TOPIC for e in events]
        self.groups[options["group_id"]] = topics

        # The real item type (for FastStream's AsyncAPI document), set below: annotations are strings in this module.
        item = events[0] if len(events) == 1 else Union[events]  # type: ignore[valid-type]  # noqa: UP007

        def register(handler: Callable[..., Awaitable[None]]) -> Any:
            batch = BatchSubscription(self, events, handler, after_commit, inbox=inbox, together=together,
                                      one_statement=one_statement)

            async def consume(events: list[Event]) -> None:
                await batch.handle(events)

            consume.__annotations__ = {"events": list[item], "return": None}  # type: ignore[valid-type]
            consume.__name__ = handler.__name__
            return self.broker.subscriber(*topics, batch=True, max_records=max_records, decoder=batch.decode, **options)(consume)

        return register

    async def once(self, event: E, handler: Callable[..., Awaitable[R]], *args: Any) -> R | None:
        """Run `handler(tx, event, *args)` in one transaction with the inbox: a redelivered event is skipped
        (and None returned)."""
        async with self.uow.once(event) as tx:
            if tx is not None:
                return await handler(tx, event, *args)
        return None

    def publishes(self, *events: type[Event]) -> None:
        """Declare what this service publishes (through its outbox), so AsyncAPI documents it."""
        for event in events:
            self.broker.publisher(event.TOPIC, schema=event, title=f"{event.TOPIC}:{event.__name__}", description=event.__doc__)

    async def start(self) -> None:
        s = self.settings
        self._pool = await db.create_pool(s.database_url, plan_cache_mode=s.pg_plan_cache_mode, plan_lifetime_s=s.pg_plan_lifetime_s)
        applied = await db.migrate(self._pool, self.package)
        self._uow = UnitOfWork(self._pool, consumer=self.name)
        await ensure_topics(s.kafka_bootstrap_servers, partitions=s.kafka_topic_partitions)
        for hook in self.on_start:  # projections that must exist before the first event is handled
            await hook(self)
        await self.broker.start()
        self.dead_letters.commits.start()
        producer = make_outbox_producer(s.kafka_bootstrap_servers, self.name, linger_ms=s.kafka_linger_ms)
        self.relay = OutboxRelay(self._pool, producer, service=self.name, poll_interval_s=s.outbox_poll_interval_s,
                                 on_backlog=lambda n: OUTBOX_BACKLOG.labels(self.name).set(n))
        await self.relay.start()
        self._uow.relay = self.relay  # from now on, what this process commits is handed to it
        self._lag_task = asyncio.create_task(self._sample_lag(), name="consumer-lag")
        settle_heap(s.gc_gen0_threshold)
        self.ready = True
        log.info("%s started (migrations applied: %s)", self.name, applied or "none")

    async def stop(self) -> None:
        self.ready = False
        if self._lag_task is not None:
            self._lag_task.cancel()
        for hook in self.on_stop:
            await hook(self)
        await self.dead_letters.commits.stop()  # commit what was processed while the consumers are still there
        await self.broker.stop()  # stop consuming: in-flight handlers finish (redelivered, and deduplicated, next time)
        if self.relay is not None:
            await self.relay.stop()
        if self._pool is not None:
            await self._pool.close()
        shutdown_tracing()
        log.info("%s stopped", self.name)

    async def _sample_lag(self) -> None:
        every_s = self.settings.consumer_lag_interval_s
        while True:
            try:
                for (group, topic), lag in (await consumer_lag(self.settings.kafka_bootstrap_servers, self.groups)).items():
                    CONSUMER_LAG.labels(self.name, group, topic).set(lag)
            except Exception as exc:  # a metric must never take the service down
                log.debug("consumer lag not sampled: %s", exc)
            await asyncio.sleep(every_s)

    def ready_when(self, name: str, check: ReadinessCheck) -> None:
        """Make `check` part of readiness: `/health` answers 200 only while every check returns (True, ...), and shows
        each one's detail under its name, with `ready` added."""
        if name in ("started", "postgres", "outbox_backlog", "kafka"):
            raise ValueError(f"{name!r} is one of the runtime's own checks")
        self.readiness_checks[name] = check

    async def readiness(self) -> dict[str, object]:
        checks: dict[str, object] = {"started": self.ready}
        try:
            checks["postgres"] = await asyncio.wait_for(self.pool.fetchval("SELECT true"), 2)
            checks["outbox_backlog"] = await self.relay.backlog() if self.relay else None
        except Exception as exc:  # readiness reports, it does not raise
            checks["postgres"] = f"unavailable: {type(exc).__name__}"
        try:
            checks["kafka"] = await self.broker.ping(timeout=2)
        except Exception as exc:
            checks["kafka"] = f"unavailable: {type(exc).__name__}"
        for name, check in self.readiness_checks.items():
            try:
                ok, detail = await asyncio.wait_for(check(), 2)
            except Exception as exc:  # a failing check means not ready, never a failing probe
                ok, detail = False, {"error": f"{type(exc).__name__}: {exc}"}
            checks[name] = {"ready": ok is True, **detail}
        return checks

    def is_ready(self, checks: Mapping[str, object]) -> bool:
        """Started, Postgres and Kafka answer, and every check of the service's own is ready."""
        own = (checks.get(name) for name in self.readiness_checks)
        return (checks["started"] is True and checks["postgres"] is True and checks["kafka"] is True
                and all(isinstance(c, dict) and c.get("ready") is True for c in own))

    def asyncapi(self) -> dict[str, object]:
        return AsyncAPI(self.broker, title=f"Vprime {self.name}", schema_version="3.0.0").to_specification().to_jsonable()

    def http_app(self, *routers: APIRouter, title: str | None = None, description: str = "",
                 body_limits: Mapping[str, int] | None = None) -> FastAPI:
        """The service's HTTP app. A request body may be `HTTP_MAX_BODY_BYTES` long, or what `body_limits` (path
        prefix → bytes) gives the longest prefix of its path (see `BodyLimit`)."""
        runtime = self

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await runtime.start()
            try:
                yield
            finally:
                await runtime.stop()

        app = FastAPI(title=title or f"Vprime {self.name}", description=description, lifespan=lifespan)

        @app.get("/health", tags=["ops"], summary="Liveness and readiness")
        async def health() -> JSONResponse:
            checks = await runtime.readiness()
            ok = runtime.is_ready(checks)
            return JSONResponse({"service": runtime.name, "status": "ok" if ok else "starting", "checks": checks}, status_code=200 if ok else 503)

        @app.get("/health/live", tags=["ops"], summary="Liveness: the process answers")
        async def live() -> dict[str, str]:
            return {"service": runtime.name, "status": "alive"}

        @app.get("/metrics", tags=["ops"], summary="Prometheus metrics")
        async def metrics() -> PlainTextResponse:
            return PlainTextResponse(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

        @app.get("/asyncapi.json", tags=["ops"], summary="AsyncAPI document of this service's topics")
        async def asyncapi() -> dict[str, object]:
            return runtime.asyncapi()

        install_error_handlers(app)
        app.add_middleware(BodyLimit, max_bytes=self.settings.http_max_body_bytes, limits=body_limits)
        instrument_app(app)
        for router in routers:
            app.include_router(router)
        return app

    def serve(self, app: FastAPI) -> None:
        """Run under uvicorn until SIGTERM/SIGINT (uvicorn turns both into a graceful shutdown)."""
        logs.configure(self.name, self.settings.log_level)
        uvicorn.run(
            app,
            host=self.settings.http_host,
            port=self.settings.http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
            loop="uvloop",  # libuv's event loop: less CPU per event than asyncio's own
        )


def settle_heap(gen0_threshold: int) -> None:
    """Take what startup built (modules, schemas, the app) out of the cyclic collector's reach, and let more
    allocations pass between young collections. Under load the collector took 6-24 % of a consumer's CPU
    (perf, 750 intents/s), with this under 0.5 %; the event path makes few reference cycles, so collecting
    less often leaves little garbage waiting."""
    gc.collect()
    gc.freeze()
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)


def _describe(error: dict[str, object]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")  # type: ignore[union-attr]
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))


def install_error_handlers(app: FastAPI) -> None:
    """Errors in the seed's envelope (`success: false`) with a message that says what is wrong."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [dict(e) for e in exc.errors()]
        details = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")} for e in errors]
        return JSONResponse(
            {"success": False, "error": "; ".join(_describe(e) for e in errors), "details": details},
            status_code=422,
        )

    @app.exception_handler(asyncpg.DataError)
    async def unstorable_value(_: Request, exc: asyncpg.DataError) -> JSONResponse:
        # Values that pass the API's types but not the database's: a NUL byte in text, a number out of range.
        return JSONResponse({"success": False, "error": f"a value in the request cannot be used: {exc}"}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"success": False, "error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


class BodyTooLarge(Exception):
    """Raised to the app by `BodyLimit` in place of the chunk that took a body past its limit."""


class BodyLimit:
    """Pure ASGI: a request body longer than its limit is answered 413 (the error envelope) and never reaches the
    app whole. When `Content-Length` declares more, the answer comes at once and nothing of the body is read; otherwise
    bytes are counted as the app reads them, and the read that passes the limit raises `BodyTooLarge` instead of
    handing them over (what the app makes of that is not sent: the 413 is). No more than one server chunk beyond the
    limit is ever held. The limit is `max_bytes`, or that of the longest prefix of the path in `limits`."""

    def __init__(self, app: ASGIApp, max_bytes: int = 64 * 1024, limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = sorted((limits or {}).items(), key=lambda item: len(item[0]), reverse=True)

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await too_large(limit)(scope, receive, send)
            return

        received = 0
        over = False  # the body passed the limit before the app had started its response
        started = False

        async def receive_within_limit() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = not started
                    raise BodyTooLarge(f"request body is larger than {limit:,} bytes")
            return message

        async def send_unless_over(message: Message) -> None:
            nonlocal started
            if over:
                return  # the app's answer to the failed read; the 413 goes instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_within_limit, send_unless_over)
        except Exception:
            if not over:
                raise
        if over:
            await too_large(limit)(scope, receive, send)


def too_large(limit: int) -> JSONResponse:
    """The 413 in the error envelope, saying the limit."""
    detail = {"field": "body", "message": f"at most {limit:,} bytes", "limit_bytes": limit}
    return JSONResponse({"success": False, "error": f"request body is larger than {limit:,} bytes", "details": [detail]},
                        status_code=413)
