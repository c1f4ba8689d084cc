"""One trace per trade: from the manual signal's HTTP request through control, policy, router,
executor and on to the query read model, with producer → consumer links across every hop."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import eventually
from tests.e2e.helpers import create_agent, deploy, settled_timeline, signal
from tests.otlp import SpanSink

pytestmark = pytest.mark.integration
CONSUMER, PRODUCER, SERVER = 5, 4, 2  # OTLP span kinds


async def test_one_trace_spans_the_whole_trade(http: httpx.AsyncClient, control_url: str, query_url: str, spans: SpanSink) -> None:
    agent = await create_agent(http, control_url, name="traced")
    await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID"])
    s = await signal(http, control_url, agent["id"], "ETH")
    await settled_timeline(http, query_url, s["id"])

    def request_span():  # type: ignore[no-untyped-def]
        return next((x for x in spans.snapshot() if x.service == "vprime-control" and x.kind == SERVER
                     and "signals/generate" in x.name and spans.trace(x.trace_id)
                     and any(y.service == "vprime-executor" for y in spans.trace(x.trace_id))), None)

    async def found():  # type: ignore[no-untyped-def]
        root = request_span()
        if root is None:
            return None
        return root if CHAIN <= hops_of(spans.trace(root.trace_id)) else None

    root = await eventually(found, timeout=30, what="the trade's spans from five services")
    trace_spans = spans.trace(root.trace_id)
    by_id = {x.span_id: x for x in trace_spans}
    services = {x.service for x in trace_spans}
    assert EXPECTED <= services, services
    # Every consumer span hangs off a producer span (control also consumes its own signals.v1).
    for consumer in (x for x in trace_spans if x.kind == CONSUMER):
        parent = by_id.get(consumer.parent_span_id)
        assert parent is not None, f"{consumer.service} {consumer.name} has no parent in the trace"
        assert parent.kind == PRODUCER, (parent, consumer)
    assert CHAIN <= hops_of(trace_spans)
    # The root is the HTTP request; the outbox relay's publish continues its trace rather than starting one.
    assert root.parent_span_id == ""


EXPECTED = {"vprime-control", "vprime-policy", "vprime-router", "vprime-executor", "vprime-query"}
CHAIN = {("vprime-control", "vprime-policy"), ("vprime-policy", "vprime-router"), ("vprime-router", "vprime-executor"),
         ("vprime-executor", "vprime-query")}


def hops_of(trace_spans):  # type: ignore[no-untyped-def]
    """(producer's service, consumer's service) for every consumer span whose parent is in the trace."""
    by_id = {x.span_id: x for x in trace_spans}
    return {(by_id[x.parent_span_id].service, x.service) for x in trace_spans if x.kind == CONSUMER and x.parent_span_id in by_id}
