"""`vprime publish posts|research|ticks FILE.jsonl`: validate each line against the topic's contract and
publish it, keyed as the topic wants, with progress on stderr. Invalid lines are reported by number and
skipped; nothing valid is held back by them."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from vprime_shared.contracts import Event, MarketTick, Post, Research

KINDS: dict[str, type[Event]] = {"posts": Post, "research": Research, "ticks": MarketTick}


@dataclass
class Report:
    published: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0


def parse(kind: str, lines: list[str]) -> tuple[list[Event], list[tuple[int, str]]]:
    model = KINDS[kind]
    events: list[Event] = []
    invalid: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            events.append(model.model_validate(orjson.loads(line)))
        except orjson.JSONDecodeError as exc:
            invalid.append((number, f"not JSON: {exc}"))
        except ValidationError as exc:
            invalid.append((number, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())))
    return events, invalid


async def publish_file(kind: str, path: Path, bootstrap: str, *, progress_every: int = 500) -> Report:
    events, invalid = parse(kind, path.read_text().splitlines())
    report = Report(invalid=invalid)
    for number, reason in invalid:
        print(f"[vprime] {path}:{number}: skipped, {reason}", file=sys.stderr)
    started = time.monotonic()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        pending = []
        for i, event in enumerate(events, start=1):
            pending.append(await producer.send(event.TOPIC, event.model_dump_json().encode(), key=event.partition_key().encode()))
            if i % progress_every == 0 or i == len(events):
                for future in pending:
                    await future
                pending.clear()
                report.published = i
                rate = i / max(time.monotonic() - started, 1e-6)
                print(f"[vprime] {i}/{len(events)} {kind} published ({rate:,.0f}/s)", file=sys.stderr)
    finally:
        await producer.stop()
    report.seconds = time.monotonic() - started
    return report
