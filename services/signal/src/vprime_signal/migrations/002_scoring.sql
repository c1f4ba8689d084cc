ALTER TABLE agents ADD COLUMN venue TEXT NOT NULL DEFAULT 'MULTI';
ALTER TABLE agents ADD COLUMN signal_threshold DOUBLE PRECISION NOT NULL DEFAULT 0.6;
CREATE INDEX agents_x_accounts ON agents USING gin (x_account_ids);
CREATE INDEX agents_institutes ON agents USING gin (research_institute_ids);

-- Each stance of a post or research note, per agent that follows its source.
CREATE TABLE evidence (
    agent_id     UUID NOT NULL,
    instrument   TEXT NOT NULL,
    source       TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    direction    SMALLINT NOT NULL,
    strength     DOUBLE PRECISION NOT NULL,
    observed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (agent_id, instrument, source, source_id)
);
CREATE INDEX evidence_window ON evidence (agent_id, instrument, observed_at DESC);

-- Signals this service emitted (the live one per agent and instrument decides the next).
CREATE TABLE signals (
    signal_id    UUID PRIMARY KEY,
    agent_id     UUID NOT NULL,
    instrument   TEXT NOT NULL,
    side         TEXT NOT NULL,
    confidence   DOUBLE PRECISION NOT NULL,
    emitted_at   TIMESTAMPTZ NOT NULL,
    payload      JSONB NOT NULL
);
CREATE INDEX signals_live ON signals (agent_id, instrument, emitted_at DESC);

-- Recent mids per instrument, for momentum and volatility.
CREATE TABLE tick_history (
    instrument  TEXT NOT NULL,
    ts          TIMESTAMPTZ NOT NULL,
    mid         DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (instrument, ts)
);
