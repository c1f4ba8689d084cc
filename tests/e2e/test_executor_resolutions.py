"""The executor's set-based phases on real Postgres, each one statement (the service runs it with no transaction of
its own). Claiming: a batch of orders (one of them twice, one claimed before) recorded SENDING with the batch's inbox
rows, with the prices their paper fills use read once. Resolving: a mixed list of outcomes (a fill, a refusal, a venue
away, an order recovery resolved first, the same outcome twice) recorded with one position for the fill and each
resolved order's events in the outbox, in order."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import asyncpg
import httpx
import pytest

from tests.e2e.helpers import one_statement, rolled_back_schema
from vprime_shared import ids
from vprime_shared.contracts import MarketTick, Order, RiskModel, Side, Venue
from vprime_shared.contracts.base import utcnow
from vprime_shared.unit_of_work import Tx

from vprime_venues.execution import VenueFill, VenueRefused, VenueUnavailable
from vprime_shared.batches import Received

from vprime_executor.adapters.credentials import CredentialStore, load_kek, new_kek
from vprime_executor.adapters.repository import PostgresRepository
from vprime_executor.handlers import claim_orders, resolve_all, tick_received
from vprime_executor.settings import ExecutorSettings
from vprime_executor.venues import VenueRouter

pytestmark = pytest.mark.integration
VENUES = SimpleNamespace(settings=SimpleNamespace(paper_equity_usd=10_000.0))  # all resolve_all reads of the venues


conn = rolled_back_schema("executor")
decoded = rolled_back_schema("executor", json_codec=True)  # JSON decoded, as the service reads it


def paper_only() -> VenueRouter:
    """The venue router of an executor without a venue API: every order goes to paper."""
    return VenueRouter(ExecutorSettings(venue_api_url=""), None, CredentialStore(None))


PAPER = paper_only().paper_route(Venue.HYPERLIQUID)


def an_order(*, stop: float | None = 0.05, instrument: str = "eth", venue: Venue = Venue.HYPERLIQUID,
             deployment_id: uuid.UUID | None = None) -> Order:
    return Order(order_id=uuid.uuid4(), intent_id=uuid.uuid4(), signal_id=uuid.uuid4(), agent_id=uuid.uuid4(),
                 deployment_id=deployment_id or uuid.uuid4(), venue=venue, venue_symbol=instrument.upper(), instrument=instrument,
                 side=Side.LONG, size_pct=10, leverage=1, taker_fee_bps=4.5,
                 risk_model=RiskModel(type="trailing-stop" if stop else "none", stop=stop))


async def sending(conn: asyncpg.Connection, *, stop: float | None = 0.05, status: str = "SENDING", instrument: str = "eth") -> Order:
    order = an_order(stop=stop, instrument=instrument)
    await conn.execute(
        """INSERT INTO orders (order_id, client_order_id, intent_id, deployment_id, venue, venue_symbol, side, status, resolved_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $8 = 'SENDING' THEN NULL ELSE now() END)""",
        order.order_id, ids.client_order_id(order.order_id), order.intent_id, order.deployment_id, order.venue.value,
        order.venue_symbol, order.side.value, status,
    )
    return order


async def test_a_mixed_list_of_outcomes_resolves_in_one_statement(conn: asyncpg.Connection) -> None:
    filled, refused, away, recovered = (await sending(conn), await sending(conn, stop=None), await sending(conn),
                                        await sending(conn, status="FILLED"))
    fill = VenueFill(price=3000.0, qty=0.5, notional_usd=1500.0, fee_usd=0.68, venue_order_id="v-1")
    items = [(filled, fill, PAPER, {}), (refused, VenueRefused("market closed", venue_specific=True), PAPER, {}),
             (away, VenueUnavailable("timed out"), PAPER, {}), (recovered, fill, PAPER, {}), (filled, fill, PAPER, {})]

    async with Tx.on(conn, transaction=False) as tx:
        results = await resolve_all(PostgresRepository.of(tx), items, VENUES)  # type: ignore[arg-type]

    assert [r.status.value if r else None for r in results] == ["FILLED", "REJECTED", "FAILED", None, None]
    assert results[1] is not None and results[1].venue_specific and not results[1].retryable
    assert results[2] is not None and results[2].retryable
    rows = {r["order_id"]: r for r in await conn.fetch("SELECT order_id, status, reason, fill_price, qty FROM orders")}
    assert (rows[filled.order_id]["status"], rows[filled.order_id]["reason"], rows[filled.order_id]["fill_price"]) == ("FILLED", "filled", 3000.0)
    assert (rows[refused.order_id]["status"], rows[refused.order_id]["reason"]) == ("REJECTED", "market closed")
    assert (rows[away.order_id]["status"], rows[away.order_id]["fill_price"]) == ("FAILED", None)
    assert rows[recovered.order_id]["reason"] == ""  # recovery's resolution stands
    mine = [o.order_id for o in (filled, refused, away, recovered)]  # the service's own rows are there too
    [position] = await conn.fetch("SELECT position_id, order_id, entry_price, best_price, stop_fraction, watched, payload FROM positions "
                                  "WHERE order_id = ANY($1::uuid[])", mine)
    assert position["order_id"] == filled.order_id and position["position_id"] == ids.position_id(filled.order_id)
    assert (position["entry_price"], position["best_price"], position["stop_fraction"], position["watched"]) == (3000.0, 3000.0, 0.05, True)
    assert json.loads(position["payload"])["qty"] == 0.5
    published = await conn.fetch("SELECT topic, key, payload FROM outbox "
                                 "WHERE (convert_from(payload, 'UTF8')::jsonb ->> 'order_id')::uuid = ANY($1::uuid[]) ORDER BY id", mine)
    assert [(r["topic"], json.loads(r["payload"])["order_id"]) for r in published] == [
        ("executions.v1", str(filled.order_id)), ("positions.v1", str(filled.order_id)),
        ("executions.v1", str(refused.order_id)), ("executions.v1", str(away.order_id))]
    assert json.loads(position["payload"]) == json.loads(published[1]["payload"])  # the position as published, encoded once


async def test_a_batch_of_orders_is_claimed_in_one_statement_with_its_prices(conn: asyncpg.Connection) -> None:
    coin, other = f"T{uuid.uuid4().hex[:8]}".upper(), f"T{uuid.uuid4().hex[:8]}".upper()
    await conn.executemany("INSERT INTO prices (venue, instrument, mid, ts) VALUES ($1, $2, $3, now())",
                           [("HYPERLIQUID", coin, 101.0), ("*", coin, 99.0), ("*", other, 7.0)])
    first, second, before = an_order(instrument=coin), an_order(instrument=other, venue=Venue.OSTIUM), await sending(conn)
    batch = [Received(first, {"traceparent": "a"}), Received(before, {}), Received(second, {"traceparent": "b"}),
             Received(first, {"traceparent": "again"})]
    instance = uuid.uuid4()

    async with one_statement(conn, "executor", batch) as tx:
        claimed = await claim_orders(PostgresRepository.of(tx), batch, paper_only(), instance)
    assert tx.inbox is not None and tx.inbox.fresh == {first.event_id, before.event_id, second.event_id}

    # Each order once, in the batch's order, with the trace of its first delivery; the one claimed before is left out.
    assert [(c.order.order_id, c.trace) for c in claimed] == [(first.order_id, {"traceparent": "a"}),
                                                              (second.order_id, {"traceparent": "b"})]
    rows = await conn.fetch("SELECT order_id, status, mode, claimed_by, payload FROM orders WHERE order_id = ANY($1::uuid[]) ORDER BY created_at",
                            [first.order_id, second.order_id])
    assert {(r["order_id"], r["status"], r["mode"], r["claimed_by"]) for r in rows} == {
        (first.order_id, "SENDING", "paper", instance), (second.order_id, "SENDING", "paper", instance)}
    assert Order.model_validate(json.loads(rows[0]["payload"])) in (first, second)  # what recovery sends, if it must
    assert all(c.route.mode == "paper" for c in claimed)
    prices = claimed[0].route.adapter.prices  # the batch's prices, read once, which its paper fills use
    assert await prices.latest("HYPERLIQUID", coin.lower()) == 101.0  # the venue's own price first
    assert await prices.latest("OSTIUM", other) == 7.0  # else any venue's
    assert await prices.latest("GMX", "NOTRADED") is None

    # The same batch again (a redelivery): its events are in the inbox, so nothing is claimed.
    async with one_statement(conn, "executor", batch) as tx:
        assert await claim_orders(PostgresRepository.of(tx), batch, paper_only(), instance) == []
    assert tx.inbox is not None and tx.inbox.fresh == set()


async def test_an_order_goes_to_its_venue_only_when_its_deployment_holds_a_key(conn: asyncpg.Connection) -> None:
    """The claim routes each order: a deployment with a key for the order's venue sends it there, signed by that key; one
    without a key, or with a key for another venue, trades on paper, at the prices read for the batch. With no venue
    API, only Hyperliquid (reached at its own host) trades on a venue."""
    coin = f"T{uuid.uuid4().hex[:8]}".upper()
    await conn.execute("INSERT INTO prices (venue, instrument, mid, ts) VALUES ('*', $1, 42.0, now())", coin)
    keyed, unkeyed, other_venue = an_order(instrument=coin), an_order(instrument=coin), an_order(instrument=coin)
    credentials = CredentialStore(load_kek(new_kek(), ""))
    address = await credentials.generate(conn, keyed.deployment_id, keyed.venue)
    await credentials.generate(conn, other_venue.deployment_id, Venue.GMX)
    async with httpx.AsyncClient() as http:
        venues = VenueRouter(ExecutorSettings(venue_api_url="http://127.0.0.1:9"), http, credentials, db=conn)
        batch = [Received(o, {}) for o in (keyed, unkeyed, other_venue)]
        async with one_statement(conn, "executor", batch) as tx:
            claimed = {c.order.order_id: c for c in await claim_orders(PostgresRepository.of(tx), batch, venues, uuid.uuid4())}

        route = claimed[keyed.order_id].route
        assert route.mode == "venue" and route.signer is not None and route.signer.address == address
        assert route.adapter is venues.adapter(keyed.venue)
        assert claimed[unkeyed.order_id].route.mode == "paper" and claimed[other_venue.order_id].route.mode == "paper"
        assert claimed[unkeyed.order_id].route.adapter.venue is unkeyed.venue  # paper fills on HYPERLIQUID are on HYPERLIQUID
        assert await claimed[unkeyed.order_id].route.adapter.prices.latest(unkeyed.venue.value, coin) == 42.0
        modes = dict(await conn.fetch("SELECT order_id, mode FROM orders WHERE order_id = ANY($1::uuid[])", list(claimed)))
        assert modes == {keyed.order_id: "venue", unkeyed.order_id: "paper", other_venue.order_id: "paper"}

        # With no venue API (VENUE_API_URL empty) a GMX key trades on paper; a Hyperliquid key still trades on
        # Hyperliquid, at its own host.
        gmx = an_order(instrument=coin, deployment_id=other_venue.deployment_id, venue=Venue.GMX)
        hyperliquid = an_order(instrument=coin, deployment_id=keyed.deployment_id)
        again = [Received(gmx, {}), Received(hyperliquid, {})]
        venues.settings = ExecutorSettings(venue_api_url="")
        async with one_statement(conn, "executor", again) as tx:
            off = {c.order.order_id: c.route for c in await claim_orders(PostgresRepository.of(tx), again, venues, uuid.uuid4())}
        assert off[gmx.order_id].mode == "paper"
        assert off[hyperliquid.order_id].mode == "venue" and off[hyperliquid.order_id].signer.address == address


async def test_an_order_is_resolved_exactly_when_it_is_no_longer_sending(conn: asyncpg.Connection) -> None:
    """Resolving finds unresolved orders by `resolved_at`; the schema keeps that the same as status SENDING."""
    order = await sending(conn)
    with pytest.raises(asyncpg.CheckViolationError):
        async with conn.transaction():
            await conn.execute("UPDATE orders SET status = 'FILLED' WHERE order_id = $1", order.order_id)
    with pytest.raises(asyncpg.CheckViolationError):
        async with conn.transaction():
            await conn.execute("UPDATE orders SET resolved_at = now() WHERE order_id = $1", order.order_id)


async def test_each_close_of_a_position_is_an_attempt_of_its_own(decoded: asyncpg.Connection) -> None:
    """A tick that closes a position marks it CLOSING as its next close attempt; a refused close releases it, and the
    next close is attempt 2. Recovery reads the attempt in flight."""
    coin = f"T{uuid.uuid4().hex[:8]}".upper()
    order = await sending(decoded, instrument=coin)  # a 5 % trailing stop
    async with Tx.on(decoded, transaction=False) as tx:
        await resolve_all(PostgresRepository.of(tx), [(order, VenueFill(100.0, 1.0, 100.0, 0.0, "v-1"), PAPER, {})], VENUES)  # type: ignore[arg-type]
    repo, position_id = PostgresRepository(decoded), ids.position_id(order.order_id)

    def tick(mid: float) -> MarketTick:
        return MarketTick(venue="HYPERLIQUID", instrument=coin, bid=mid, ask=mid, mid=mid, ts=utcnow())

    assert await tick_received(repo, tick(101.0)) == []  # the best price moves up, nothing closes
    [first] = await tick_received(repo, tick(90.0))
    assert (first.position.position_id, first.attempt) == (position_id, 1)
    assert await tick_received(repo, tick(89.0)) == []  # closing already: a tick leaves it to its close
    await repo.release_close(position_id)  # refused
    [second] = await tick_received(repo, tick(89.0))
    assert second.attempt == 2 and second.reason.startswith("trailing_stop")
    [in_flight] = [c for c in await repo.closing_positions(utcnow()) if c.position.position_id == position_id]
    assert in_flight.attempt == 2
