"""What a unit of work tells its process's outbox relay when it ends: committed, rolled back, released (a savepoint),
or unsure (no answer came while its commit was under way). A fake connection stands in for Postgres; the effect on
real Postgres and Kafka is in tests/e2e/test_outbox_relay.py."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import asyncpg
import pytest

from vprime_shared.contracts import Event
from vprime_shared.outbox import Written
from vprime_shared.unit_of_work import Tx


class Note(Event):
    TOPIC: ClassVar[str] = "notes"
    n: int

    def partition_key(self) -> str:
        return "k"


class Connection:
    """As much of an asyncpg connection as `Tx.on` uses. `failing` is what the COMMIT (or the one statement) meets."""

    def __init__(self, *, in_transaction: bool = False, failing: BaseException | None = None) -> None:
        self.in_transaction, self.failing = in_transaction, failing

    def is_in_transaction(self) -> bool:
        return self.in_transaction

    @asynccontextmanager
    async def transaction(self) -> Any:
        outer, self.in_transaction = self.in_transaction, True
        try:
            yield
            if self.failing is not None:  # the body went through: the COMMIT (or RELEASE) fails
                raise self.failing
        finally:
            self.in_transaction = outer

    async def statement(self, tx: Tx) -> None:
        """A handler's one statement, which writes one outbox row (id 7), or fails without an answer."""
        if self.failing is not None:
            raise self.failing
        await write_row_7(tx)


async def write_row_7(tx: Tx) -> None:
    """What a statement that writes the outbox does: the row it wrote handed back to `tx`."""
    event = Note(n=7)
    await tx.publish(event)
    tx.wrote(tx.outgoing(), {"outbox_ids": [7], "outbox_events": [event.event_id]})


class Relay:
    """Records what it is told."""

    leading = True

    def __init__(self) -> None:
        self.told: list[tuple[str, list[int]]] = []

    def _note(self, what: str, rows: Sequence[Written]) -> None:
        self.told.append((what, [row.id for row in rows]))

    def writing(self, rows: Sequence[Written]) -> None:
        if rows:  # (a flush with nothing left to write says so too)
            self._note("writing", rows)

    def committed(self, rows: Sequence[Written]) -> None:
        self._note("committed", rows)

    def rolled_back(self, rows: Sequence[Written]) -> None:
        self._note("rolled_back", rows)

    def released(self, rows: Sequence[Written]) -> None:
        self._note("released", rows)

    def unsure(self, rows: Sequence[Written]) -> None:
        self._note("unsure", rows)


def lost() -> BaseException:
    return asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")


async def transaction_writing_row_7(conn: Connection, relay: Relay, *, fail_in_body: BaseException | None = None) -> None:
    async with Tx.on(conn, relay) as tx:  # type: ignore[arg-type]
        await write_row_7(tx)
        if fail_in_body is not None:
            raise fail_in_body


@pytest.mark.parametrize("failure", [lost(), ConnectionResetError(), asyncio.CancelledError(), TimeoutError()],
                         ids=["connection lost", "reset", "cancelled", "timeout"])
async def test_a_commit_that_got_no_answer_leaves_the_relay_unsure_of_its_rows(failure: BaseException) -> None:
    relay = Relay()
    with pytest.raises(type(failure)):
        await transaction_writing_row_7(Connection(failing=failure), relay)
    assert relay.told == [("writing", [7]), ("unsure", [7])]


async def test_a_commit_postgres_refused_rolled_back() -> None:
    relay = Relay()
    with pytest.raises(asyncpg.UniqueViolationError):  # e.g. a deferred constraint, checked at commit
        await transaction_writing_row_7(Connection(failing=asyncpg.UniqueViolationError("duplicate key")), relay)
    assert relay.told == [("writing", [7]), ("rolled_back", [7])]


async def test_a_failure_before_the_commit_rolled_back_even_when_the_connection_was_lost() -> None:
    relay = Relay()
    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        await transaction_writing_row_7(Connection(), relay, fail_in_body=lost())
    assert relay.told == [("writing", [7]), ("rolled_back", [7])]


async def test_a_savepoint_whose_release_got_no_answer_rolled_back_with_its_transaction() -> None:
    relay = Relay()
    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        await transaction_writing_row_7(Connection(in_transaction=True, failing=lost()), relay)
    assert relay.told == [("writing", [7]), ("rolled_back", [7])]


async def test_a_commit_that_went_through_hands_its_rows_over() -> None:
    relay = Relay()
    await transaction_writing_row_7(Connection(), relay)
    assert relay.told == [("writing", [7]), ("committed", [7])]


async def one_statement(conn: Connection, relay: Relay, *, then: BaseException | None = None) -> None:
    async with Tx.on(conn, relay, transaction=False) as tx:  # type: ignore[arg-type]
        await conn.statement(tx)
        if then is not None:
            raise then


async def test_a_lone_statement_that_got_no_answer_leaves_the_relay_unsure_of_rows_it_cannot_name() -> None:
    relay = Relay()
    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        await one_statement(Connection(failing=lost()), relay)
    assert relay.told == [("unsure", [])]


async def test_a_lone_statement_that_committed_hands_its_rows_over_whatever_fails_after_it() -> None:
    relay = Relay()
    with pytest.raises(ValueError):
        await one_statement(Connection(), relay, then=ValueError("after the statement"))
    assert relay.told == [("writing", [7]), ("committed", [7])]


async def test_a_lone_statement_refused_by_postgres_or_a_handlers_own_error_tells_the_relay_nothing() -> None:
    for failure in (asyncpg.UniqueViolationError("duplicate key"), ValueError("a handler's bug")):
        relay = Relay()
        with pytest.raises(type(failure)):
            await one_statement(Connection(failing=failure), relay)
        assert relay.told == [], failure

