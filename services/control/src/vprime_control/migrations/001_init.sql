CREATE TABLE agents (
    agent_id                UUID PRIMARY KEY,
    creator_wallet          TEXT NOT NULL,
    name                    TEXT NOT NULL,
    venue                   TEXT NOT NULL,
    status                  TEXT NOT NULL,
    x_account_ids           TEXT[] NOT NULL DEFAULT '{}',
    research_institute_ids  TEXT[] NOT NULL DEFAULT '{}',
    weights                 JSONB NOT NULL DEFAULT '{}'::jsonb,
    profit_receiver_address TEXT NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX agents_creator ON agents (creator_wallet);
CREATE INDEX agents_status ON agents (status);

CREATE TABLE deployments (
    deployment_id   UUID PRIMARY KEY,
    agent_id        UUID NOT NULL REFERENCES agents (agent_id),
    user_wallet     TEXT NOT NULL,
    status          TEXT NOT NULL,
    enabled_venues  TEXT[] NOT NULL,
    venue_accounts  JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX deployments_agent ON deployments (agent_id);

-- Every signal seen on signals.v1 (manual ones are written here first), so any can be re-driven.
CREATE TABLE signals (
    signal_id   UUID PRIMARY KEY,
    agent_id    UUID NOT NULL,
    payload     JSONB NOT NULL,
    drive       INT NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
