"""`make reliability`: stream signals through the whole system while killing it, then count.

On its own infrastructure and stack (ports 2xxxx, state in .vprime/reliability): several agents with
several deployments each (some trading on the simulated venues, some on paper) take a stream of
signals while each pipeline service is killed with SIGKILL and restarted in turn, then Kafka and then
PostgreSQL are restarted. Afterwards every (signal, deployment) must have exactly one intent and one
terminal outcome, no intent more than one position, no client order id more than one venue order,
and the read model must agree. Prints a table and writes it as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal as signals
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from vprime_shared.contracts import RequestedVenue, RiskModel, Side, Signal, SignalOrigin, SizeModel
from vprime_shared.db import SERVICES

from vprime_local.infra import LocalInfra, pid_alive, say
from vprime_local.stack import ServiceStack, operator_headers

PORTS = {"control": 28000, "query": 28001, "signal": 28002, "policy": 28003, "router": 28004, "executor": 28005, "simulator": 28010}
INSTRUMENTS = ["ETH", "BTC", "SOL", "GOLD", "EURUSD", "LINK", "DOGE", "AVAX", "MAGIC"]  # MAGIC: on no enabled venue


@dataclass
class Scenario:
    name: str
    events: int = 0
    lost: int = 0
    duplicated: int = 0
    recover_s: float = 0.0
    notes: list[str] = field(default_factory=list)


async def run(signals_total: int = 2000, rate: float = 40.0, home: Path | None = None) -> dict:
    home = home or Path.cwd() / ".vprime" / "reliability"
    infra = LocalInfra(home=home, kafka_port=29192, kafka_controller_port=29193, pg_port=25532)
    await asyncio.to_thread(infra.down)
    for state in ("kafka-data", "pg-data", "logs", "run"):
        shutil.rmtree(home / state, ignore_errors=True)
    await asyncio.to_thread(infra.up)
    stack = ServiceStack(home=home, bootstrap=infra.bootstrap, database_urls={s: infra.database_url(s) for s in SERVICES},
                         ports=PORTS, extra_env={"OUTBOX_POLL_INTERVAL_S": "0.5", "RECOVERY_INTERVAL_S": "1", "RECOVERY_GRACE_S": "2",
                                                 "SYNC_INTERVAL_S": "2", "SIMULATOR_FEED_INSTRUMENTS": "", "LOG_LEVEL": "WARNING"})
    report: list[Scenario] = []
    try:
        await asyncio.to_thread(stack.up, 180)
        async with httpx.AsyncClient(timeout=20, headers=operator_headers(home)) as http:
            deployments = await _setup(http, stack)
            scenario = Scenario(f"{signals_total} signals, SIGKILL each service in turn, restart Kafka, restart Postgres")
            started = time.monotonic()
            sent = await _stream(http, stack, infra, deployments, signals_total, rate, scenario)
            settle_started = time.monotonic()
            audit = await _audit(http, stack, infra, deployments, sent, timeout_s=600)
            scenario.events = audit["expected"]
            scenario.lost = audit["missing"]
            scenario.duplicated = audit["duplicate_intents"] + audit["duplicate_positions"] + audit["duplicate_venue_orders"]
            scenario.recover_s = round(time.monotonic() - settle_started, 1)
            scenario.notes = [f"{k}: {v}" for k, v in audit.items()]
            scenario.notes.append(f"stream took {settle_started - started:.1f}s")
            report.append(scenario)
    finally:
        await asyncio.to_thread(stack.down)
        await asyncio.to_thread(infra.down)
    result = {"scenarios": [s.__dict__ for s in report]}
    (home / "reliability.json").write_text(json.dumps(result, indent=2))
    _print(report)
    say(f"report written to {home / 'reliability.json'}")
    return result


async def _setup(http: httpx.AsyncClient, stack: ServiceStack) -> list[dict]:
    control, sim = stack.url("control"), stack.url("simulator")
    deployments = []
    for a in range(4):
        agent = (await http.post(f"{control}/api/v3/agents/create", json={
            "creator_wallet": f"0xR{a}", "name": f"reliability {a}", "profit_receiver_address": f"0xR{a}"})).raise_for_status().json()["agent"]
        for d in range(2):
            venues = ["HYPERLIQUID", "OSTIUM"] if d == 0 else ["OSTIUM", "GMX"]
            dep = (await http.post(f"{control}/api/v3/agents/deploy", json={
                "agent_id": agent["id"], "user_wallet": f"0xU{a}{d}", "enabled_venues": venues})).raise_for_status().json()["deployment"]
            if a % 2 == 0:  # half trade on the (simulated) venues with agent wallets, half on paper
                for venue in venues:
                    w = (await http.post(f"{control}/api/v3/deployments/{dep['id']}/agent-wallets/{venue}")).raise_for_status().json()
                    await http.post(f"{sim}/admin/accounts", json={"venue": venue, "address": w["address"], "equity_usd": 1_000_000})
            deployments.append({"agent_id": agent["id"], "deployment_id": dep["id"]})
    await asyncio.sleep(3)  # registry events reach policy, executor
    return deployments


async def _stream(http: httpx.AsyncClient, stack: ServiceStack, infra: LocalInfra, deployments: list[dict], total: int,
                  rate: float, scenario: Scenario) -> list[Signal]:
    agents = sorted({d["agent_id"] for d in deployments})
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, enable_idempotence=True)
    await producer.start()
    faults = ["policy", "router", "executor", "query", "signal", "control", "KAFKA", "POSTGRES"]
    every = max(total // (len(faults) + 1), 1)
    sent: list[Signal] = []
    try:
        for i in range(total):
            s = Signal(signal_id=uuid.uuid4(), agent_id=uuid.UUID(agents[i % len(agents)]), instrument=INSTRUMENTS[i % len(INSTRUMENTS)],
                       side=Side.LONG if i % 3 else Side.SHORT, size_model=SizeModel(value=1), risk_model=RiskModel(type="none"),
                       confidence=0.9, requested_venue=RequestedVenue.MULTI, origin=SignalOrigin.MANUAL)
            while True:
                try:
                    await producer.send_and_wait(Signal.TOPIC, s.model_dump_json().encode(), key=str(s.agent_id).encode())
                    break
                except Exception:  # Kafka is restarting: the producer waits, nothing is dropped
                    await asyncio.sleep(0.5)
            sent.append(s)
            if i and i % every == 0 and faults:
                target = faults.pop(0)
                await asyncio.to_thread(_inflict, target, stack, infra)
                say(f"{i}/{total} signals sent; {target} {'restarted' if target.isupper() else 'killed (SIGKILL) and restarted'}")
            await asyncio.sleep(1 / rate)
    finally:
        await producer.stop()
    return sent


def _inflict(target: str, stack: ServiceStack, infra: LocalInfra) -> None:
    if target == "KAFKA":
        from vprime_local.infra import stop_pid

        stop_pid(infra.run / "kafka.pid", "kafka")
        infra.start_kafka()
    elif target == "POSTGRES":
        infra.stop_postgres()
        infra.start_postgres()
    else:
        pid = pid_alive(stack.pid_file(target))
        if pid:
            os.kill(pid, signals.SIGKILL)
            while pid_alive(stack.pid_file(target)):
                time.sleep(0.05)
        stack.pid_file(target).unlink(missing_ok=True)
        stack.start(target)
        stack.wait_healthy(120, (target,))


async def _audit(http: httpx.AsyncClient, stack: ServiceStack, infra: LocalInfra, deployments: list[dict], sent: list[Signal],
                 timeout_s: float) -> dict:
    pool = await asyncpg.create_pool(infra.admin_url.rsplit("/", 1)[0] + "/vprime", min_size=1, max_size=2)
    per_agent = {}
    for d in deployments:
        per_agent.setdefault(d["agent_id"], []).append(d["deployment_id"])
    expected = sum(len(per_agent[str(s.agent_id)]) for s in sent)
    ids = [s.signal_id for s in sent]
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            decided = await pool.fetchval("SELECT count(*) FROM policy.decisions WHERE signal_id = ANY($1::uuid[])", ids)
            ended = await pool.fetchval(
                """SELECT count(*) FROM query.intents i WHERE i.signal_id = ANY($1::uuid[]) AND (
                     i.status = 'REJECTED' OR EXISTS (SELECT 1 FROM query.positions p JOIN query.orders o USING (order_id)
                                                      WHERE o.intent_id = i.intent_id)
                     OR EXISTS (SELECT 1 FROM query.routing_decisions d WHERE d.intent_id = i.intent_id AND d.selected_venue IS NULL
                                AND d.attempt = (SELECT max(attempt) FROM query.routing_decisions x WHERE x.intent_id = i.intent_id)))""",
                ids)
            if (decided >= expected and ended >= expected) or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        dup_intents = await pool.fetchval(
            "SELECT count(*) FROM (SELECT signal_id, deployment_id FROM policy.decisions WHERE signal_id = ANY($1::uuid[]) "
            "GROUP BY 1, 2 HAVING count(*) > 1) x", ids)
        dup_positions = await pool.fetchval(
            "SELECT count(*) FROM (SELECT o.intent_id FROM executor.positions p JOIN executor.orders o USING (order_id) "
            "GROUP BY 1 HAVING count(*) > 1) x")
        orders = (await http.get(f"{stack.url('simulator')}/admin/orders")).json()["count"]
        client_ids = await pool.fetchval("SELECT count(DISTINCT client_order_id) FROM executor.orders WHERE mode = 'venue'")
        query_positions = await pool.fetchval("SELECT count(*) FROM query.positions WHERE signal_id = ANY($1::uuid[])", ids)
        executor_positions = await pool.fetchval(
            "SELECT count(*) FROM executor.positions p JOIN executor.orders o USING (order_id) JOIN policy.decisions d "
            "ON d.intent_id = o.intent_id WHERE d.signal_id = ANY($1::uuid[])", ids)
        return {"expected": expected, "decided": decided, "ended": ended, "missing": max(expected - ended, 0),
                "duplicate_intents": dup_intents, "duplicate_positions": dup_positions,
                "duplicate_venue_orders": max(orders - client_ids, 0), "venue_orders": orders,
                "read_model_positions": query_positions, "executor_positions": executor_positions,
                "read_model_agrees": query_positions == executor_positions}
    finally:
        await pool.close()


def _print(report: list[Scenario]) -> None:
    print(f"\n{'scenario':<90} {'events':>7} {'lost':>5} {'dup':>5} {'recover s':>10}")
    for s in report:
        print(f"{s.name:<90} {s.events:>7} {s.lost:>5} {s.duplicated:>5} {s.recover_s:>10}")
        for note in s.notes:
            print(f"    {note}")


if __name__ == "__main__":
    asyncio.run(run(int(os.environ.get("RELIABILITY_SIGNALS", 2000))))
