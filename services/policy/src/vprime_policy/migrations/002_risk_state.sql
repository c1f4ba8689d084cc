ALTER TABLE deployments ADD COLUMN policy JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE deployments ADD COLUMN resumed_at TIMESTAMPTZ;

ALTER TABLE decisions ADD COLUMN instrument TEXT NOT NULL DEFAULT '';
ALTER TABLE decisions ADD COLUMN size_pct DOUBLE PRECISION NOT NULL DEFAULT 0;
CREATE INDEX decisions_pending ON decisions (deployment_id, decided_at) WHERE status = 'APPROVED';

-- Risk state: every position of every deployment, from positions.v1.
CREATE TABLE positions (
    position_id       UUID PRIMARY KEY,
    intent_id         UUID NOT NULL,
    deployment_id     UUID NOT NULL,
    instrument        TEXT NOT NULL,
    state             TEXT NOT NULL,
    size_pct          DOUBLE PRECISION NOT NULL,
    equity_usd        DOUBLE PRECISION NOT NULL,
    opened_at         TIMESTAMPTZ NOT NULL,
    closed_at         TIMESTAMPTZ,
    realized_pnl_usd  DOUBLE PRECISION,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX positions_deployment ON positions (deployment_id, state);
CREATE INDEX positions_intent ON positions (intent_id);
