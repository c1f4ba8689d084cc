ALTER TABLE routing_history ADD COLUMN costs JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE routing_history ADD COLUMN failed_venues TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE routing_history ADD COLUMN duration_us DOUBLE PRECISION NOT NULL DEFAULT 0;

-- The last catalog synced from each venue (the whole market list as published on market.catalog.v1).
CREATE TABLE catalogs (
    venue       TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    synced_at   TIMESTAMPTZ,
    error       TEXT,
    payload     JSONB NOT NULL
);

-- Routing configuration: 'global' or an agent id.
CREATE TABLE routing_config (
    scope       TEXT PRIMARY KEY,
    payload     JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Intents being routed, with the venues tried so far (for failover).
CREATE TABLE intents (
    intent_id   UUID PRIMARY KEY,
    payload     JSONB NOT NULL,
    attempts    INT NOT NULL DEFAULT 0,
    tried       TEXT[] NOT NULL DEFAULT '{}',
    settled     BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE breakers (
    venue       TEXT PRIMARY KEY,
    failures    INT NOT NULL,
    opened_at   TIMESTAMPTZ,
    last_error  TEXT NOT NULL DEFAULT ''
);
