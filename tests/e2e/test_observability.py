"""Metrics on every service and structured logs with trace ids."""

from __future__ import annotations

import json

import httpx
import pytest

from vprime_local.stack import ServiceStack
from vprime_shared.db import SERVICES
from tests.conftest import eventually
from tests.e2e.helpers import create_agent, deploy, settled_timeline, signal

pytestmark = pytest.mark.integration

EXPECTED = {
    "router": ["vprime_routing_decisions_total{", "vprime_routing_decision_seconds_bucket{", 'outcome="no_venue"'],
    "policy": ['vprime_policy_rejections_total{rule="deployment_paused"}'],
    "executor": ["vprime_orders_total{", "vprime_open_positions{"],
}


async def test_metrics_name_what_operators_watch(http: httpx.AsyncClient, control_url: str, query_url: str, stack: ServiceStack) -> None:
    agent = await create_agent(http, control_url, name="metrics")
    deployment = await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID"])
    for symbol in ("ETH", "MAGIC"):
        await settled_timeline(http, query_url, (await signal(http, control_url, agent["id"], symbol))["id"])
    await http.post(f"{control_url}/api/v3/deployments/{deployment['id']}/pause")

    async def paused_rejection() -> bool:
        s = await signal(http, control_url, agent["id"], "BTC")
        t = await settled_timeline(http, query_url, s["id"])
        return t["signal"]["status"] == "REJECTED"

    await eventually(paused_rejection, what="a rejection by the paused deployment")

    async def all_present() -> dict | None:
        found = {s: (await http.get(f"{stack.url(s)}/metrics")).text for s in SERVICES}
        ok = all(m in found[s] for s, ms in EXPECTED.items() for m in ms) and all(
            "vprime_consumer_lag{" in text and "vprime_outbox_backlog{" in text for s, text in found.items())
        return found if ok else None

    texts = await eventually(all_present, timeout=45, what="every expected metric")
    assert "faststream_received_messages_total" in texts["policy"]  # FastStream's own middleware
    lag_lines = [line for line in texts["query"].splitlines() if line.startswith("vprime_consumer_lag{")]
    assert any('topic="positions.v1"' in line for line in lag_lines)
    # The outbox relay counts what it publishes, per topic: policy published the intents above.
    assert any(line.startswith('vprime_outbox_published_total{') and 'topic="intents.v1"' in line and float(line.split()[-1]) >= 2
               for line in texts["policy"].splitlines())


def test_logs_are_json_with_trace_ids_and_no_secrets(stack: ServiceStack) -> None:
    traced = 0
    for service in SERVICES:
        lines = (stack.home / "logs" / f"{service}.log").read_text().splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        assert records, f"{service} wrote no JSON log lines"
        assert all({"ts", "level", "service", "msg"} <= r.keys() for r in records)
        traced += sum(1 for r in records if "trace_id" in r and len(r["trace_id"]) == 32)
    assert traced > 0  # log lines written inside a span carry its trace and span ids


async def test_a_service_at_info_logs_its_decisions_not_a_line_per_message(http: httpx.AsyncClient, control_url: str,
                                                                           query_url: str, stack: ServiceStack) -> None:
    # At INFO (the stack's level here) a service logs what it decided, not two lines for every record it reads
    # (FastStream's, at DEBUG) nor one for every HTTP call it makes (httpx's, at WARNING).
    agent = await create_agent(http, control_url, name="quiet logs")
    await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID"])
    await settled_timeline(http, query_url, (await signal(http, control_url, agent["id"], "ETH"))["id"])

    async def ticks_consumed() -> float | None:  # the signal service reads the live feed (the busiest topic)
        text = (await http.get(f"{stack.url('signal')}/metrics")).text
        counts = [float(line.split()[-1]) for line in text.splitlines()
                  if line.startswith("faststream_received_messages_total{") and "market.ticks.v1" in line]
        return sum(counts) if sum(counts) >= 3 else None

    await eventually(ticks_consumed, timeout=30, what="the signal service consuming ticks")
    logged = {service: [json.loads(line) for line in (stack.home / "logs" / f"{service}.log").read_text().splitlines()
                        if line.startswith("{")] for service in SERVICES}
    per_message = {s: sum(r["msg"] in ("Received", "Processed") or r["logger"] == "httpx" for r in records)
                   for s, records in logged.items()}
    assert per_message == dict.fromkeys(SERVICES, 0)  # nor a line per venue call (the router syncs every second)
    assert any(r["level"] == "INFO" and r["msg"].startswith("intent ") for r in logged["router"])  # its decisions


def test_a_stack_on_a_new_broker_starts_without_kafka_errors(stack: ServiceStack) -> None:
    # The suite's broker is new. Its offsets topic is made when a group coordinator is first asked for, and the
    # services ask only once `ensure_topics` has waited for one (none logs COORDINATOR_NOT_AVAILABLE meanwhile); no
    # process publishes to a topic before it is made (test_topics.py: the simulator's feed, which starts first).
    errors = [line for process in (*SERVICES, "simulator") for line in (stack.home / "logs" / f"{process}.log").read_text().splitlines()
              if '"level":"ERROR"' in line and ("group_coordinator" in line or "not found in cluster metadata" in line)]
    assert errors == []
