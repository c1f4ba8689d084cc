-- Key import nonces: an agent key arrives sealed for a wallet, a venue and one of these. A nonce is good
-- until expires_at, and for one deployment: the first that imports a key with it (deployment_id), so an
-- envelope replayed into another deployment is refused. Expired rows are pruned as new ones are issued.
CREATE TABLE key_import_nonces (
    nonce          TEXT PRIMARY KEY,
    wallet         TEXT NOT NULL CHECK (wallet = lower(wallet)),
    issued_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at     TIMESTAMPTZ NOT NULL,
    deployment_id  UUID
);

-- Which deployment holds each agent address (lower case). Its primary key is the unique index that keeps
-- an agent key to one deployment. It is a table of its own rather than a unique index on credentials,
-- because one deployment may hold the same key for several venues, which an index on the address alone
-- would forbid.
CREATE TABLE agent_addresses (
    address        TEXT PRIMARY KEY CHECK (address = lower(address)),
    deployment_id  UUID NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Keys stored before this migration: each address goes to the deployment that stored it first. Rows of
-- other deployments with the same address are kept (deleting them would stop those deployments trading
-- without a word), but that address can no longer be imported into any deployment but the first.
INSERT INTO agent_addresses (address, deployment_id, created_at)
SELECT DISTINCT ON (lower(address)) lower(address), deployment_id, created_at
FROM credentials
ORDER BY lower(address), created_at, deployment_id;
