"""Session fixtures for integration and end-to-end tests: real Kafka, real Postgres, and every
service running as its own process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from vprime_local.stack import ServiceStack, operator_headers
from vprime_shared.db import SERVICES
from vprime_shared.kafka import ensure_topics

from tests.infra import TEST_HOME, Endpoints, endpoints
from tests.otlp import SpanSink

TEST_PORTS = {service: 18000 + i for i, service in enumerate(("control", "query", "signal", "policy", "router", "executor"))}
TEST_PORTS["simulator"] = 18010
TEST_PORTS["chain"] = 18545


@pytest.fixture(scope="session")
def infra() -> Iterator[Endpoints]:
    with endpoints() as found:
        print(f"\n[tests] infrastructure: {found.how}; kafka {found.bootstrap}")
        yield found


@pytest.fixture(scope="session")
def spans() -> Iterator[SpanSink]:
    """Where every service's spans arrive (OTLP/HTTP), for tests to read."""
    sink = SpanSink(14318).start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def stack(infra: Endpoints, spans: SpanSink) -> Iterator[ServiceStack]:
    asyncio.run(ensure_topics(infra.bootstrap))
    services = ServiceStack(
        home=TEST_HOME,
        bootstrap=infra.bootstrap,
        database_urls={s: infra.database_url(s) for s in SERVICES},
        ports=TEST_PORTS,
        extra_env={
            "OUTBOX_POLL_INTERVAL_S": "0.5",
            "LOG_LEVEL": "INFO",
            "NONCE_RATE_PER_MINUTE": "600",  # every test signs in from 127.0.0.1; the limit itself is tested on its own
            # Fast clocks for routing health: sync every second, breakers open after 2 failures for 3 s.
            "SYNC_INTERVAL_S": "1",
            "STALE_AFTER_S": "20",
            "BREAKER_FAILURES": "2",
            "BREAKER_OPEN_S": "3",
            "VENUE_TIMEOUT_S": "1.5",
            "SIMULATOR_TIMEOUT_S": "4",
            "SIMULATOR_FEED_INSTRUMENTS": "ZEC",  # a live feed, on an instrument no other test trades
            "SIMULATOR_TICK_INTERVAL_S": "0.5",
            "RECOVERY_INTERVAL_S": "1",
            "RECOVERY_GRACE_S": "1",
            "RECONCILE_INTERVAL_S": "2",
            "OTEL_EXPORTER_OTLP_ENDPOINT": spans.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "CONSUMER_LAG_INTERVAL_S": "2",
        },
    )
    try:
        services.up(timeout_s=180)
        yield services
    finally:
        services.down()


@pytest.fixture(scope="session")
def control_url(stack: ServiceStack) -> str:
    return stack.url("control")


@pytest.fixture(scope="session")
def query_url(stack: ServiceStack) -> str:
    return stack.url("query")


@pytest_asyncio.fixture(scope="session")
async def http(stack: ServiceStack) -> AsyncIterator[httpx.AsyncClient]:
    """A client carrying the local operator's token: tests set up agents for any wallet. Wallet sign-in
    and ownership are tested on their own (tests/e2e/test_auth.py)."""
    async with httpx.AsyncClient(timeout=15, headers=operator_headers(stack.home)) as client:
        yield client


@pytest_asyncio.fixture(scope="session")
async def admin_db(infra: Endpoints) -> AsyncIterator[asyncpg.Pool]:
    """A superuser pool on the Vprime database, for tests to look into each service's schema."""
    pool = await asyncpg.create_pool(infra.admin_database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="session")
async def producer(infra: Endpoints) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=infra.bootstrap, enable_idempotence=True)
    await p.start()
    yield p
    await p.stop()


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 60, interval: float = 0.25, what: str = "") -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}; last value: {last!r}")
