"""`make reliability`: stream signals through the whole system while breaking it, then count.

On its own infrastructure and stack (ports 2xxxx, state in .vprime/reliability), each scenario makes
fresh agents and deployments (some trading on the simulated venues through agent wallets, some on
paper) and streams signals into `signals.v1`:

1. baseline: one instance of every service, no faults;
2. scale-out: a second instance of policy, router and executor joins their consumer groups; mid-stream
   the second policy and router stop (SIGTERM) and the second executor is killed (SIGKILL). Its
   outcomes must match the baseline's, signal pattern for signal pattern;
3. venue faults: Hyperliquid down, then Ostium timing out, then GMX rejecting orders, during the
   stream: breakers must open, failover must happen, and no order may be left in flight;
4. crashes: SIGKILL of every service in turn, a Kafka restart and a PostgreSQL restart;
5. bad input: malformed, mistyped, unknown-field, newer-schema, oversized and unknown-agent events:
   each is dead-lettered with its reason by every consumer that refuses it, and a good signal
   behind them still completes;
6. security: each attack of the security review fails for the attacker (a phishing Host, writes without
   a token or for another wallet, a creator steering a follower's deployment, a replayed key envelope,
   oversized bodies and fields, the simulator's admin API without its token); each database role
   reaches its own schema only; a venue key brought at deploy is in no other table, topic, DLQ or
   log, and the credentials key and bearer tokens are in no log;
7. HTTP fuzz: schemathesis against both OpenAPI documents finds no 5xx and no hang.

After each stream every (signal, deployment) must have exactly one intent and one terminal outcome
(rejected, no venue, or a position), no intent more than one position, no client order id more than
one venue order (counted at the simulator), no order left in flight, and the read models must agree
with the router and the executor. Prints a table and writes it as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from eth_account import Account
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from vprime_shared.contracts import RequestedVenue, RiskModel, Side, Signal, SignalOrigin, SizeModel
from vprime_shared.db import SERVICES

from vprime_shared.sign_in import bearer, sign_in_async

from vprime_local.audit import fuzz, role_breaches, secret_hits
from vprime_local.infra import LocalInfra, say, stop_pid
from vprime_local.stack import ServiceStack, operator_headers, simulator_admin_headers
from vprime_local.venue_accounts import connect_venue

PORTS = {"control": 28000, "query": 28001, "signal": 28002, "policy": 28003, "router": 28004, "executor": 28005, "simulator": 28010}
INSTRUMENTS = ["ETH", "BTC", "SOL", "GOLD", "EURUSD", "LINK", "DOGE", "AVAX", "MAGIC"]  # MAGIC: on no enabled venue
SCALED = ("policy", "router", "executor")
MIXED_VENUES = (["HYPERLIQUID", "OSTIUM"], ["OSTIUM", "GMX"])
ALL_VENUES = (["HYPERLIQUID", "OSTIUM", "GMX"], ["GMX", "OSTIUM", "HYPERLIQUID"])


@dataclass
class Scenario:
    name: str
    events: int = 0
    lost: int = 0
    duplicated: int = 0
    recover_s: float = 0.0
    passed: bool = True
    checks: dict[str, bool] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def check(self, name: str, ok: bool) -> None:
        self.checks[name] = bool(ok)
        self.passed = self.passed and bool(ok)


@dataclass
class Run:
    http: httpx.AsyncClient
    stack: ServiceStack
    infra: LocalInfra
    producer: AIOKafkaProducer
    db: asyncpg.Pool
    rate: float


async def run(signals_total: int = 2000, rate: float = 40.0, home: Path | None = None, scenario_signals: int = 400) -> dict:
    home = home or Path.cwd() / ".vprime" / "reliability"
    infra = LocalInfra(home=home, kafka_port=29192, kafka_controller_port=29193, pg_port=25532)
    await asyncio.to_thread(infra.down)
    for state in ("kafka-data", "pg-data", "logs", "run"):
        shutil.rmtree(home / state, ignore_errors=True)
    await asyncio.to_thread(infra.up)
    stack = ServiceStack(home=home, bootstrap=infra.bootstrap, database_urls={s: infra.database_url(s) for s in SERVICES},
                         ports=PORTS, extra_env={
                             "OUTBOX_POLL_INTERVAL_S": "0.5", "RECOVERY_INTERVAL_S": "1", "RECOVERY_GRACE_S": "2",
                             "SYNC_INTERVAL_S": "2", "SIMULATOR_FEED_INSTRUMENTS": "", "LOG_LEVEL": "WARNING",
                             # Venue health on a short clock, so the venue-fault scenario sees breakers open and close.
                             "BREAKER_FAILURES": "3", "BREAKER_OPEN_S": "5", "VENUE_TIMEOUT_S": "1.5", "SIMULATOR_TIMEOUT_S": "4",
                         })
    report: list[Scenario] = []
    started = time.monotonic()
    try:
        await asyncio.to_thread(stack.up, 180)
        producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, enable_idempotence=True)
        await producer.start()
        # min_size=0: no idle connection to re-establish (and complain about) while Postgres restarts.
        db = await asyncpg.create_pool(infra.admin_database_url, min_size=0, max_size=3)
        try:
            async with httpx.AsyncClient(timeout=20, headers=operator_headers(home)) as http:
                ctx = Run(http, stack, infra, producer, db, rate)
                baseline = await baseline_scenario(ctx, scenario_signals)
                report.append(baseline)
                report.append(await scale_out_scenario(ctx, scenario_signals, baseline))
                report.append(await venue_fault_scenario(ctx, scenario_signals))
                report.append(await crash_scenario(ctx, signals_total))
                report.append(await bad_input_scenario(ctx))
                report.append(await security_scenario(ctx))
                report.append(await http_fuzz_scenario(ctx))
        finally:
            await db.close()
            await producer.stop()
    finally:
        await asyncio.to_thread(stack.down)
        await asyncio.to_thread(infra.down)
    result = {"scenarios": [s.__dict__ for s in report], "passed": all(s.passed for s in report),
              "total_s": round(time.monotonic() - started, 1)}
    (home / "reliability.json").write_text(json.dumps(result, indent=2, default=str))
    _print(report)
    say(f"report written to {home / 'reliability.json'}")
    return result


# ---- scenarios -------------------------------------------------------------------------------------
async def baseline_scenario(ctx: Run, total: int) -> Scenario:
    scenario = Scenario(f"baseline: {total} signals, one instance of each service")
    deployments = await _setup(ctx, "baseline", MIXED_VENUES)
    sent = await _stream(ctx, deployments, total, scenario)
    await _settle(ctx, scenario, deployments, sent)
    return scenario


async def scale_out_scenario(ctx: Run, total: int, baseline: Scenario) -> Scenario:
    scenario = Scenario(f"scale-out: {total} signals, 2 instances of {', '.join(SCALED)}; one of each stopped mid-stream")
    for service in SCALED:
        await asyncio.to_thread(ctx.stack.start, service, 1)
    for service in SCALED:
        await asyncio.to_thread(ctx.stack.wait_healthy, 120, (service,), 1)
    await asyncio.sleep(8)  # the consumer groups rebalance over both instances
    deployments = await _setup(ctx, "scale-out", MIXED_VENUES)

    async def stop_second_instances(i: int) -> None:
        if i == total // 2:
            await asyncio.to_thread(ctx.stack.stop, "policy", 1)
            await asyncio.to_thread(ctx.stack.stop, "router", 1)
            await asyncio.to_thread(ctx.stack.kill, "executor", 1)
            say(f"{i}/{total}: second policy and router stopped (SIGTERM), second executor killed (SIGKILL)")

    sent = await _stream(ctx, deployments, total, scenario, stop_second_instances)
    audit = await _settle(ctx, scenario, deployments, sent)
    scenario.check("same outcomes as one instance", audit["outcomes"] == baseline.notes["outcomes"])
    return scenario


async def venue_fault_scenario(ctx: Run, total: int, phase_s: float = 12.0) -> Scenario:
    scenario = Scenario(f"venue faults: {total} signals; Hyperliquid down, Ostium timing out, GMX rejecting, in turn")
    deployments = await _setup(ctx, "venue-faults", ALL_VENUES, trade_on_venues=True)
    sim, router = ctx.stack.url("simulator"), ctx.stack.url("router")
    phases = [("HYPERLIQUID", "down", "all"), ("OSTIUM", "timeout", "orders"), ("GMX", "reject", "orders")]
    seen_open: set[str] = set()

    async def set_fault(venue: str, mode: str, scope: str = "all") -> None:
        (await ctx.http.post(f"{sim}/admin/faults", json={"venue": venue, "mode": mode, "scope": scope},
                             headers=simulator_admin_headers(ctx.stack.home))).raise_for_status()

    async def watch_breakers(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            breakers = (await ctx.http.get(f"{router}/router/venues")).json()["venues"]
            seen_open.update(v for v, s in breakers.items() if s["breaker"]["state"] != "CLOSED")
            await asyncio.sleep(0.5)

    async def fault_timeline() -> None:
        """Each fault holds for `phase_s` while signals keep coming; then a clean stretch."""
        for venue, mode, scope in phases:
            await set_fault(venue, mode, scope)
            say(f"{venue} {mode} ({scope}) for {phase_s:.0f}s")
            await watch_breakers(phase_s)
            await set_fault(venue, "ok")
        await watch_breakers(phase_s)

    timeline = asyncio.create_task(fault_timeline())
    try:
        # The stream spans every fault phase and the clean stretch after them.
        sent = await _stream(ctx, deployments, total, scenario, rate=total / (phase_s * (len(phases) + 1)))
        await timeline
    finally:
        timeline.cancel()
        for venue, _, _ in phases:
            await set_fault(venue, "ok")
    audit = await _settle(ctx, scenario, deployments, sent)
    failovers = await ctx.db.fetchval(
        "SELECT count(*) FROM router.routing_history WHERE signal_id = ANY($1::uuid[]) AND attempt > 1", [s.signal_id for s in sent])
    refused = await ctx.db.fetchval(
        "SELECT count(*) FROM router.routing_history WHERE signal_id = ANY($1::uuid[]) AND selected_venue IS NULL "
        "AND reason LIKE 'gave up after GMX%'", [s.signal_id for s in sent])
    scenario.notes["breakers seen open"] = sorted(seen_open)
    scenario.notes["failover decisions"] = failovers
    scenario.notes["intents ended by GMX's refusal"] = refused
    # Down and timing out are the venue's health: its breaker opens. A rejection is the venue's answer
    # about one order: the intent ends with that reason and the breaker stays closed.
    scenario.check("breakers opened for the venue down and the venue timing out", seen_open >= {"HYPERLIQUID", "OSTIUM"})
    scenario.check("rejections ended intents with the reason, GMX's breaker stayed closed", refused > 0 and "GMX" not in seen_open)
    scenario.check("failover routed intents to another venue", failovers > 0)
    scenario.check("no order left in flight", audit["orders_in_flight"] == 0)
    await _until_routable(ctx)
    return scenario


async def crash_scenario(ctx: Run, total: int) -> Scenario:
    scenario = Scenario(f"crashes: {total} signals; SIGKILL each service in turn, restart Kafka, restart Postgres")
    deployments = await _setup(ctx, "crashes", MIXED_VENUES)
    targets = ["policy", "router", "executor", "query", "signal", "control", "KAFKA", "POSTGRES"]
    every = max(total // (len(targets) + 1), 1)

    async def inflict(i: int) -> None:
        if i and i % every == 0 and targets:
            target = targets.pop(0)
            await asyncio.to_thread(_inflict, target, ctx.stack, ctx.infra)
            say(f"{i}/{total} signals sent; {target} {'restarted' if target.isupper() else 'killed (SIGKILL) and restarted'}")

    sent = await _stream(ctx, deployments, total, scenario, inflict)
    await _settle(ctx, scenario, deployments, sent, timeout_s=900)
    return scenario


async def bad_input_scenario(ctx: Run) -> Scenario:
    """Bad events among good ones: each dead-lettered with its reason, nothing else disturbed."""
    scenario = Scenario("bad input: 6 kinds of bad event on signals.v1, then a good signal")
    deployments = await _setup(ctx, "bad-input", MIXED_VENUES[:1], agents=1)
    marker = uuid.uuid4().hex
    agent = deployments[0]["agent_id"]
    valid = _signal(0, agent).model_dump(mode="json")
    bad = {
        "malformed JSON": b"{not json " + marker.encode(),
        "wrong type": json.dumps({**valid, "confidence": "very", "source_tweets": [marker]}).encode(),
        "unknown field": json.dumps({**valid, "leverage_hint": 3, "source_tweets": [marker]}).encode(),
        "newer schema": json.dumps({**valid, "schema_version": 2, "source_tweets": [marker]}).encode(),
        "oversized": json.dumps({**valid, "source_tweets": [marker, "x" * 600_000]}).encode(),
        "unknown agent": json.dumps({**valid, "agent_id": str(uuid.uuid4()), "source_tweets": [marker]}).encode(),
    }
    refused_by = {name: {"control", "policy", "query"} for name in bad} | {"unknown agent": {"control"}}
    for payload in bad.values():
        await ctx.producer.send_and_wait(Signal.TOPIC, payload, key=agent.encode())
    good = await _stream(ctx, deployments, 1, scenario)
    audit = await _settle(ctx, scenario, deployments, good)
    letters = await _dead_letters(ctx, marker, expected=sum(len(s) for s in refused_by.values()))
    for name, payload in bad.items():
        scenario.check(f"{name}: dead-lettered by {', '.join(sorted(refused_by[name]))}", letters.get(payload, set()) == refused_by[name])
    scenario.events = len(bad) + audit["expected"]
    scenario.lost = len(bad) - sum(1 for p in bad.values() if p in letters) + audit["missing"]
    return scenario


async def security_scenario(ctx: Run) -> Scenario:
    """Each attack of the security review, tried on the running stack, fails for the attacker; each role stays in
    its schema; keys and tokens turn up only where they belong."""
    from eth_account import Account

    from vprime_shared.key_envelope import seal_agent_key

    scenario = Scenario("security: sign-in, ownership, key envelopes, request and event sizes, simulator admin, roles, secrets")
    control = ctx.stack.url("control")
    alice, bob, mallory, venue_key = Account.create(), Account.create(), Account.create(), Account.create()
    body = {"creator_wallet": alice.address, "name": "alice's", "profit_receiver_address": alice.address}
    private_hex = venue_key.key.hex()
    async with httpx.AsyncClient(timeout=20) as anon:
        refused = await anon.post(f"{control}/api/v3/agents/create", json=body)
        phished = (await anon.post(f"{control}/api/v3/auth/nonce", json={"wallet": alice.address},
                                   headers={"Host": "evil-phish.example"})).json()["message"]
        tokens = {who: await sign_in_async(anon, control, account.key) for who, account in
                  (("alice", alice), ("bob", bob), ("mallory", mallory))}
        as_ = {who: bearer(token) for who, token in tokens.items()}
        impostor = await anon.post(f"{control}/api/v3/agents/create", json=body, headers=as_["mallory"])
        agent_id = (await anon.post(f"{control}/api/v3/agents/create", json=body, headers=as_["alice"])).json()["agent"]["id"]
        published = await anon.post(f"{control}/api/v3/agents/deploy", headers=as_["alice"],
                                    json={"agent_id": agent_id, "user_wallet": alice.address})
        enrol = {"agent_id": agent_id, "user_wallet": bob.address, "enabled_venues": ["HYPERLIQUID"]}
        pushed = await anon.post(f"{control}/api/v3/agents/deploy", json=enrol, headers=as_["alice"])
        # Bob follows Alice's agent with a venue key he seals for his wallet (and one the executor makes).
        issued = (await anon.post(f"{control}/api/v3/key-imports", json={}, headers=as_["bob"])).json()
        sealed = seal_agent_key(issued["public_key"], private_hex, wallet=issued["wallet"], venue="HYPERLIQUID", nonce=issued["nonce"])
        envelope = {"key_import_nonce": issued["nonce"], "hyperliquid_agent_address": venue_key.address,
                    **{f"hyperliquid_agent_key_{part}": sealed[part] for part in ("encrypted", "iv", "tag")}}
        followed = await anon.post(f"{control}/api/v3/agents/deploy", json={**enrol, **envelope}, headers=as_["bob"])
        deployment = followed.json()["deployment"]["id"]
        wallet = await anon.post(f"{control}/api/v3/deployments/{deployment}/agent-wallets/OSTIUM", headers=as_["bob"])
        # Mallory replays Bob's envelope into a deployment of her own; Alice tries to steer Bob's deployment.
        replayed = await anon.post(f"{control}/api/v3/agents/deploy", headers=as_["mallory"],
                                   json={**enrol, **envelope, "user_wallet": mallory.address})
        steered = [await anon.post(f"{control}/api/v3/deployments/{deployment}/{action}", headers=as_["alice"])
                   for action in ("pause", "stop")]
        # An oversized body, an oversized field, the simulator's admin API without its token.
        big_body = await anon.post(f"{control}/api/v3/auth/nonce", content=b'{"wallet": "' + b"0" * 1_000_000 + b'"}',
                                   headers={"Content-Type": "application/json"})
        big_field = await anon.post(f"{control}/api/v3/agents/create", headers=as_["alice"],
                                    json={**body, "x_account_ids": ["x" * 60] * 1000})
        admin = await anon.post(f"{ctx.stack.url('simulator')}/admin/book", json={"venue": "HYPERLIQUID", "instrument": "ETH", "mid": 1})
    scenario.check("a write without a token: 401", refused.status_code == 401)
    scenario.check("a phishing Host is not the sign-in domain", "evil-phish" not in phished)
    scenario.check("an agent for another wallet: 403", impostor.status_code == 403)
    scenario.check("a creator enrolling another wallet: 403", published.status_code == 201 and pushed.status_code == 403)
    scenario.check("a follower deploys a published agent with a sealed venue key: 201",
                   followed.status_code == 201 and wallet.status_code == 201)
    scenario.check("an envelope replayed into another deployment: refused", replayed.status_code in (403, 422))
    scenario.check("the creator pausing or stopping a follower's deployment: 403", [r.status_code for r in steered] == [403, 403])
    scenario.check("a 1 MB body: 413", big_body.status_code == 413)
    scenario.check("an agent with 1,000 source ids: 422", big_field.status_code == 422)
    scenario.check("the simulator's admin API without its token: 401", admin.status_code == 401)
    breaches = await role_breaches(ctx.infra.database_url)
    scenario.check("each database role reaches its own schema only (30 cross-schema reads refused)", not breaches)
    await asyncio.sleep(3)  # the deployment's events reach every consumer, and their logs
    needles = [private_hex, private_hex.removeprefix("0x"), sealed["encrypted"]]
    kek = (ctx.stack.home / "secrets" / "credentials.key").read_text().strip()
    operator = operator_headers(ctx.stack.home)["Authorization"].removeprefix("Bearer ")
    hits = await secret_hits(ctx.db, ctx.infra.bootstrap, ctx.stack.home / "logs", needles, [kek, operator, *tokens.values()])
    responses = followed.text + wallet.text + replayed.text
    scenario.check("the venue key is in no other table, topic, DLQ or log; the KEK and tokens in no log", not hits)
    scenario.check("API responses carry no key material", not any(n in responses for n in needles))
    scenario.notes.update({"breaches": breaches, "secret hits": hits})
    scenario.events = 13 + 30 + 1
    scenario.lost = len(breaches) + len(hits)
    return scenario


async def http_fuzz_scenario(ctx: Run) -> Scenario:
    """Schemathesis over both OpenAPI documents (control as an operator, past authentication)."""
    scenario = Scenario("HTTP fuzz: schema-driven requests against the control and query APIs")
    started = time.monotonic()
    for service, headers in (("control", operator_headers(ctx.stack.home)), ("query", {})):
        passed, output = await asyncio.to_thread(fuzz, ctx.stack.url(service), headers)
        scenario.check(f"{service}: no 5xx, no request over 10 s", passed)
        summary = next((line.strip() for line in output.splitlines() if re.search(r"\d+ generated", line)), output[-200:])
        scenario.notes[f"{service} fuzz"] = summary
        scenario.events += int(found.group(1)) if (found := re.search(r"(\d+) generated", summary)) else 0
    scenario.recover_s = round(time.monotonic() - started, 1)
    return scenario


# ---- driving and auditing ----------------------------------------------------------------------------
async def _setup(ctx: Run, label: str, venue_sets: tuple[list[str], ...], *, agents: int = 4,
                 trade_on_venues: bool = False) -> list[dict]:
    """Fresh agents with one deployment per venue set; even agents (or all) trade on the simulated venues."""
    control, sim = ctx.stack.url("control"), ctx.stack.url("simulator")
    deployments = []
    for a in range(agents):
        wallet = f"0x{uuid.uuid4().hex[:8]}{a:032x}"
        agent = (await ctx.http.post(f"{control}/api/v3/agents/create", json={
            "creator_wallet": wallet, "name": f"{label} {a}", "profit_receiver_address": wallet})).raise_for_status().json()["agent"]
        for venues in venue_sets:
            user = Account.create()  # an account of its own, which signs its venues' approvals
            dep = (await ctx.http.post(f"{control}/api/v3/agents/deploy", json={
                "agent_id": agent["id"], "user_wallet": user.address,
                "enabled_venues": venues})).raise_for_status().json()["deployment"]
            if trade_on_venues or a % 2 == 0:
                async with httpx.AsyncClient(base_url=sim, headers=simulator_admin_headers(ctx.stack.home),
                                             timeout=30) as simulator:
                    for venue in venues:
                        w = (await ctx.http.post(f"{control}/api/v3/deployments/{dep['id']}/agent-wallets/{venue}")).raise_for_status().json()
                        await connect_venue(simulator, venue, user=user, agent=w["address"], equity_usd=1e9)
            deployments.append({"agent_id": agent["id"], "deployment_id": dep["id"]})
    await asyncio.sleep(3)  # registry events reach policy
    return deployments


def _signal(i: int, agent_id: str) -> Signal:
    """The i-th signal of a stream: the same pattern in every scenario, so outcomes can be compared."""
    return Signal(signal_id=uuid.uuid4(), agent_id=uuid.UUID(agent_id), instrument=INSTRUMENTS[i % len(INSTRUMENTS)],
                  side=Side.LONG if i % 3 else Side.SHORT, size_model=SizeModel(value=1), risk_model=RiskModel(type="none"),
                  confidence=0.9, requested_venue=RequestedVenue.MULTI, origin=SignalOrigin.MANUAL)


async def _stream(ctx: Run, deployments: list[dict], total: int, scenario: Scenario,
                  during: Callable[[int], Awaitable[None]] | None = None, rate: float | None = None) -> list[Signal]:
    agents = sorted({d["agent_id"] for d in deployments})
    sent: list[Signal] = []
    started = time.monotonic()
    for i in range(total):
        s = _signal(i, agents[i % len(agents)])
        while True:
            try:
                await ctx.producer.send_and_wait(Signal.TOPIC, s.model_dump_json().encode(), key=str(s.agent_id).encode())
                break
            except Exception:  # Kafka is restarting: the producer waits, nothing is dropped  # noqa: BLE001
                await asyncio.sleep(0.5)
        sent.append(s)
        if during is not None:
            await during(i)
        await asyncio.sleep(1 / (rate or ctx.rate))
    scenario.notes["stream_s"] = round(time.monotonic() - started, 1)
    return sent


async def _settle(ctx: Run, scenario: Scenario, deployments: list[dict], sent: list[Signal], timeout_s: float = 600) -> dict:
    """Wait for every outcome, audit, and fill in the scenario's figures."""
    settle_started = time.monotonic()
    audit = await _audit(ctx, deployments, sent, timeout_s)
    scenario.events = audit["expected"]
    scenario.lost = audit["missing"]
    scenario.duplicated = audit["duplicate_intents"] + audit["duplicate_positions"] + audit["duplicate_venue_orders"]
    scenario.recover_s = round(time.monotonic() - settle_started, 1)
    scenario.notes.update(audit)
    scenario.check("every outcome, once", scenario.lost == 0 and scenario.duplicated == 0)
    scenario.check("read models agree", audit["read_model_agrees"])
    return audit


async def _audit(ctx: Run, deployments: list[dict], sent: list[Signal], timeout_s: float) -> dict:
    db = ctx.db
    per_agent: dict[str, int] = {}
    for d in deployments:
        per_agent[d["agent_id"]] = per_agent.get(d["agent_id"], 0) + 1
    expected = sum(per_agent[str(s.agent_id)] for s in sent)
    ids = [s.signal_id for s in sent]
    deadline = time.monotonic() + timeout_s
    outcomes: dict[str, int] = {}
    while True:
        rows = await db.fetch(
            """SELECT CASE WHEN i.status = 'REJECTED' THEN 'rejected'
                           WHEN EXISTS (SELECT 1 FROM query.positions p JOIN query.orders o USING (order_id)
                                        WHERE o.intent_id = i.intent_id) THEN 'position'
                           WHEN EXISTS (SELECT 1 FROM query.routing_decisions d WHERE d.intent_id = i.intent_id
                                        AND d.selected_venue IS NULL AND d.attempt =
                                            (SELECT max(attempt) FROM query.routing_decisions x WHERE x.intent_id = i.intent_id))
                                THEN 'no venue'
                           ELSE 'pending' END AS outcome, count(*) AS n
               FROM query.intents i WHERE i.signal_id = ANY($1::uuid[]) GROUP BY 1""", ids)
        outcomes = {r["outcome"]: r["n"] for r in rows}
        ended = sum(n for o, n in outcomes.items() if o != "pending")
        if ended >= expected or time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    decided = await db.fetchval("SELECT count(*) FROM policy.decisions WHERE signal_id = ANY($1::uuid[])", ids)
    dup_intents = await db.fetchval(
        "SELECT count(*) FROM (SELECT signal_id, deployment_id FROM policy.decisions WHERE signal_id = ANY($1::uuid[]) "
        "GROUP BY 1, 2 HAVING count(*) > 1) x", ids)
    dup_positions = await db.fetchval(
        "SELECT count(*) FROM (SELECT o.intent_id FROM executor.positions p JOIN executor.orders o USING (order_id) "
        "GROUP BY 1 HAVING count(*) > 1) x")
    venue_orders = (await ctx.http.get(f"{ctx.stack.url('simulator')}/admin/orders",
                                       headers=simulator_admin_headers(ctx.stack.home))).json()["count"]
    client_ids = await db.fetchval("SELECT count(DISTINCT client_order_id) FROM executor.orders WHERE mode = 'venue'")
    in_flight = await db.fetchval("SELECT count(*) FROM executor.orders WHERE status = 'SENDING'")
    query_positions = await db.fetchval("SELECT count(*) FROM query.positions WHERE signal_id = ANY($1::uuid[])", ids)
    executor_positions = await db.fetchval(
        "SELECT count(*) FROM executor.positions p JOIN executor.orders o USING (order_id) JOIN policy.decisions d "
        "ON d.intent_id = o.intent_id WHERE d.signal_id = ANY($1::uuid[])", ids)
    router_decisions = await db.fetchval("SELECT count(*) FROM router.routing_history WHERE signal_id = ANY($1::uuid[])", ids)
    query_decisions = await db.fetchval("SELECT count(*) FROM query.routing_decisions WHERE signal_id = ANY($1::uuid[])", ids)
    return {"expected": expected, "decided": decided, "missing": max(expected - ended, 0),
            "outcomes": {k: v for k, v in sorted(outcomes.items()) if k != "pending"},
            "duplicate_intents": dup_intents, "duplicate_positions": dup_positions,
            "duplicate_venue_orders": max(venue_orders - client_ids, 0), "venue_orders_total": venue_orders,
            "orders_in_flight": in_flight, "read_model_positions": query_positions, "executor_positions": executor_positions,
            "router_decisions": router_decisions, "read_model_decisions": query_decisions,
            "read_model_agrees": query_positions == executor_positions and router_decisions == query_decisions}


async def _dead_letters(ctx: Run, marker: str, expected: int, timeout_s: float = 60) -> dict[bytes, set[str]]:
    """Which services dead-lettered each payload carrying `marker`."""
    consumer = AIOKafkaConsumer(f"{Signal.TOPIC}.dlq", bootstrap_servers=ctx.infra.bootstrap, auto_offset_reset="earliest",
                                group_id=f"reliability-{marker}", fetch_max_bytes=4 * 1024 * 1024)
    await consumer.start()
    found: dict[bytes, set[str]] = {}
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and sum(len(s) for s in found.values()) < expected:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    if record.value and marker.encode() in record.value:
                        found.setdefault(record.value, set()).add(dict(record.headers)["x-dlq-service"].decode())
    finally:
        await consumer.stop()
    return found


async def _until_routable(ctx: Run, timeout_s: float = 60) -> None:
    """After venue faults: wait for every breaker to close again before the next scenario."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        venues = (await ctx.http.get(f"{ctx.stack.url('router')}/router/venues")).json()["venues"]
        if all(v["breaker"]["state"] == "CLOSED" for v in venues.values()):
            return
        await asyncio.sleep(1)


def _inflict(target: str, stack: ServiceStack, infra: LocalInfra) -> None:
    if target == "KAFKA":
        stop_pid(infra.run / "kafka.pid", "kafka")
        infra.start_kafka()
    elif target == "POSTGRES":
        infra.stop_postgres()
        infra.start_postgres()
    else:
        stack.kill(target)
        stack.start(target)
        stack.wait_healthy(120, (target,))


def _print(report: list[Scenario]) -> None:
    width = max(len(s.name) for s in report) + 2
    print(f"\n{'scenario':<{width}} {'events':>7} {'lost':>5} {'dup':>5} {'recover s':>10}  result")
    for s in report:
        print(f"{s.name:<{width}} {s.events:>7} {s.lost:>5} {s.duplicated:>5} {s.recover_s:>10}  {'PASS' if s.passed else 'FAIL'}")
        for check, ok in s.checks.items():
            print(f"    [{'x' if ok else ' '}] {check}")
        for key in ("outcomes", "venue_orders_total", "stream_s", "breakers seen open", "failover decisions",
                    "intents ended by GMX's refusal", "control fuzz", "query fuzz"):
            if key in s.notes:
                print(f"    {key}: {s.notes[key]}")


def main() -> None:
    result = asyncio.run(run(int(os.environ.get("RELIABILITY_SIGNALS", 2000)),
                             scenario_signals=int(os.environ.get("RELIABILITY_SCENARIO_SIGNALS", 400))))
    raise SystemExit(0 if result["passed"] else 1)


if __name__ == "__main__":
    main()
