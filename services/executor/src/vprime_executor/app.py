"""Wiring: the executor's subscribers, recovery and reconciliation loops, internal API. No logic here."""

import asyncio
import logging
import uuid
from datetime import timedelta

import httpx
from prometheus_client import Gauge

from vprime_shared.batches import Received
from vprime_shared.contracts import Execution, MarketTick, Order, Position
from vprime_shared.runtime import ServiceRuntime
from vprime_shared.telemetry import attached
from vprime_shared.unit_of_work import Tx

from vprime_executor import handlers, reconciliation, recovery
from vprime_executor.adapters.credentials import CredentialStore, load_kek
from vprime_executor.adapters.repository import PostgresRepository, PostgresStore
from vprime_executor.api import internal_api
from vprime_executor.adapters.nonces import PostgresNonces
from vprime_executor.adapters.transactions import PostgresJournal
from vprime_executor.domain.backlog import SendBacklog
from vprime_executor.settings import ExecutorSettings
from vprime_executor.venues import VenueRouter

log = logging.getLogger(__name__)
RECONCILIATION_DIFFERENCES = Gauge("vprime_reconciliation_differences", "Venue positions that differ from ours, last round")

settings = ExecutorSettings()
runtime = ServiceRuntime(settings, package="vprime_executor")
runtime.publishes(Execution, Position)
credentials = CredentialStore(load_kek(settings.credentials_key, settings.credentials_key_file),
                              key_import_ttl_s=settings.key_import_ttl_s)
venues = VenueRouter(settings, None, credentials)
in_flight: set[uuid.UUID] = set()
# Claimed in the batch being handled (with its route and trace); sent once the batch commits.
claimed_now: dict[uuid.UUID, handlers.Claimed] = {}
sending = asyncio.Semaphore(settings.send_concurrency)  # venue calls under way at once
outstanding = SendBacklog(settings.send_backlog)  # sends under way
INSTANCE_ID = uuid.uuid4()  # this process: orders it claims carry it; its heartbeat says it is alive
loops: list[asyncio.Task[None]] = []
store: PostgresStore  # set on start, once the database is there
resolutions: handlers.Resolutions


async def keep_resolving() -> None:
    grace = timedelta(seconds=settings.recovery_grace_s)
    dead_after = timedelta(seconds=max(3 * settings.recovery_interval_s, 3.0))
    rounds = 0
    while True:
        try:
            await recovery.heartbeat(store, INSTANCE_ID)
            await recovery.recover(store, venues, in_flight, grace, INSTANCE_ID, dead_after,
                                   timedelta(seconds=settings.resend_within_s))
            if rounds % max(int(settings.reconcile_interval_s / settings.recovery_interval_s), 1) == 0:
                RECONCILIATION_DIFFERENCES.set(len(await reconciliation.reconcile(store.outside, venues)))
                await recovery.count_open_positions(store)
        except Exception:  # a bad round must not end recovery
            log.exception("recovery round failed")
        rounds += 1
        await asyncio.sleep(settings.recovery_interval_s)


async def start(_: ServiceRuntime) -> None:
    global resolutions, store
    store = PostgresStore(runtime.uow)
    resolutions = handlers.Resolutions(store, venues)
    venues.db = runtime.pool
    venues.http = httpx.AsyncClient(timeout=httpx.Timeout(settings.venue_timeout_s))
    venues.nonces = PostgresNonces(runtime.pool)  # unique per signing wallet across instances and restarts
    venues.journal = PostgresJournal(runtime.pool)  # on-chain sends, looked up after a lost answer or a restart
    loops.append(asyncio.create_task(keep_resolving(), name="order-recovery"))


async def stop(_: ServiceRuntime) -> None:
    for task in loops:
        task.cancel()
    if outstanding:  # sends under way finish (or are left SENDING, for recovery) before the database goes
        await asyncio.wait(outstanding.tasks, timeout=settings.venue_timeout_s + 2)
    if venues.http is not None:
        await venues.http.aclose()
    await venues.close()


runtime.on_start.append(start)
runtime.on_stop.append(stop)


@runtime.subscriber(MarketTick)
async def on_tick(event: MarketTick) -> None:
    # No inbox for ticks (the busiest topic): the price upsert is idempotent by timestamp, and a
    # redelivered tick finds the positions it closed already closed.
    async with runtime.uow.begin() as tx:
        closing = await handlers.tick_received(PostgresRepository.of(tx), event)
    if closing:
        await handlers.close_positions(store, venues, closing, at=handlers.tick_prices(event))


async def send_claimed(orders: list[Order]) -> None:
    """Phase two for a batch's claimed orders: sent side by side (a venue call is mostly waiting, for a
    keeper above all), each resolved with whatever else came back meanwhile (`Resolutions`).

    The consumer does not wait for them: it claims the next batch while these are sent, so claiming,
    sending and resolving overlap instead of taking turns. Their offsets can be committed already:
    a claimed order is durable (SENDING), and recovery resolves one a crash interrupts."""
    for order in orders:
        if order.order_id in claimed_now:
            task = asyncio.create_task(send(claimed_now.pop(order.order_id)), name=f"send-{order.order_id}")
            outstanding.add(task)
    await outstanding.room()  # backpressure: venues (or the database) slower than orders come


async def send(claimed: handlers.Claimed) -> None:
    order = claimed.order
    try:
        with attached(claimed.trace):  # the order's own trace: its execution and position continue it
            await handlers.send_order(store, order, claimed.route, resolutions, venue_calls=sending, crash=settings.executor_crash)
    except Exception:  # left SENDING: recovery asks the venue and resolves it
        log.exception("sending order %s failed; recovery will resolve it", order.order_id)
    finally:
        in_flight.discard(order.order_id)


# Phase one for a batch of orders, in one statement (inbox rows and all): each recorded SENDING and claimed by this
# instance (and marked in flight, so recovery leaves it alone) before any of them is sent.
@runtime.batch_subscriber(Order, after_commit=send_claimed, together=True, one_statement=True)
async def on_orders(tx: Tx, received: list[Received[Order]]) -> None:
    for claimed in await handlers.claim_orders(PostgresRepository.of(tx), received, venues, INSTANCE_ID):
        in_flight.add(claimed.order.order_id)
        claimed_now[claimed.order.order_id] = claimed


app = runtime.http_app(internal_api(credentials, settings.internal_api_token), title="Vprime executor")
app.state.runtime = runtime
