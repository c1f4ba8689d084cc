-- Venue agent keys: sealed with AES-256-GCM (associated data: deployment and venue). Only the
-- executor's role can read this schema; the key-encryption key is never stored.
CREATE TABLE credentials (
    deployment_id  UUID NOT NULL,
    venue          TEXT NOT NULL,
    address        TEXT NOT NULL,
    nonce          BYTEA NOT NULL,
    sealed_key     BYTEA NOT NULL,
    source         TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (deployment_id, venue)
);
