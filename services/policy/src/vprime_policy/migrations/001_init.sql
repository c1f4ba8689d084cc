-- Projection of registry.deployments.v1: what policy needs to fan a signal out.
CREATE TABLE deployments (
    deployment_id   UUID PRIMARY KEY,
    agent_id        UUID NOT NULL,
    status          TEXT NOT NULL,
    enabled_venues  TEXT[] NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX deployments_agent ON deployments (agent_id);

-- Every decision taken, approved or rejected, with the rules that fired.
CREATE TABLE decisions (
    intent_id       UUID PRIMARY KEY,
    signal_id       UUID NOT NULL,
    deployment_id   UUID,
    status          TEXT NOT NULL,
    reasons         JSONB NOT NULL,
    decided_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX decisions_signal ON decisions (signal_id);
