-- Latest mid per (venue, instrument) from market.ticks.v1; '*' is the freshest of any venue.
CREATE TABLE prices (
    venue       TEXT NOT NULL,
    instrument  TEXT NOT NULL,
    mid         DOUBLE PRECISION NOT NULL,
    ts          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (venue, instrument)
);

CREATE TABLE orders (
    order_id         UUID PRIMARY KEY,
    client_order_id  TEXT NOT NULL UNIQUE,
    intent_id        UUID NOT NULL,
    deployment_id    UUID NOT NULL,
    venue            TEXT NOT NULL,
    venue_symbol     TEXT NOT NULL,
    side             TEXT NOT NULL,
    status           TEXT NOT NULL,
    reason           TEXT NOT NULL DEFAULT '',
    fill_price       DOUBLE PRECISION,
    qty              DOUBLE PRECISION,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE positions (
    position_id     UUID PRIMARY KEY,
    order_id        UUID NOT NULL UNIQUE REFERENCES orders (order_id),
    deployment_id   UUID NOT NULL,
    venue           TEXT NOT NULL,
    instrument      TEXT NOT NULL,
    side            TEXT NOT NULL,
    state           TEXT NOT NULL,
    entry_price     DOUBLE PRECISION NOT NULL,
    qty             DOUBLE PRECISION NOT NULL,
    notional_usd    DOUBLE PRECISION NOT NULL,
    opened_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX positions_deployment ON positions (deployment_id, state);
