"""The router's whole-batch path on real Postgres: a batch of intents (a rejection, one intent twice, one taken
up before, one no venue can take) routed in process and written in one statement, inbox rows and all, each new
decision and its order in the outbox, in the batch's order, under the trace of the intent it answers."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.e2e.helpers import one_statement, rolled_back_schema
from vprime_shared.batches import Received
from vprime_shared.contracts import Intent, IntentStatus, RequestedVenue, RiskModel, Side
from vprime_shared.contracts.base import utcnow
from vprime_shared.unit_of_work import Tx

from vprime_router.domain.catalog import fixture_catalogs
from vprime_router.adapters.repository import RouterRepository
from vprime_router.handlers import intents_received
from vprime_router.settings import RouterSettings
from vprime_router.state import RouterState

pytestmark = pytest.mark.integration


conn = rolled_back_schema("router", json_codec=True)  # as the service's connections: JSON in and out as values


def an_intent(instrument: str = "BTC", status: IntentStatus = IntentStatus.APPROVED) -> Intent:
    return Intent(intent_id=uuid.uuid4(), signal_id=uuid.uuid4(), agent_id=uuid.uuid4(), deployment_id=uuid.uuid4(),
                  status=status, instrument=instrument, side=Side.LONG, size_pct=5, leverage=2,
                  risk_model=RiskModel(type="none"), requested_venue=RequestedVenue.MULTI)


def traced(intent: Intent) -> Received[Intent]:
    return Received(intent, {"traceparent": f"00-{intent.intent_id.hex}-{'1' * 16}-01"}, intent.model_dump_json().encode())


async def outbox_rows(conn: asyncpg.Connection, *intents: Intent) -> int:
    """Outbox rows about `intents` (the live service writes to the same table)."""
    return await conn.fetchval("SELECT count(*) FROM outbox WHERE (convert_from(payload, 'UTF8')::jsonb ->> 'intent_id')::uuid "
                               "= ANY($1::uuid[])", [i.intent_id for i in intents])


async def test_a_batch_of_intents_is_routed_and_recorded_in_one_statement(conn: asyncpg.Connection) -> None:
    state = RouterState(RouterSettings())
    state.catalogs = fixture_catalogs(utcnow())
    routed, twice, before, nowhere = an_intent(), an_intent("ETH"), an_intent(), an_intent("NOSUCHCOIN")
    rejected = an_intent(status=IntentStatus.REJECTED)
    async with one_statement(conn, "router", [traced(before)]) as tx:
        await intents_received(tx, [traced(before)], state, utcnow())  # taken up by an earlier batch
    before_taken = Intent(**{**before.model_dump(), "event_id": uuid.uuid4()})  # the same intent, published again

    batch = [traced(rejected), traced(routed), traced(twice), traced(before_taken), traced(nowhere), traced(twice)]
    async with one_statement(conn, "router", batch) as tx:
        decisions = await intents_received(tx, batch, state, utcnow())
    assert tx.inbox is not None and tx.inbox.fresh == {r.event.event_id for r in batch}  # every event, once

    assert [d.intent_id for d in decisions] == [routed.intent_id, twice.intent_id, nowhere.intent_id]
    assert decisions[0].selected_venue is not None and decisions[2].selected_venue is None
    mine = [i.intent_id for i in (routed, twice, nowhere)]
    intents = {r["intent_id"]: r for r in await conn.fetch(
        "SELECT intent_id, attempts, tried, settled, payload FROM intents WHERE intent_id = ANY($1::uuid[])", mine)}
    assert (intents[routed.intent_id]["attempts"], intents[routed.intent_id]["tried"], intents[routed.intent_id]["settled"]) == (
        1, [decisions[0].selected_venue.value], False)
    assert (intents[nowhere.intent_id]["tried"], intents[nowhere.intent_id]["settled"]) == ([], True)  # no venue: over
    assert Intent.model_validate(intents[twice.intent_id]["payload"]) == twice  # what a failover routes again
    history = {r["intent_id"]: r for r in await conn.fetch(
        "SELECT intent_id, selected_venue, checked_venues, costs, attempt FROM routing_history WHERE intent_id = ANY($1::uuid[])", mine)}
    assert len(history) == 3 and all(h["attempt"] == 1 for h in history.values())
    assert history[routed.intent_id]["checked_venues"] == [v.value for v in decisions[0].checked_venues]
    assert set(history[routed.intent_id]["costs"]) == {v.value for v in decisions[0].costs}
    published = await conn.fetch(
        "SELECT topic, headers, convert_from(payload, 'UTF8')::jsonb ->> 'intent_id' AS intent_id FROM outbox "
        "WHERE (convert_from(payload, 'UTF8')::jsonb ->> 'intent_id')::uuid = ANY($1::uuid[]) ORDER BY id", mine)
    assert [(r["topic"], uuid.UUID(r["intent_id"])) for r in published] == [
        ("routing.decisions.v1", routed.intent_id), ("orders.v1", routed.intent_id),
        ("routing.decisions.v1", twice.intent_id), ("orders.v1", twice.intent_id), ("routing.decisions.v1", nowhere.intent_id)]
    # Each event carries the trace of the intent it answers.
    assert all(r["headers"]["traceparent"].split("-")[1] == r["intent_id"].replace("-", "") for r in published)

    # The same batch again (a redelivery): every event is in the inbox, so nothing is decided, recorded or published.
    written = await outbox_rows(conn, routed, twice, nowhere)
    async with one_statement(conn, "router", batch) as tx:
        assert await intents_received(tx, batch, state, utcnow()) == []
    assert tx.inbox is not None and tx.inbox.fresh == set()
    assert await outbox_rows(conn, routed, twice, nowhere) == written == 5


async def test_work_without_a_transaction_refuses_to_leave_a_write_for_a_second_statement(conn: asyncpg.Connection) -> None:
    """Publishing after the statement (or leaving the inbox unwritten) would be a second transaction: refused."""
    intent = an_intent()
    with pytest.raises(RuntimeError, match="one statement"):
        async with one_statement(conn, "router", [traced(intent)]) as tx:
            await tx.publish(intent)
    with pytest.raises(RuntimeError, match="one statement"):
        async with one_statement(conn, "router", [traced(intent)]):
            pass
    assert await outbox_rows(conn, intent) == 0


async def test_fills_settle_their_intents_in_one_statement_only_for_the_latest_attempt(conn: asyncpg.Connection) -> None:
    state = RouterState(RouterSettings())
    state.catalogs = fixture_catalogs(utcnow())
    latest, older = an_intent(), an_intent("ETH")
    async with one_statement(conn, "router", [traced(latest), traced(older)]) as tx:
        await intents_received(tx, [traced(latest), traced(older)], state, utcnow())
    await conn.execute("UPDATE intents SET attempts = 2 WHERE intent_id = $1", older.intent_id)  # a failover routed it again

    async with Tx.on(conn) as tx:
        for intent in (latest, older):
            RouterRepository.settle(tx, intent.intent_id, 1)
        RouterRepository.settle(tx, latest.intent_id, 1)  # the same fill twice in the batch

    settled = dict(await conn.fetch("SELECT intent_id, settled FROM intents WHERE intent_id = ANY($1::uuid[])",
                                    [latest.intent_id, older.intent_id]))
    assert settled == {latest.intent_id: True, older.intent_id: False}  # the first attempt's fill is old news for `older`
