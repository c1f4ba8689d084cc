-- Which venues each deployment has an account on (from registry.deployments.v1): orders for those
-- go to the venue; the rest are paper-traded.
CREATE TABLE accounts (
    deployment_id   UUID PRIMARY KEY,
    venue_accounts  JSONB NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
