-- Every routing decision, with its evidence (the router's own record; query keeps a read model).
CREATE TABLE routing_history (
    decision_id       UUID PRIMARY KEY,
    intent_id         UUID NOT NULL,
    signal_id         UUID NOT NULL,
    deployment_id     UUID NOT NULL,
    instrument        TEXT NOT NULL,
    requested_venue   TEXT NOT NULL,
    selected_venue    TEXT,
    reason            TEXT NOT NULL,
    checked_venues    TEXT[] NOT NULL,
    venue_availability JSONB NOT NULL,
    strategy          TEXT NOT NULL,
    attempt           INT NOT NULL,
    duration_ms       DOUBLE PRECISION NOT NULL,
    decided_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX routing_history_intent ON routing_history (intent_id);
