"""OpenTelemetry for every service, and W3C trace context carried across Kafka and the outbox.

Tracing is on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set: spans go out over
OTLP/HTTP in batches, with `service.name` = `vprime-<service>`, and asyncpg, httpx and FastAPI are
instrumented; FastStream's Kafka telemetry middleware makes the consumer spans (and the producer spans
of what the broker publishes directly), the outbox relay the producer spans of events, and both carry
`traceparent` in message headers. Off, the API's no-op tracer costs nothing, and neither FastStream's
middleware nor a batch consumer makes a span per record.

A handler's span context is stored with each outbox row and restored by the relay, so the publish
that happens later, from another task, still belongs to the same trace.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

_provider = None


def tracing_enabled() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def configure_tracing(service: str) -> bool:
    """Install the tracer provider and instrumentations once per process; False when tracing is off."""
    global _provider
    if _provider is not None:
        return True
    if not tracing_enabled():
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    _provider = TracerProvider(resource=Resource.create({"service.name": f"vprime-{service}", "service.namespace": "vprime"}))
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(_provider)
    AsyncPGInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
    return True


def instrument_app(app: object) -> None:
    if _provider is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="health,metrics")


def shutdown_tracing() -> None:
    if _provider is not None:
        _provider.shutdown()  # flush what is still batched


def current_trace_headers() -> dict[str, str]:
    """The headers that carry the current trace on; none outside a trace (asked per event: the common case with
    tracing off is answered without running the propagators)."""
    if not trace.get_current_span().get_span_context().is_valid:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextlib.contextmanager
def attached(headers: dict[str, str]) -> Iterator[None]:
    """Run a block inside the trace context that `headers` carry (if any)."""
    if not headers:
        yield
        return
    token = otel_context.attach(propagate.extract(headers))
    try:
        yield
    finally:
        otel_context.detach(token)
