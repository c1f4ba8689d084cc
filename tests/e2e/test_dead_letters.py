"""A bad event goes to its topic's DLQ with the reason, and the consumer keeps going."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.conftest import Endpoints
from tests.e2e.helpers import create_agent, deploy, settled_timeline, signal

pytestmark = pytest.mark.integration


async def test_malformed_signals_are_dead_lettered_and_consumers_continue(
    http: httpx.AsyncClient, control_url: str, query_url: str, producer: AIOKafkaProducer, infra: Endpoints
) -> None:
    agent = await create_agent(http, control_url, name="dlq")
    await deploy(http, control_url, agent["id"], enabled_venues=["HYPERLIQUID"])
    marker = uuid.uuid4().hex
    valid = {
        "signal_id": str(uuid.uuid4()), "agent_id": agent["id"], "instrument": "ETH", "side": "LONG",
        "size_model": {"type": "percentage", "value": 5}, "risk_model": {"type": "none", "leverage": 1},
        "confidence": 0.5, "requested_venue": "MULTI", "origin": "MANUAL",
    }
    bad = {
        "not json": b"{this is not json " + marker.encode(),
        "wrong type": json.dumps({**valid, "confidence": "very", "source_tweets": [marker]}).encode(),
        "unknown field": json.dumps({**valid, "leverage_hint": 3, "source_tweets": [marker]}).encode(),
        "missing field": json.dumps({k: v for k, v in valid.items() if k != "side"} | {"source_tweets": [marker]}).encode(),
        "newer schema": json.dumps({**valid, "schema_version": 2, "source_tweets": [marker]}).encode(),
        "oversized": json.dumps({**valid, "source_tweets": [marker, "x" * 600_000]}).encode(),
        "unknown agent": json.dumps({**valid, "signal_id": str(uuid.uuid4()), "agent_id": str(uuid.uuid4()),
                                     "source_tweets": [marker]}).encode(),
    }
    # Every consumer of signals.v1 refuses a malformed event; only control, which owns the agent
    # registry, refuses a well-formed one for an agent that does not exist (policy rejects it with a reason).
    refused_by = {name: {"control", "policy", "query"} for name in bad} | {"unknown agent": {"control"}}
    for payload in bad.values():
        await producer.send_and_wait("signals.v1", payload, key=agent["id"].encode())

    # The consumers are still going: a good signal behind the bad ones goes all the way.
    after = await signal(http, control_url, agent["id"], "ETH")
    timeline = await settled_timeline(http, query_url, after["id"])
    assert timeline["signal"]["status"] == "EXECUTED"

    consumer = AIOKafkaConsumer("signals.v1.dlq", bootstrap_servers=infra.bootstrap, auto_offset_reset="earliest",
                                group_id=f"test-dlq-{marker}")
    await consumer.start()
    found: dict[bytes, set[str]] = {}
    errors: dict[bytes, str] = {}
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while asyncio.get_running_loop().time() < deadline and (
                len(found) < len(bad) or any(len(found[p]) < len(refused_by[n]) for n, p in bad.items() if p in found)):
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    if marker.encode() not in record.value:
                        continue
                    headers = {k: v.decode() for k, v in record.headers}
                    found.setdefault(record.value, set()).add(headers["x-dlq-service"])
                    errors[record.value] = headers["x-dlq-error"]
                    assert headers["x-dlq-source"].startswith("signals.v1/")
                    assert headers["x-dlq-first-seen"]
    finally:
        await consumer.stop()
    for name, payload in bad.items():
        assert payload in found, f"{name} was not dead-lettered"
        assert found[payload] == refused_by[name], (name, found[payload])  # each consumer dead-letters on its own
    assert "confidence" in errors[bad["wrong type"]]
    assert "schema_version" in errors[bad["newer schema"]]
    assert "oversized" in errors[bad["oversized"]]
    assert "does not exist" in errors[bad["unknown agent"]]
    assert "leverage_hint" in errors[bad["unknown field"]]
    assert "side" in errors[bad["missing field"]]
