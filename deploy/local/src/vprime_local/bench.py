"""`make bench`: Vprime's speed on this machine, beside the machine's own ceiling.

On its own infrastructure and stack (ports 27xxx, below the ephemeral range so that a client reconnecting
while Kafka restarts never takes its port; state in .vprime/bench): agents with several paper deployments
each (a fan-out: one signal, one intent per deployment), spread evenly over the partitions of signals.v1, take
signals at fixed rates.

- end-to-end latency, signal published to its position event received, p50/p95/p99 per rate;
- where the time goes: signal → intent (policy), intent → routing decision (router), order →
  position (executor), each event timed by its Kafka record timestamp (when it was published) and read
  after the stream: the bench shares the machine it measures, so during the stream it reads positions only;
- throughput: intents completed per second, how long the backlog took to drain after the stream, and how
  fast the lag grew during it (a rate is sustained when everything arrives, the lag grew by less than
  0.05 s per second of stream, and the backlog drained within 5 s);
- stop reaction: a tick crossing a trailing stop published, to the position's CLOSED event;
- the router's in-process decision latency (services/router/bench/decision_latency.py);
- the ceiling: the same rates through a bare aiokafka pipeline with the same hops and fan-out and no
  database (vprime_local.ceiling), then the offer doubled until it no longer keeps up: what it carries then;
- scaling: the slowest stage's service at one and at two instances, at the highest rate;
- the machine: what a round trip between two processes costs, on one CPU and across two (vprime_local.machine).

Paper deployments keep venue round trips (which are the venues' latency, not ours) out of the figures.
`BENCH_RUNS` repeats everything (min/median/max across runs); `BENCH_RATES`, `BENCH_SECONDS`,
`BENCH_FAN_OUT` size it. Writes bench.json and bench.png in .vprime/bench and prints a table.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from vprime_shared.contracts import Intent, MarketTick, RequestedVenue, RiskModel, Side, Signal, SignalOrigin, SizeModel
from vprime_shared.contracts.base import utcnow
from vprime_shared.db import SERVICES
from vprime_shared.kafka import offset_readers
from vprime_shared.outbox import partition_of

from vprime_local import ceiling, machine
from vprime_local.infra import LocalInfra, say
from vprime_local.stack import ServiceStack, operator_headers

PORTS = {"control": 27000, "query": 27001, "signal": 27002, "policy": 27003, "router": 27004, "executor": 27005, "simulator": 27010}
INSTRUMENTS = ["BTC", "SOL", "LINK", "DOGE", "AVAX", "GOLD", "EURUSD"]
STOP_INSTRUMENT = "ETH"
LIVE = "positions.v1"  # read as it happens: end-to-end latency and drain
PUBLISHED = ("intents.v1", "routing.decisions.v1", "orders.v1")  # read after each stream, for the stages
STAGES = {"policy": ("signal", "intents.v1"), "router": ("intents.v1", "routing.decisions.v1"),
          "executor": ("orders.v1", "positions.v1")}
REPO = Path(__file__).resolve().parents[4]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# A rate is sustained when everything arrives, the lag stopped growing and the backlog drains soon after the
# stream. The lag's growth is the slope of latency against send time (least squares, after the stream's first
# second, which fills the pipeline): a pipeline that keeps up has none; one that completes C intents/s of λ
# offered falls behind by (λ - C) / C seconds each second. 0.05 s/s is a capacity below about 95 % of the offer.
LAG_GROWTH_LIMIT_S_PER_S = 0.05
DRAIN_LIMIT_S = 5.0


def lag_growth(points: list[tuple[float, float]], settle_s: float = 1.0) -> float:
    """Seconds of lag gained per second of stream: the least-squares slope of (sent at, latency) pairs, send
    times counted from the stream's start, leaving out its first `settle_s`."""
    kept = [(x, y) for x, y in points if x >= settle_s]
    try:
        return statistics.linear_regression([x for x, _ in kept], [y for _, y in kept]).slope
    except statistics.StatisticsError:  # fewer than two points, or all sent at one instant
        return 0.0


# What PostgreSQL did beside the statements it was sent, read before and after each stream: a checkpoint makes the
# first change to each page after it write the whole page to the WAL (full-page images), and autovacuum's first pass
# over a table reads all of it. Either can fall inside one stream and not the next, so each stream reports both.
# A WAL segment file created while a stream runs (`wal_segments_created`: no segment a checkpoint freed was there to
# reuse) is 16 MB of zeros written and flushed by the backend that needs it, while every other commit waits. How long
# autovacuum's runs lasted (`autovacuum_s`: vacuums and analyzes together, their cost-based pauses included, each
# counted when it ends) says how much of a stream shared the machine with them: at 200 signals/s, bursts of them fell
# in the slowest streams. Servers before PostgreSQL 18 do not keep that time; there it reads 0.
MAINTENANCE = """SELECT c.num_timed + c.num_requested AS checkpoints, w.wal_bytes::float8 AS wal_bytes, w.wal_fpi,
                        t.autovacuums, t.autoanalyzes, t.autovacuum_ms, i.created AS wal_segments_created
                   FROM pg_stat_checkpointer c, pg_stat_wal w,
                        (SELECT coalesce(sum(autovacuum_count), 0) AS autovacuums, coalesce(sum(autoanalyze_count), 0) AS autoanalyzes,
                                coalesce(sum((to_jsonb(a) ->> 'total_autovacuum_time')::float8
                                             + (to_jsonb(a) ->> 'total_autoanalyze_time')::float8), 0) AS autovacuum_ms
                           FROM pg_stat_all_tables a) t,
                        (SELECT coalesce(sum(fsyncs), 0) AS created FROM pg_stat_io WHERE object = 'wal' AND context = 'init') i"""


# The server's WAL segment files: all of them, and those that wait to be reused (named after the current one: at a
# checkpoint, the files before it are renamed so, as many as `min_wal_size` or the WAL's recent pace calls for, and the
# rest removed).
WAL_FILES = """SELECT count(*) FILTER (WHERE name ~ '^[0-9A-F]{24}$') AS files,
                      count(*) FILTER (WHERE name ~ '^[0-9A-F]{24}$' AND name > pg_walfile_name(pg_current_wal_lsn())) AS spare,
                      pg_size_bytes(current_setting('wal_segment_size')) AS segment_bytes,
                      pg_size_bytes(current_setting('min_wal_size')) AS keep_bytes
                 FROM pg_ls_waldir()"""


async def make_spare_wal_segments(db: asyncpg.Connection, keep_bytes: int | None = None) -> int:
    """Give the server the spare WAL segment files a database that has run a while at this load has (`keep_bytes` of
    them, by default as many as `min_wal_size` keeps), and a checkpoint, which renames them for reuse: every file but
    the current one. Each is made by writing a WAL record and moving on to the next segment, which takes a spare file
    or creates one (the checkpoint's own record opens the last). Returns how many files were created."""
    row = await db.fetchrow(WAL_FILES)
    wanted, files = (row["keep_bytes"] if keep_bytes is None else keep_bytes) // row["segment_bytes"], row["files"]
    had = files
    while files - 1 < wanted:
        await db.execute("SELECT pg_logical_emit_message(false, 'vprime.bench', ''); SELECT pg_switch_wal()")
        files = (await db.fetchrow(WAL_FILES))["files"]
    await db.execute("CHECKPOINT")
    return int((await db.fetchrow(WAL_FILES))["files"] - had)


def maintenance(before: dict[str, float], after: dict[str, float], intents: int) -> dict[str, float]:
    """Checkpoints and autovacuum runs (and how long they took) during a stream, and the WAL it wrote per completed
    intent."""
    n = max(intents, 1)
    return {"checkpoints": int(after["checkpoints"] - before["checkpoints"]),
            "autovacuums": int(after["autovacuums"] - before["autovacuums"]),
            "autoanalyzes": int(after["autoanalyzes"] - before["autoanalyzes"]),
            "autovacuum_s": round((after["autovacuum_ms"] - before["autovacuum_ms"]) / 1000, 2),
            "wal_segments_created": int(after["wal_segments_created"] - before["wal_segments_created"]),
            "wal_kb_per_intent": round((after["wal_bytes"] - before["wal_bytes"]) / 1024 / n, 1),
            "full_page_images_per_intent": round((after["wal_fpi"] - before["wal_fpi"]) / n, 2)}


def summary_ms(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": round(pct(values, 0.50) * 1e3, 2), "p95_ms": round(pct(values, 0.95) * 1e3, 2),
            "p99_ms": round(pct(values, 0.99) * 1e3, 2), "max_ms": round(max(values) * 1e3, 2) if values else float("nan")}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU seconds a process has used (0 if it is gone); with `reaped`, what its children that have
    exited and been waited for used instead."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14]) if reaped else int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _backend_of(pid: int) -> str:
    """The service whose role a Postgres backend serves ("postgres: vprime_policy vprime 127.0.0.1(…) idle"),
    else what the process is (checkpointer, walwriter, autovacuum, …)."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    words = title.removeprefix("postgres:").split()
    if words and words[0].startswith("vprime_"):
        return words[0].removeprefix("vprime_")
    return "other" if not words else "admin" if words[0] == "postgres" else "background"


@dataclass
class Watch:
    """Positions as they arrive (by intent, and by position id and state), and when each was published."""

    seen: dict[tuple[str, str], float] = field(default_factory=dict)  # (topic, intent id) -> received (perf_counter)
    published: dict[tuple[str, str], float] = field(default_factory=dict)  # (topic, intent id) -> record timestamp
    signal_of: dict[str, str] = field(default_factory=dict)  # intent id -> signal id
    closed: dict[str, float] = field(default_factory=dict)  # position id -> CLOSED received
    opened: dict[str, float] = field(default_factory=dict)  # position id -> OPEN received
    # The stream being measured: its signals, and how many of their positions have arrived so far. Counted as they
    # arrive, since the drain polls it every 50 ms and the maps above hold every stream of every run.
    counting: dict[str, float] = field(default_factory=dict)
    counted: int = 0

    def count(self, signals: dict[str, float]) -> None:
        """Count the positions of `signals` (signal id -> sent) from now on, `signals` growing as they are sent."""
        self.counting, self.counted = signals, 0

    async def run(self, consumer: AIOKafkaConsumer) -> None:
        # The bench shares the machine it measures, so it reads cheaply: whatever has arrived at once (not a
        # coroutine per record), parsed by orjson. Records of one fetch are timed together, when the fetch returned.
        while True:
            fetched = await consumer.getmany(timeout_ms=1000)
            now = time.perf_counter()
            for records in fetched.values():
                for record in records:
                    event = orjson.loads(record.value)
                    (self.closed if event["state"] == "CLOSED" else self.opened)[event["position_id"]] = now
                    if event["state"] == "CLOSED":
                        continue
                    if (record.topic, event["intent_id"]) not in self.seen:
                        self.seen[(record.topic, event["intent_id"])] = now
                        self.counted += event["signal_id"] in self.counting
                    self.published.setdefault((record.topic, event["intent_id"]), perf_time(record.timestamp))
                    self.signal_of[event["intent_id"]] = event["signal_id"]

    def read_published(self, records: list[Any]) -> None:
        for record in records:
            intent = orjson.loads(record.value)["intent_id"]
            self.published.setdefault((record.topic, intent), perf_time(record.timestamp))


# Kafka record timestamps are wall-clock milliseconds; the bench times with perf_counter.
_EPOCH_OFFSET = time.time() - time.perf_counter()


MAX_AGENTS_TRIED = 100


class EvenSpread:
    """Keys taken as they come, up to `want`, so that no partition holds more than its even share (rounded up)."""

    def __init__(self, want: int, partitions: int) -> None:
        self.want = want
        self.share = -(-want // partitions)
        self.counts = [0] * partitions
        self.taken: list[str] = []

    @property
    def full(self) -> bool:
        return len(self.taken) == self.want

    def take(self, key: str, partition: int) -> bool:
        if self.full or self.counts[partition] >= self.share:
            return False
        self.counts[partition] += 1
        self.taken.append(key)
        return True


async def stack_lag(bootstrap: str, prefix: str = "vprime.") -> int:
    """Records the stack's consumer groups (those named with `prefix`) have yet to handle: each partition's end offset
    minus the group's committed offset, over every partition a group has committed to."""
    async with offset_readers(bootstrap, "bench-lag") as (admin, probe):
        behind = 0
        for group, *_ in await admin.list_consumer_groups():
            if not group.startswith(prefix):
                continue
            committed = {tp: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items() if meta.offset >= 0}
            ends = await probe.end_offsets(list(committed)) if committed else {}
            behind += sum(max(ends[tp] - offset, 0) for tp, offset in committed.items())
        return behind


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: what exists is collected once and frozen out of the collector's reach
    first, and what is made inside waits for the next collection after."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def perf_time(timestamp_ms: int) -> float:
    return timestamp_ms / 1e3 - _EPOCH_OFFSET


class Bench:
    def __init__(self, home: Path, fan_out: int, agents: int) -> None:
        self.home = home
        self.fan_out = fan_out
        self.agents_n = agents
        self.infra = LocalInfra(home=home, kafka_port=27192, kafka_controller_port=27193, pg_port=27532)
        self.stack = ServiceStack(home=home, bootstrap=self.infra.bootstrap,
                                  database_urls={s: self.infra.database_url(s) for s in SERVICES}, ports=PORTS,
                                  extra_env={"LOG_LEVEL": "WARNING", "SIMULATOR_FEED_INSTRUMENTS": ""})
        self.agents: list[str] = []
        self.partition_spread: dict[str, list[int]] = {}
        self.stop_agent = ""
        self.watch = Watch()
        self.speed = machine.SpeedProbe(home / "speed.txt")
        self.tick_s = ceiling.TICK_S

    async def __aenter__(self) -> Bench:
        await asyncio.to_thread(self.stack.down)  # whatever an interrupted run left behind
        await asyncio.to_thread(self.infra.down)
        for state in ("kafka-data", "pg-data", "logs", "run"):
            shutil.rmtree(self.home / state, ignore_errors=True)
        self.speed.__enter__()
        try:
            await self._start()
        except BaseException:
            await asyncio.to_thread(self.stack.down)
            await asyncio.to_thread(self.infra.down)
            self.speed.__exit__()
            raise
        return self

    async def _start(self) -> None:
        await asyncio.to_thread(self.infra.up)
        await asyncio.to_thread(self.stack.up, 180)
        self.producer = AIOKafkaProducer(bootstrap_servers=self.infra.bootstrap, linger_ms=1, acks="all", enable_idempotence=True)
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(LIVE, bootstrap_servers=self.infra.bootstrap, auto_offset_reset="latest",
                                         group_id=f"bench-{uuid.uuid4().hex[:6]}")
        await self.consumer.start()
        self.history = AIOKafkaConsumer(bootstrap_servers=self.infra.bootstrap, enable_auto_commit=False)
        await self.history.start()
        self.history_partitions = [TopicPartition(t, p) for t in PUBLISHED for p in sorted(await self.producer.partitions_for(t))]
        self.history.assign(self.history_partitions)
        self.db = await asyncpg.connect(self.infra.admin_database_url)
        self.watcher = asyncio.create_task(self.watch.run(self.consumer))
        await self._setup()

    async def __aexit__(self, *exc: object) -> None:
        self.watcher.cancel()
        await self.consumer.stop()
        await self.history.stop()
        await self.producer.stop()
        await self.db.close()
        await asyncio.to_thread(self.stack.down)
        await asyncio.to_thread(self.infra.down)
        self.speed.__exit__()

    async def _setup(self) -> None:
        control = self.stack.url("control")
        signal_partitions = len(await self.producer.partitions_for(Signal.TOPIC))
        async with httpx.AsyncClient(timeout=20, headers=operator_headers(self.home)) as http:
            async def create_agent(n: int) -> str:
                wallet = f"0x{n + 1:040x}"
                return (await http.post(f"{control}/api/v3/agents/create", json={
                    "creator_wallet": wallet, "name": f"bench {n}", "profit_receiver_address": wallet})).raise_for_status().json()["agent"]["id"]

            async def deploy(agent: str, deployments: int) -> list[str]:
                return [(await http.post(f"{control}/api/v3/agents/deploy", json={
                    "agent_id": agent, "user_wallet": f"0x{d + 1:040x}", "enabled_venues": ["HYPERLIQUID", "OSTIUM", "GMX"]},
                )).raise_for_status().json()["deployment"]["id"] for d in range(deployments)]

            # Signals are keyed by agent: agents are taken so that each partition of signals.v1 carries as many as the
            # others, give or take one (five random ids leave a partition without any in about two runs of five).
            spread = EvenSpread(self.agents_n, signal_partitions)
            deployments: list[str] = []
            created = 0
            while not spread.full:
                if created == MAX_AGENTS_TRIED:
                    raise RuntimeError(f"no even spread of {self.agents_n} agents over {signal_partitions} partitions in {created} agents")
                agent = await create_agent(created)
                created += 1
                if spread.take(agent, partition_of(agent.encode(), signal_partitions)):
                    deployments += await deploy(agent, self.fan_out)
            self.agents = spread.taken
            # Intents, decisions, orders and positions are keyed by deployment: how those spread is reported, not chosen.
            intent_partitions = len(await self.producer.partitions_for(Intent.TOPIC))
            self.partition_spread = {Signal.TOPIC: spread.counts, Intent.TOPIC: [
                sum(partition_of(d.encode(), intent_partitions) == p for d in deployments) for p in range(intent_partitions)]}
            say(f"agents per partition of {Signal.TOPIC}: {spread.counts}; deployments per partition of {Intent.TOPIC}: "
                f"{self.partition_spread[Intent.TOPIC]} ({created} agents created for {self.agents_n} evenly spread)")
            self.stop_agent = await create_agent(created)  # one more agent, one deployment: the stop-reaction probe
            await deploy(self.stop_agent, 1)
        await asyncio.sleep(3)  # registry events reach policy
        # Kafka's JVM compiles its hot paths under load, over about its first minute of it (until then it spends up
        # to twice the CPU per message); the first rate should not pay for that.
        await self.stream(rate=float(os.environ.get("BENCH_WARMUP_RATE", 150)), seconds=float(os.environ.get("BENCH_WARMUP_S", 30)),
                          label="warm-up")
        # A database that has run a while is what is measured, and a fresh one differs from it in two ways that stall
        # commits. Its tables are not vacuumed: the first autovacuum of a table after the checkpoint that follows marks
        # each page the warm-up filled all-visible, and with data checksums (PostgreSQL's default) that writes the
        # whole page to the WAL, page after page, while every commit waits for the WAL behind it.
        await self.db.execute("VACUUM (ANALYZE)")
        # And it has few WAL segment files to reuse: each 16 MB of WAL past them is a new file that a committing backend
        # fills with zeros and flushes while the others wait (14-42 ms each here; at 200 signals/s, one every 1.6 s).
        # A database that has run a while at this load has as many as `min_wal_size` keeps, renamed for reuse by each
        # checkpoint; so has this one, after the checkpoint that makes them spare.
        counted = (await self.db.fetchrow(MAINTENANCE))["wal_segments_created"]
        made = await make_spare_wal_segments(self.db)
        # The files made are counted as created (`wal_segments_created`) when the backends that made them report their
        # statistics, up to a second later: wait for them, so that the first stream does not count them. A backend that
        # has gone idle may report later still, so the first stream can still count one or two.
        deadline = time.monotonic() + 5
        while (await self.db.fetchrow(MAINTENANCE))["wal_segments_created"] - counted < made and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        say(f"WAL segment files ready for reuse: {(await self.db.fetchrow(WAL_FILES))['spare']} ({made} made after the warm-up)")

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: each Vprime service (all its instances), Kafka, PostgreSQL (every backend, and
        the backends of each service's role apart: `postgres: policy` is the database work policy asks for)."""
        used: dict[str, float] = defaultdict(float)
        for pid_file in (self.home / "run").glob("*.pid"):
            name = pid_file.stem.split(".")[0]
            try:
                pid = int(pid_file.read_text().strip())
            except (OSError, ValueError):
                continue
            used[name] += _cpu_s(pid)
        postmaster = self.home / "pg-data" / "postmaster.pid"
        if postmaster.exists():
            pid = int(postmaster.read_text().split()[0])
            # A backend that exits (autovacuum workers come and go) takes its CPU out of the sum of the live ones; its
            # parent has it once it is reaped, and counts it as background work (services' connections stay open).
            used["postgres"] = _cpu_s(pid) + (reaped := _cpu_s(pid, reaped=True))
            used["postgres: background"] = reaped
            for child in _children(pid):
                used["postgres"] += (spent := _cpu_s(child))
                used[f"postgres: {_backend_of(child)}"] += spent
        used["bench (this process)"] = _cpu_s(os.getpid())
        return dict(used)

    async def publish(self, signal: Signal) -> float:
        at = time.perf_counter()
        await self.producer.send(Signal.TOPIC, signal.model_dump_json().encode(), key=str(signal.agent_id).encode())
        return at

    async def stream(self, rate: float, seconds: float, label: str, drain_s: float = 120.0) -> dict[str, Any]:
        """Offer `rate` signals/s for `seconds`, on a schedule (a late send does not push the next one back)."""
        total = int(rate * seconds)
        sent: dict[str, float] = {}
        since = await self.history.end_offsets(self.history_partitions)
        db_before = dict(await self.db.fetchrow(MAINTENANCE))
        # The bench's collector is kept out of the stream: a full collection over what it holds of every intent so far
        # stopped it for up to 95 ms at a time, and positions arriving meanwhile were timed late.
        with collector_paused():
            cpu_before, since_s, times_before = self.cpu(), time.monotonic(), machine.cpu_times()
            self.watch.count(sent)
            started = time.perf_counter()
            async for n in ceiling.paced(total, rate, started, self.tick_s):
                s = Signal(agent_id=uuid.UUID(self.agents[n % len(self.agents)]), signal_id=uuid.uuid4(),
                           instrument=INSTRUMENTS[n % len(INSTRUMENTS)], side=Side.LONG if n % 2 else Side.SHORT,
                           size_model=SizeModel(value=1), risk_model=RiskModel(type="none"), confidence=0.9,
                           requested_venue=RequestedVenue.MULTI, origin=SignalOrigin.MANUAL)
                sent[str(s.signal_id)] = await self.publish(s)
            stream_end = time.perf_counter()
            expected = total * self.fan_out
            deadline = stream_end + drain_s
            while time.perf_counter() < deadline and self.watch.counted < expected:
                await asyncio.sleep(0.05)
            cpu_after, wall = self.cpu(), time.perf_counter() - started  # before reading back what was published
            speed = self.speed.between(since_s, time.monotonic())
            times_after = machine.cpu_times()
            speed["stolen_pct"], speed["busy_pct"] = machine.stolen(times_before, times_after), machine.busy(times_before, times_after)
        db_after = dict(await self.db.fetchrow(MAINTENANCE))
        await self._read_published(since)
        result = self._report(label, rate, sent, started, stream_end, expected)
        per_intent = max(result["intents_completed"], 1)
        result["database"] = (seen := maintenance(db_before, db_after, result["intents_completed"]))
        say(f"    postgres during it: {seen['checkpoints']} checkpoint(s), {seen['autovacuums']} autovacuum(s) "
            f"({seen['autovacuum_s']} s, analyzes included), "
            f"{seen['wal_kb_per_intent']} KB of WAL per intent ({seen['full_page_images_per_intent']} full-page images), "
            f"{seen['wal_segments_created']} WAL segment file(s) created")
        result["machine_speed"] = speed
        if speed["samples"]:
            say(f"    the machine's speed meanwhile: the probe's work took {speed['p50_us']:g} µs (p10 {speed['p10_us']:g}, "
                f"p90 {speed['p90_us']:g}); the host took {speed['stolen_pct']} % of the CPUs' time")
        if speed["busy_pct"] is not None:  # None where the machine's counters cannot be read
            say(f"    the machine was {speed['busy_pct']} % busy (its CPUs' time with work to run, all processes)")
        result["cpu"] = {name: {"cpu_s": round(cpu_after[name] - cpu_before.get(name, 0.0), 2),
                                "cores": round((cpu_after[name] - cpu_before.get(name, 0.0)) / wall, 2),
                                "ms_per_intent": round((cpu_after[name] - cpu_before.get(name, 0.0)) * 1e3 / per_intent, 2)}
                         for name in sorted(cpu_after)}
        return result

    async def _read_published(self, since: dict[TopicPartition, int]) -> None:
        """The stream's intents, decisions and orders, read back from where they started: their publication times."""
        until = await self.history.end_offsets(self.history_partitions)
        for tp, offset in since.items():
            self.history.seek(tp, offset)
        while [tp for tp in self.history_partitions if await self.history.position(tp) < until[tp]]:
            for records in (await self.history.getmany(timeout_ms=1000, max_records=5000)).values():
                self.watch.read_published(records)

    def _intents_of(self, sent: dict[str, float]) -> dict[str, str]:
        return {intent: signal for intent, signal in self.watch.signal_of.items() if signal in sent}

    def _report(self, label: str, rate: float, sent: dict[str, float], started: float, stream_end: float, expected: int) -> dict[str, Any]:
        seen, published = self.watch.seen, self.watch.published
        end_to_end, stages = [], defaultdict(list)
        by_send_time: list[tuple[float, float]] = []
        last = stream_end
        for intent, signal in self._intents_of(sent).items():
            if (LIVE, intent) in seen:
                end_to_end.append(seen[(LIVE, intent)] - sent[signal])
                by_send_time.append((sent[signal] - started, end_to_end[-1]))
                last = max(last, seen[(LIVE, intent)])
            at = {"signal": sent[signal], **{t: published[(t, intent)] for t in (*PUBLISHED, LIVE) if (t, intent) in published}}
            for stage, (a, b) in STAGES.items():
                if a in at and b in at:
                    stages[stage].append(at[b] - at[a])
        completed = len(end_to_end)
        result = {"label": label, "offered_signals_per_s": rate, "offered_intents_per_s": rate * self.fan_out,
                  "signals": len(sent), "intents_expected": expected, "intents_completed": completed,
                  "completed_intents_per_s": round(completed / max(last - started, 1e-9), 1),
                  "drain_s": round(last - stream_end, 2), "lag_growth_s_per_s": round(lag_growth(by_send_time), 3),
                  "end_to_end": summary_ms(end_to_end),
                  "stages": {k: summary_ms(v) for k, v in stages.items()}, "latencies_s": end_to_end}
        result["sustained"] = (completed == expected and result["drain_s"] < DRAIN_LIMIT_S
                               and result["lag_growth_s_per_s"] < LAG_GROWTH_LIMIT_S_PER_S)
        say(f"{label}: {rate:g} signals/s × {self.fan_out} = {completed}/{expected} intents, "
            f"p50 {result['end_to_end']['p50_ms']} ms, p99 {result['end_to_end']['p99_ms']} ms, "
            f"{result['completed_intents_per_s']} intents/s, drained {result['drain_s']} s after the stream, "
            f"lag growing {result['lag_growth_s_per_s']} s/s ({'sustained' if result['sustained'] else 'not sustained'})")
        return result

    async def caught_up(self, timeout_s: float = 120.0) -> float:
        """Wait until every consumer group of the stack has handled what was published (the rates before leave some of
        them behind: the read models, the router's executions); the seconds it took."""
        started = time.monotonic()
        while (behind := await stack_lag(self.infra.bootstrap)) and time.monotonic() - started < timeout_s:
            await asyncio.sleep(0.5)
        waited = time.monotonic() - started
        say(f"stack caught up in {waited:.1f} s" if not behind else f"stack still {behind} records behind after {waited:.0f} s")
        return round(waited, 1)

    async def stop_reaction(self, cycles: int = 30) -> dict[str, Any]:
        """Open a position with a 3 % trailing stop, publish a tick 10 % against it, time the CLOSED event; once the
        stack has caught up with what the rates before left it (a stop that comes while a backlog drains waits
        behind it: that is the backlog's latency, measured by the rates)."""
        caught_up_s = await self.caught_up()
        samples: list[float] = []
        mid = 3000.0
        await self._tick(mid)
        for _ in range(cycles):
            s = Signal(agent_id=uuid.UUID(self.stop_agent), signal_id=uuid.uuid4(), instrument=STOP_INSTRUMENT, side=Side.LONG,
                       size_model=SizeModel(value=1), risk_model=RiskModel(type="trailing-stop", stop=0.03), confidence=0.9,
                       requested_venue=RequestedVenue.MULTI, origin=SignalOrigin.MANUAL)
            await self.publish(s)
            before = set(self.watch.opened)
            position = await self._wait(lambda: next(iter(set(self.watch.opened) - before), None))
            if position is None:
                continue
            await asyncio.sleep(0.05)  # the executor has committed the position before it published it
            mid *= 0.9
            published = await self._tick(mid)
            closed_at = await self._wait(lambda: self.watch.closed.get(position))
            if closed_at is not None:
                samples.append(closed_at - published)
        result = {"cycles": cycles, "caught_up_s": caught_up_s, **summary_ms(samples)}
        say(f"stop reaction: tick → CLOSED p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms over {len(samples)} stops")
        return result

    async def _tick(self, mid: float) -> float:
        tick = MarketTick(venue="HYPERLIQUID", instrument=STOP_INSTRUMENT, bid=mid * 0.9999, ask=mid * 1.0001, mid=mid, ts=utcnow())
        at = time.perf_counter()
        await self.producer.send_and_wait(MarketTick.TOPIC, tick.model_dump_json().encode(), key=STOP_INSTRUMENT.encode())
        return at

    @staticmethod
    async def _wait(found: Any, timeout_s: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (value := found()) is not None:
                return value
            await asyncio.sleep(0.002)
        return None


def router_in_process() -> dict[str, Any]:
    out = REPO / ".vprime" / "bench" / "router.json"
    subprocess.run([sys.executable, str(REPO / "services/router/bench/decision_latency.py"), "--json", str(out)], check=True,
                   capture_output=True, timeout=600)
    return json.loads(out.read_text())["results"]


async def one_run(bench: Bench, rates: list[float], seconds: float) -> dict[str, Any]:
    result: dict[str, Any] = {"rates": [], "ceiling": []}
    for rate in rates:
        result["rates"].append(await bench.stream(rate, seconds, f"vprime @ {rate:g}/s"))
        await asyncio.sleep(2)
    result["stop_reaction"] = await bench.stop_reaction()
    async def bare(rate: float) -> dict[str, Any]:
        measured = await ceiling.measure(bench.infra.bootstrap, rate, seconds, bench.fan_out)
        measured["end_to_end"] = summary_ms(measured["latencies_s"])
        measured["saturated"] = ceiling.saturated(measured)
        say(f"ceiling @ {rate:g}/s: p50 {measured['end_to_end']['p50_ms']} ms, p99 {measured['end_to_end']['p99_ms']} ms, "
            f"{measured['completed_per_s']:.0f} messages/s{' (saturated)' if measured['saturated'] else ''}")
        result["ceiling"].append(measured)
        return measured

    for rate in rates:  # beside Vprime's figures, rate for rate
        await bare(rate)
    # Then its ceiling (the last measurement).
    await ceiling.find_ceiling(bare, float(os.environ.get("BENCH_CEILING_RATE", 3000)),
                               float(os.environ.get("BENCH_CEILING_MAX_RATE", 48000)))
    return result


async def scaling(bench: Bench, rate: float, seconds: float, one: dict[str, Any]) -> dict[str, Any]:
    """The slowest stage's service with a second instance in its consumer groups, at the highest rate."""
    stages = one["stages"]
    slowest = max(stages, key=lambda s: stages[s]["p50_ms"]) if stages else "executor"
    await asyncio.to_thread(bench.stack.start, slowest, 1)
    await asyncio.to_thread(bench.stack.wait_healthy, 120, (slowest,), 1)
    await asyncio.sleep(8)  # the consumer groups rebalance
    two = await bench.stream(rate, seconds, f"vprime @ {rate:g}/s, 2 × {slowest}")
    await asyncio.to_thread(bench.stack.stop, slowest, 1)
    return {"service": slowest, "one_instance": _slim(one), "two_instances": _slim(two)}


def _slim(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "latencies_s"}


async def main_async() -> dict[str, Any]:
    home = Path.cwd() / ".vprime" / "bench"
    runs = int(os.environ.get("BENCH_RUNS", 1))
    rates = [float(r) for r in os.environ.get("BENCH_RATES", "50,200,340,500").split(",")]
    seconds = float(os.environ.get("BENCH_SECONDS", 10))
    fan_out = int(os.environ.get("BENCH_FAN_OUT", 3))
    started = time.monotonic()
    exchanges = await asyncio.to_thread(machine.exchange_costs)  # on a quiet machine, before the stack comes up
    say(f"this machine: {os.cpu_count()} CPUs; {machine.describe(exchanges)}")
    all_runs = []
    async with Bench(home, fan_out=fan_out, agents=5) as bench:
        for n in range(runs):
            say(f"run {n + 1} of {runs}")
            all_runs.append(await one_run(bench, rates, seconds))
        scaled = await scaling(bench, rates[-1], seconds, all_runs[-1]["rates"][-1])
    router = router_in_process()
    report = _aggregate(all_runs, rates, fan_out, seconds)
    report.update({"router_in_process": router, "scaling": scaled, "runs": runs, "seconds_per_rate": seconds,
                   "tick_ms": bench.tick_s * 1e3,
                   "total_s": round(time.monotonic() - started, 1), "machine": {"cpus": os.cpu_count(), "process_round_trip": exchanges},
                   "partition_spread": bench.partition_spread})
    (home / "bench.json").write_text(json.dumps(report, indent=2, default=str))
    _plot(all_runs, home / "bench.png")
    _print(report)
    say(f"report: {home / 'bench.json'}, plot: {home / 'bench.png'}")
    return report


def _aggregate(runs: list[dict[str, Any]], rates: list[float], fan_out: int, seconds: float) -> dict[str, Any]:
    """Per rate: min/median/max across runs of p50/p99 and throughput; ceiling beside it."""
    def spread(values: list[float]) -> dict[str, float]:
        return {"min": round(min(values), 2), "median": round(statistics.median(values), 2), "max": round(max(values), 2)}

    table = []
    for i, rate in enumerate(rates):
        ours = [r["rates"][i] for r in runs]
        bare = [r["ceiling"][i] for r in runs]
        table.append({
            "signals_per_s": rate, "intents_per_s_offered": rate * fan_out,
            "p50_ms": spread([o["end_to_end"]["p50_ms"] for o in ours]), "p95_ms": spread([o["end_to_end"]["p95_ms"] for o in ours]),
            "p99_ms": spread([o["end_to_end"]["p99_ms"] for o in ours]),
            "completed_intents_per_s": spread([o["completed_intents_per_s"] for o in ours]),
            "drain_s": spread([o["drain_s"] for o in ours]), "lag_growth_s_per_s": spread([o["lag_growth_s_per_s"] for o in ours]),
            "sustained": all(o["sustained"] for o in ours),
            "stages_p50_ms": {k: v["p50_ms"] for k, v in ours[-1]["stages"].items()},
            "ceiling_p50_ms": spread([b["end_to_end"]["p50_ms"] for b in bare]),
            "ceiling_p99_ms": spread([b["end_to_end"]["p99_ms"] for b in bare]),
            "ceiling_messages_per_s": spread([b["completed_per_s"] for b in bare]),
            # in how many runs a checkpoint or an autovacuum fell inside this rate's stream
            "streams_with_checkpoint": sum(o["database"]["checkpoints"] > 0 for o in ours),
            "streams_with_autovacuum": sum(o["database"]["autovacuums"] > 0 for o in ours),
            "wal_kb_per_intent": spread([o["database"]["wal_kb_per_intent"] for o in ours]),
            "wal_segments_created": spread([o["database"]["wal_segments_created"] for o in ours]),
            "autovacuum_s": spread([o["database"]["autovacuum_s"] for o in ours]),
            # how long the speed probe's fixed work took during this rate's streams (the machine's speed, µs)
            "machine_speed_p50_us": spread([o["machine_speed"]["p50_us"] for o in ours if o["machine_speed"]["samples"]] or [0.0]),
            # the share of the CPUs' time the host took from the machine meanwhile (steal, %)
            "machine_stolen_pct": spread([o["machine_speed"].get("stolen_pct") or 0.0 for o in ours]),
            # the share of the CPUs' time with work to run meanwhile (everything on the machine, %): how near saturation
            "machine_busy_pct": spread([o["machine_speed"].get("busy_pct") or 0.0 for o in ours]),
        })
    sustained = [row["completed_intents_per_s"]["median"] for row in table if row["sustained"]]
    best = max((row["completed_intents_per_s"]["median"] for row in table), default=0.0)
    saturated = [r["ceiling"][-1] for r in runs]
    ceiling_best = statistics.median(c["completed_per_s"] for c in saturated)
    return {"fan_out": fan_out, "table": table,
            "max_sustained_intents_per_s": max(sustained, default=0.0), "max_completed_intents_per_s": best,
            "ceiling_max_messages_per_s": ceiling_best,
            "throughput_ratio_to_ceiling": round(best / ceiling_best, 3) if ceiling_best else None,
            "ceiling_saturated": {"offered_signals_per_s": saturated[-1]["offered_signals_per_s"],
                                  # false: it kept up with the largest offer, and its ceiling is above this figure
                                  "saturated": all(c["saturated"] for c in saturated),
                                  "messages_per_s": spread([c["completed_per_s"] for c in saturated]),
                                  "p99_ms": spread([summary_ms(c["latencies_s"])["p99_ms"] for c in saturated])},
            "cpu_at_highest_rate": runs[-1]["rates"][-1]["cpu"],
            "stop_reaction": [r["stop_reaction"] for r in runs]}


def _plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    last = runs[-1]
    for r in last["rates"]:
        values = sorted(v * 1e3 for v in r["latencies_s"])
        if values:
            left.plot(values, [i / len(values) for i in range(len(values))], label=f"Vprime {r['offered_signals_per_s']:g}/s")
    for c in last["ceiling"]:
        values = sorted(v * 1e3 for v in c["latencies_s"])
        if values:
            left.plot(values, [i / len(values) for i in range(len(values))], linestyle="--",
                      label=f"bare aiokafka {c['offered_signals_per_s']:g}/s")
    left.set_xscale("log")
    left.set_xlabel("signal published → position received (ms, log)")
    left.set_ylabel("fraction of intents")
    left.set_title("End-to-end latency (CDF)")
    left.legend(fontsize=8)
    offered = [r["offered_intents_per_s"] for r in last["rates"]]
    right.plot(offered, [r["completed_intents_per_s"] for r in last["rates"]], marker="o", label="Vprime")
    fan_out = last["rates"][0]["offered_intents_per_s"] / last["rates"][0]["offered_signals_per_s"] if last["rates"] else 1
    right.plot([c["offered_signals_per_s"] * fan_out for c in last["ceiling"]], [c["completed_per_s"] for c in last["ceiling"]],
               marker="s", linestyle="--", label="bare aiokafka")
    right.set_xscale("log")
    right.set_yscale("log")
    everything = offered + [c["offered_signals_per_s"] * fan_out for c in last["ceiling"]]
    right.plot(sorted(everything), sorted(everything), color="grey", linewidth=0.8, label="offered")
    right.set_xlabel("offered intents/s")
    right.set_ylabel("completed intents/s")
    right.set_title("Throughput against offered load")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _spread(values: dict[str, float], unit: str = "") -> str:
    """A min/median/max spread as the summary prints it: the median, then min–max."""
    return f"{values['median']:g}{unit} ({values['min']:g}–{values['max']:g})"


def _print(report: dict[str, Any]) -> None:
    print(f"\n{'signals/s':>9} {'intents/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'done/s':>8} {'drain s':>8} {'lag s/s':>8} "
          f"{'sustained':>9}  {'bare p50':>8} {'bare p99':>8} {'bare msg/s':>10}  stages p50 ms")
    for row in report["table"]:
        stages = ", ".join(f"{k} {v}" for k, v in row["stages_p50_ms"].items())
        print(f"{row['signals_per_s']:>9g} {row['intents_per_s_offered']:>9g} {row['p50_ms']['median']:>8} {row['p95_ms']['median']:>8} "
              f"{row['p99_ms']['median']:>8} {row['completed_intents_per_s']['median']:>8} {row['drain_s']['median']:>8} "
              f"{row['lag_growth_s_per_s']['median']:>8} {'yes' if row['sustained'] else 'no':>9}  {row['ceiling_p50_ms']['median']:>8} {row['ceiling_p99_ms']['median']:>8} "
              f"{row['ceiling_messages_per_s']['median']:>10}  {stages}")
    print("postgres during the streams (in how many of the runs): " + "; ".join(
        f"{row['signals_per_s']:g}/s: checkpoint {row['streams_with_checkpoint']}, autovacuum {row['streams_with_autovacuum']} "
        f"({row['autovacuum_s']['min']:g}–{row['autovacuum_s']['max']:g} s), "
        f"WAL {row['wal_kb_per_intent']['median']} KB/intent, WAL segment files created {row['wal_segments_created']['min']:g}–"
        f"{row['wal_segments_created']['max']:g}" for row in report["table"]))
    print("the machine's speed during the streams (the probe's fixed work, µs; lower is faster; and the CPU time the host "
          "took, %): " + "; ".join(
        f"{row['signals_per_s']:g}/s: {_spread(row['machine_speed_p50_us'])}, {_spread(row['machine_stolen_pct'], ' %')}"
        for row in report["table"]))
    print("how busy the machine was during the streams (its CPUs' time with work to run, %): " + "; ".join(
        f"{row['signals_per_s']:g}/s: {_spread(row['machine_busy_pct'])}" for row in report["table"]))
    print(f"max sustained: {report['max_sustained_intents_per_s']} intents/s; best completed {report['max_completed_intents_per_s']} "
          f"intents/s = {report['throughput_ratio_to_ceiling']} of the bare pipeline's {report['ceiling_max_messages_per_s']:.0f} messages/s"
          + ("" if report["ceiling_saturated"]["saturated"] else " (it kept up with the largest offer: its ceiling is higher, the share lower)"))
    print("CPU at the highest rate (cores busy, and ms of CPU per completed intent):")
    for name, used in sorted(report["cpu_at_highest_rate"].items(), key=lambda kv: -kv[1]["cpu_s"]):
        print(f"    {name:<22} {used['cores']:>5} cores  {used['ms_per_intent']:>7} ms/intent")
    for stop in report["stop_reaction"]:
        print(f"stop reaction (tick → CLOSED): p50 {stop['p50_ms']} ms, p99 {stop['p99_ms']} ms over {stop['n']} stops")
    for strategy, r in report["router_in_process"].items():
        print(f"router in-process {strategy}: {r}")
    print(f"machine: {report['machine']['cpus']} CPUs; {machine.describe(report['machine']['process_round_trip'])}")
    s = report["scaling"]
    print(f"scaling {s['service']}: 1 instance {s['one_instance']['completed_intents_per_s']} intents/s "
          f"(p99 {s['one_instance']['end_to_end']['p99_ms']} ms); 2 instances {s['two_instances']['completed_intents_per_s']} intents/s "
          f"(p99 {s['two_instances']['end_to_end']['p99_ms']} ms)")


def main() -> None:
    uvloop.run(main_async())  # the services' event loop; the bench shares their machine, so it spends as little as it can


if __name__ == "__main__":
    main()
