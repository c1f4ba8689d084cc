"""W3C trace context carried across Kafka and through the outbox.

A handler's span context is stored with each outbox row and restored by the relay, so
the publish that happens later, from another task, still belongs to the same trace.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import context as otel_context
from opentelemetry import propagate


def current_trace_headers() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextlib.contextmanager
def attached(headers: dict[str, str]) -> Iterator[None]:
    """Run a block inside the trace context that `headers` carry (if any)."""
    token = otel_context.attach(propagate.extract(headers))
    try:
        yield
    finally:
        otel_context.detach(token)
