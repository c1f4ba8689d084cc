-- Who each agent follows (projection of registry.agents.v1).
CREATE TABLE agents (
    agent_id                UUID PRIMARY KEY,
    status                  TEXT NOT NULL,
    x_account_ids           TEXT[] NOT NULL,
    research_institute_ids  TEXT[] NOT NULL,
    weights                 JSONB NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);

-- The context store scoring reads from.
CREATE TABLE posts (
    post_id        TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL,
    author_handle  TEXT NOT NULL,
    text           TEXT NOT NULL,
    posted_at      TIMESTAMPTZ NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX posts_account ON posts (account_id, posted_at DESC);

CREATE TABLE research (
    research_id    TEXT PRIMARY KEY,
    institute_id   TEXT NOT NULL,
    instrument     TEXT,
    side           TEXT,
    conviction     DOUBLE PRECISION NOT NULL,
    text           TEXT NOT NULL,
    published_at   TIMESTAMPTZ NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX research_institute ON research (institute_id, published_at DESC);

CREATE TABLE ticks (
    venue       TEXT NOT NULL,
    instrument  TEXT NOT NULL,
    mid         DOUBLE PRECISION NOT NULL,
    ts          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (venue, instrument)
);
