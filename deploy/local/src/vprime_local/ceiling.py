"""The machine's ceiling for Vprime's pipeline shape: bare aiokafka, no database, no validation.

A signal goes through three hops, as in Vprime (policy, router, executor), each its own process that
consumes a topic, parses the JSON and produces to the next; the first hop fans each signal out to
`fan_out` messages, as policy does to a signal's deployments. What one signal costs here is what
Kafka, JSON and process hops cost on this machine; Vprime's figures are read as a ratio to it.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from vprime_shared.kafka import ensure_topics

HOPS = 3
# How often the bench wakes to send what fell due (`BENCH_TICK_MS`): see `paced`.
TICK_S = float(os.environ.get("BENCH_TICK_MS", 10)) / 1e3


async def paced(total: int, rate: float, started: float, tick_s: float = TICK_S) -> AsyncIterator[int]:
    """0 … total − 1, each once it is due at `rate` a second from `started` (a late one does not push the next back).
    The sender wakes at most once a `tick_s`, `tick_s` after the first of what is due: whatever fell due meanwhile goes
    out together, in one produce request, as an upstream producer that batches would send it. Each is timed from when
    it was sent, so none is counted earlier than it left. Sending each on its own wake-up (`tick_s` 0) spends the
    machine a wake-up and a produce request per signal, in the bench and in Kafka: at 200 signals/s about 0.1 ms of
    the machine's CPU per intent."""
    for n in range(total):
        if (wait := started + n / rate - time.perf_counter()) > 0:
            await asyncio.sleep(wait + tick_s)
        yield n


# A measurement is saturated when less than this share of what was offered came through over the stream and its drain
# (as Vprime's rates are: a capacity above about 95 % of the offer keeps up).
KEEPS_UP_SHARE = 0.95


def saturated(measured: dict) -> bool:
    """Whether the pipeline fell short of the offer: then what it completed per second is its ceiling."""
    offered = measured["offered_signals_per_s"] * measured["expected"] / max(measured["signals"], 1)
    return measured["completed_per_s"] < KEEPS_UP_SHARE * offered


async def find_ceiling(measure: Callable[[float], Awaitable[dict]], start: float, most: float) -> dict:
    """`measure` at `start` signals/s, the offer doubled until the pipeline no longer keeps up or the next offer would
    pass `most`; the last measurement."""
    rate = start
    while not (measured := await measure(rate))["saturated"] and rate * 2 <= most:
        rate *= 2
    return measured


def _topics(run: str) -> list[str]:
    return [f"bench.ceiling.{run}.{i}" for i in range(HOPS + 1)]


async def _relay(bootstrap: str, source: str, target: str, fan_out: int) -> None:
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=f"{source}-relay", auto_offset_reset="earliest",
                                enable_auto_commit=True)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1, acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    try:
        async for record in consumer:
            event = json.loads(record.value)
            for i in range(fan_out):
                out = json.dumps({**event, "leg": i}).encode()
                await producer.send(target, out, key=record.key)
    finally:
        await consumer.stop()
        await producer.stop()


def _relay_process(bootstrap: str, source: str, target: str, fan_out: int) -> None:
    asyncio.run(_relay(bootstrap, source, target, fan_out))


async def measure(bootstrap: str, rate: float, seconds: float, fan_out: int, partitions: int = 3,
                  drain_s: float = 30.0) -> dict:
    """Offer `rate` signals/s for `seconds`; latency from publish to the last topic, per fanned-out message."""
    run = uuid.uuid4().hex[:8]
    topics = _topics(run)
    await ensure_topics(bootstrap, topics, partitions)  # made, and led, before the relays and the sink consume them
    ctx = multiprocessing.get_context("spawn")
    relays = [ctx.Process(target=_relay_process, args=(bootstrap, topics[i], topics[i + 1], fan_out if i == 0 else 1), daemon=True)
              for i in range(HOPS)]
    for p in relays:
        p.start()
    sink = AIOKafkaConsumer(topics[-1], bootstrap_servers=bootstrap, auto_offset_reset="latest", group_id=f"sink-{run}")
    await sink.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await _warm_up(producer, sink, topics[0], fan_out)
        sent: dict[str, float] = {}
        latencies: list[float] = []
        expected = int(rate * seconds) * fan_out

        async def receive() -> None:
            async for record in sink:
                event = json.loads(record.value)
                if event["id"] in sent:
                    latencies.append(time.perf_counter() - sent[event["id"]])
                    if len(latencies) >= expected:
                        return

        receiver = asyncio.create_task(receive())
        started = time.perf_counter()
        async for _ in paced(int(rate * seconds), rate, started):
            sid = uuid.uuid4().hex
            sent[sid] = time.perf_counter()
            await producer.send(topics[0], json.dumps({"id": sid, "instrument": "ETH", "side": "LONG"}).encode(), key=sid[:8].encode())
        stream_end = time.perf_counter()
        try:
            await asyncio.wait_for(receiver, drain_s)
        except TimeoutError:
            pass
        done = time.perf_counter()
        return {"offered_signals_per_s": rate, "signals": int(rate * seconds), "messages": len(latencies), "expected": expected,
                "completed_per_s": len(latencies) / max(done - started, 1e-9), "drain_s": done - stream_end,
                "latencies_s": latencies}
    finally:
        await producer.stop()
        await sink.stop()
        for p in relays:
            p.terminate()
        for p in relays:
            p.join(10)


async def _warm_up(producer: AIOKafkaProducer, sink: AIOKafkaConsumer, first: str, fan_out: int, timeout_s: float = 60.0,
                   stream: int = 400, rate: float = 200.0) -> None:
    """Until the pipeline is in its steady state, as Vprime's stack is when it is measured (the bench warms it up).

    First until one message goes all the way (every relay has joined its group, the sink sees the end); then a
    short keyed stream, so that every partition of every hop has been fetched and produced to. Without the
    stream, the first half second of a measured stream met that set-up: in 10 s at 200 signals/s, 230-300 of
    6,000 messages took 50-300 ms, all of them in that half second, and p99 was 160-245 ms against a p90 of
    11-20 ms."""
    deadline = time.monotonic() + timeout_s
    while True:
        if time.monotonic() > deadline:
            raise RuntimeError("the bare pipeline did not carry a message end to end")
        await producer.send_and_wait(first, json.dumps({"id": "warm-up"}).encode())
        batch = await sink.getmany(timeout_ms=2000)
        if any(records for records in batch.values()):
            break
    started = time.monotonic()
    for n in range(stream):
        if (wait := started + n / rate - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        await producer.send(first, json.dumps({"id": f"warm-up-{n}"}).encode(), key=uuid.uuid4().hex[:8].encode())
    seen = 0
    while seen < stream * fan_out and time.monotonic() < deadline:
        batch = await sink.getmany(timeout_ms=1000)
        seen += sum(len(records) for records in batch.values())
