"""Postgres persistence for the router (the `router` schema)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import asyncpg
import orjson

from vprime_shared import outbox
from vprime_shared.contracts import Intent, MarketCatalog, RoutingConfig, RoutingConfigBody, RoutingDecision, Venue
from vprime_shared.unit_of_work import Inbox

from vprime_router.domain.catalog import VenueCatalog
from vprime_router.domain.health import CircuitBreaker

if TYPE_CHECKING:
    from vprime_shared.batches import Received
    from vprime_shared.unit_of_work import Tx


class RouterRepository:
    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self.conn = conn

    # ---- decisions -----------------------------------------------------------------------------
    async def record_attempt(self, d: RoutingDecision, *, settled: bool = False) -> bool:
        """Record a later routing attempt (a failover, or the router giving up) in one statement: the intent's attempts
        and tried venues (settled when no venue was found or the router gave up), and the decision in the history.
        False if it was recorded before. First attempts are recorded by `record_first_attempts`."""
        status = await self.conn.execute(
            """WITH changed AS (
                   UPDATE intents SET attempts = $12, tried = tried || $17::text[], settled = settled OR $18
                   WHERE intent_id = $2 RETURNING intent_id)
               INSERT INTO routing_history (decision_id, intent_id, signal_id, deployment_id, instrument, requested_venue,
                   selected_venue, reason, checked_venues, venue_availability, strategy, attempt, duration_ms, costs,
                   failed_venues, duration_us)
               SELECT $1, intent_id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 FROM changed
               ON CONFLICT (decision_id) DO NOTHING""",
            d.decision_id, d.intent_id, d.signal_id, d.deployment_id, d.instrument, d.requested_venue.value,
            d.selected_venue.value if d.selected_venue else None, d.reason, [v.value for v in d.checked_venues],
            {k: v.model_dump() for k, v in d.venue_availability.items()}, d.strategy, d.attempt, d.duration_ms,
            {k: v.model_dump() for k, v in d.costs.items()}, [v.value for v in d.failed_venues], d.duration_us,
            [d.selected_venue.value] if d.selected_venue and not settled else [], settled or d.selected_venue is None,
        )
        return status.endswith("1")

    async def record_first_attempts(self, tx: Tx, attempts: list[tuple[Received[Intent], RoutingDecision]]) -> set[uuid.UUID]:
        """A batch's whole work in one statement: its inbox rows (`tx.inbox`), each intent first seen now (its event
        new to the inbox; the intent stored as it arrived) taken up for routing with its decision recorded, and the events
        published about the intents recorded now (`tx.outgoing`, each about its intent id). Returns the ids of the
        decisions recorded now (an intent taken up before adds nothing)."""
        assert tx.inbox is not None, "the router's intents are handled in one statement, inbox rows and all"
        ds = [d for _, d in attempts]
        outgoing = tx.outgoing()
        row = await self.conn.fetchrow(
            f"""WITH {Inbox.cte(1)},
               attempt AS (
                   SELECT * FROM unnest($4::uuid[], $5::uuid[], $6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::text[],
                                        $11::text[], $12::text[], $13::text[], $14::text[], $15::float8[], $16::text[],
                                        $17::float8[], $18::text[], $19::uuid[])
                     AS a(decision_id, intent_id, signal_id, deployment_id, instrument, requested_venue, selected_venue,
                          reason, checked_venues, venue_availability, strategy, duration_ms, costs, duration_us, intent, event_id)
                   WHERE event_id IN (SELECT event_id FROM fresh)),
               taken AS (
                   INSERT INTO intents (intent_id, payload, attempts, tried, settled)
                   SELECT intent_id, intent::jsonb, 1, CASE WHEN selected_venue IS NULL THEN '{{}}' ELSE ARRAY[selected_venue] END,
                          selected_venue IS NULL
                   FROM attempt ON CONFLICT (intent_id) DO NOTHING RETURNING intent_id),
               recorded AS (
                   INSERT INTO routing_history (decision_id, intent_id, signal_id, deployment_id, instrument, requested_venue,
                       selected_venue, reason, checked_venues, venue_availability, strategy, attempt, duration_ms, costs,
                       failed_venues, duration_us)
                   SELECT decision_id, intent_id, signal_id, deployment_id, instrument, requested_venue, selected_venue, reason,
                          string_to_array(checked_venues, ','), venue_availability::jsonb, strategy, 1, duration_ms, costs::jsonb,
                          '{{}}', duration_us
                   FROM attempt JOIN taken USING (intent_id)
                   ON CONFLICT (decision_id) DO NOTHING RETURNING decision_id, intent_id),
               {outbox.ctes(20, only="about IN (SELECT intent_id::text FROM recorded)")}
               SELECT {Inbox.FRESH}, (SELECT array_agg(decision_id) FROM recorded) AS recorded, {outbox.result(notify=tx.notify)}""",
            *tx.inbox.params(),
            [d.decision_id for d in ds], [d.intent_id for d in ds], [d.signal_id for d in ds], [d.deployment_id for d in ds],
            [d.instrument for d in ds], [d.requested_venue.value for d in ds],
            [d.selected_venue.value if d.selected_venue else None for d in ds], [d.reason for d in ds],
            [",".join(v.value for v in d.checked_venues) for d in ds],
            [orjson.dumps({k: v.model_dump() for k, v in d.venue_availability.items()}).decode() for d in ds],
            [d.strategy for d in ds], [d.duration_ms for d in ds],
            [orjson.dumps({k: v.model_dump() for k, v in d.costs.items()}).decode() for d in ds], [d.duration_us for d in ds],
            [r.json() for r, _ in attempts], [r.event.event_id for r, _ in attempts],
            *outgoing.params(),
        )
        tx.inbox.record(row)
        tx.wrote(outgoing, row)
        return set(row["recorded"] or ())

    # ---- intents under routing -----------------------------------------------------------------
    async def intent(self, intent_id: uuid.UUID) -> tuple[Intent, int, list[Venue], bool] | None:
        row = await self.conn.fetchrow("SELECT payload, attempts, tried, settled FROM intents WHERE intent_id = $1 FOR UPDATE", intent_id)
        if row is None:
            return None
        return Intent.model_validate(row["payload"]), row["attempts"], [Venue(v) for v in row["tried"]], row["settled"]

    @staticmethod
    def settle(tx: Tx, intent_id: uuid.UUID, attempt: int) -> None:
        """Settle the intent if `attempt` is its latest (news of an older attempt, or of a settled intent, changes nothing).
        Deferred to the batch's commit, with every other fill of the batch: nothing in the batch reads it first (a
        later outcome of the same intent is of another attempt, which the settled intent ignores either way)."""
        tx.defer("UPDATE intents SET settled = true FROM jsonb_to_recordset($1) AS r(intent_id uuid, attempt int) "
                 "WHERE intents.intent_id = r.intent_id AND intents.attempts = r.attempt AND NOT settled",
                 {"intent_id": intent_id, "attempt": attempt}, key=intent_id)

    # ---- catalogs, configuration, breakers --------------------------------------------------------
    async def save_catalog(self, catalog: MarketCatalog) -> None:
        await self.conn.execute(
            """INSERT INTO catalogs (venue, status, synced_at, error, payload) VALUES ($1,$2,$3,$4,$5)
               ON CONFLICT (venue) DO UPDATE SET status = EXCLUDED.status, error = EXCLUDED.error,
                 synced_at = CASE WHEN EXCLUDED.status = 'OK' THEN EXCLUDED.synced_at ELSE catalogs.synced_at END,
                 payload = CASE WHEN EXCLUDED.status = 'OK' THEN EXCLUDED.payload ELSE catalogs.payload END""",
            catalog.venue.value, catalog.status.value, catalog.synced_at, catalog.error, catalog.model_dump(mode="json"),
        )

    async def catalogs(self) -> list[VenueCatalog]:
        rows = await self.conn.fetch("SELECT status, synced_at, error, payload FROM catalogs")
        out = []
        for r in rows:
            catalog = VenueCatalog.from_event(MarketCatalog.model_validate(r["payload"]))
            catalog.status, catalog.synced_at, catalog.error = r["status"], r["synced_at"], r["error"]
            out.append(catalog)
        return out

    async def save_config(self, config: RoutingConfig) -> None:
        await self.conn.execute(
            """INSERT INTO routing_config (scope, payload, updated_at) VALUES ($1, $2, $3)
               ON CONFLICT (scope) DO UPDATE SET payload = EXCLUDED.payload, updated_at = EXCLUDED.updated_at
               WHERE routing_config.updated_at <= EXCLUDED.updated_at""",
            str(config.agent_id or "global"), config.body().model_dump(mode="json"),
            config.occurred_at,
        )

    async def configs(self) -> dict[str, RoutingConfigBody]:
        return {r["scope"]: RoutingConfigBody.model_validate(r["payload"]) for r in await self.conn.fetch("SELECT scope, payload FROM routing_config")}

    async def save_breaker(self, venue: Venue, breaker: CircuitBreaker) -> None:
        await self.conn.execute(
            """INSERT INTO breakers (venue, failures, opened_at, last_error) VALUES ($1,$2,$3,$4)
               ON CONFLICT (venue) DO UPDATE SET failures = EXCLUDED.failures, opened_at = EXCLUDED.opened_at,
                 last_error = EXCLUDED.last_error""",
            venue.value, breaker.failures, breaker.opened_at, breaker.last_error,
        )

    async def breakers(self, threshold: int, open_for: timedelta) -> dict[Venue, CircuitBreaker]:
        return {
            Venue(r["venue"]): CircuitBreaker(threshold, open_for, r["failures"], r["opened_at"], None, r["last_error"])
            for r in await self.conn.fetch("SELECT venue, failures, opened_at, last_error FROM breakers")
        }
