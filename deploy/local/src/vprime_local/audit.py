"""Security and robustness audits of a running Vprime, shared by `make reliability` and the test suite:
where secrets turn up, whether each service's role stays in its schema, and a schema-driven HTTP fuzz."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from vprime_shared.db import SERVICES
from vprime_shared.kafka import all_topics

KEY_TABLE = ("executor", "credentials")  # the one place venue keys may be, sealed


async def secret_hits(db: asyncpg.Pool, bootstrap: str, logs: Path, needles: list[str], log_needles: list[str] = ()) -> list[str]:
    """Every place a needle turns up: any table of any schema but the executor's sealed credentials
    (outbox payloads decoded), any record of any topic (DLQs included, headers too), any log file.
    `log_needles` are searched in the logs only (e.g. the credentials key, bearer tokens)."""
    hits: list[str] = []
    for schema in SERVICES:
        tables = await db.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
                                schema)
        for t in tables:
            if (schema, t["table_name"]) == KEY_TABLE:
                continue
            for needle in needles:
                if await db.fetchval(f"SELECT count(*) FROM {schema}.{t['table_name']} x WHERE strpos(x::text, $1) > 0", needle):
                    hits.append(f"table {schema}.{t['table_name']}")
        for row in await db.fetch(f"SELECT convert_from(payload, 'UTF8') AS p FROM {schema}.outbox"):
            if any(n in row["p"] for n in needles):
                hits.append(f"outbox payload in {schema}")
                break
    scanned, topic_hits = await _topic_hits(bootstrap, needles)
    hits += topic_hits
    if scanned == 0:
        hits.append("no Kafka record could be scanned")
    for log in sorted(logs.glob("*.log")):
        text = log.read_text(errors="replace")
        if any(n in text for n in [*needles, *log_needles]):
            hits.append(f"log {log.name}")
    return hits


async def _topic_hits(bootstrap: str, needles: list[str]) -> tuple[int, list[str]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    hits: set[str] = set()
    scanned = 0
    try:
        partitions = []
        for topic in all_topics():
            if not consumer.partitions_for_topic(topic):
                await consumer._client.force_metadata_update()  # noqa: SLF001 - metadata for topics nobody subscribed to
            partitions += [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)  # up to now: the tick feed never goes quiet
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                for rec in records:
                    scanned += 1
                    blob = (rec.value or b"") + b"".join(v for _, v in rec.headers)
                    if any(n.encode() in blob for n in needles):
                        hits.add(f"topic {rec.topic}")
    finally:
        await consumer.stop()
    return scanned, sorted(hits)


async def role_breaches(database_url: Callable[[str], str]) -> list[str]:
    """Each service's role reads its own schema; every read of another's must be refused."""
    breaches = []
    for service in SERVICES:
        conn = await asyncpg.connect(database_url(service))
        try:
            await conn.fetchval("SELECT count(*) FROM outbox")  # its own, unqualified
            for other in SERVICES:
                if other == service:
                    continue
                try:
                    await conn.fetch(f"SELECT * FROM {other}.outbox LIMIT 1")
                    breaches.append(f"{service} read {other}.outbox")
                except asyncpg.InsufficientPrivilegeError:
                    pass
        finally:
            await conn.close()
    return breaches


def fuzz(base_url: str, headers: dict[str, str] | None = None, examples: int = 25, timeout_s: float = 600) -> tuple[bool, str]:
    """Schemathesis over the service's OpenAPI document: no 5xx and no request over 10 s. (passed, tail of its report)"""
    auth = [arg for name, value in (headers or {}).items() for arg in ("--header", f"{name}: {value}")]
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/openapi.json", "--checks", "not_a_server_error",
         "--max-examples", str(examples), "--phases", "examples,fuzzing", "--exclude-path-regex", "/stream/", "--workers", "1",
         "--request-timeout", "10", *auth],
        capture_output=True, text=True, timeout=timeout_s,
    )
    return result.returncode == 0, (result.stdout[-4000:] + result.stderr[-2000:]).strip()
