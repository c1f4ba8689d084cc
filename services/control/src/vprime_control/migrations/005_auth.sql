-- Sign-in nonces: each is issued for one wallet with the exact message to sign, and used once.
CREATE TABLE auth_nonces (
    nonce       TEXT PRIMARY KEY,
    wallet      TEXT NOT NULL,
    message     TEXT NOT NULL,
    issued_at   TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX auth_nonces_expiry ON auth_nonces (expires_at);

-- Bearer tokens of signed-in wallets: sessions from a signature, and long-lived API tokens a wallet
-- mints for its scripts. Only SHA-256 digests are stored; the token itself is shown once.
CREATE TABLE auth_tokens (
    token_id    UUID PRIMARY KEY,
    digest      BYTEA NOT NULL UNIQUE,
    wallet      TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('session', 'api')),
    label       TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX auth_tokens_wallet ON auth_tokens (wallet);
