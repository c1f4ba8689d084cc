-- Read models built from fact topics only (query never reads another service's schema).
CREATE TABLE agents (
    agent_id        UUID PRIMARY KEY,
    creator_wallet  TEXT NOT NULL,
    name            TEXT NOT NULL,
    venue           TEXT NOT NULL,
    status          TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE deployments (
    deployment_id   UUID PRIMARY KEY,
    agent_id        UUID NOT NULL,
    user_wallet     TEXT NOT NULL,
    status          TEXT NOT NULL,
    enabled_venues  TEXT[] NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE signals (
    signal_id        UUID PRIMARY KEY,
    agent_id         UUID NOT NULL,
    instrument       TEXT NOT NULL,
    side             TEXT NOT NULL,
    confidence       DOUBLE PRECISION NOT NULL,
    requested_venue  TEXT NOT NULL,
    origin           TEXT NOT NULL,
    size_model       JSONB NOT NULL,
    risk_model       JSONB NOT NULL,
    drive            INT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX signals_created ON signals (created_at DESC);

CREATE TABLE intents (
    intent_id         UUID PRIMARY KEY,
    signal_id         UUID NOT NULL,
    agent_id          UUID NOT NULL,
    deployment_id     UUID,
    drive             INT NOT NULL,
    status            TEXT NOT NULL,
    reasons           JSONB NOT NULL,
    size_pct          DOUBLE PRECISION NOT NULL,
    leverage          DOUBLE PRECISION NOT NULL,
    venue_preference  TEXT[] NOT NULL,
    decided_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX intents_signal ON intents (signal_id);

CREATE TABLE routing_decisions (
    decision_id        UUID PRIMARY KEY,
    intent_id          UUID NOT NULL,
    signal_id          UUID NOT NULL,
    agent_id           UUID NOT NULL,
    deployment_id      UUID NOT NULL,
    instrument         TEXT NOT NULL,
    side               TEXT NOT NULL,
    requested_venue    TEXT NOT NULL,
    selected_venue     TEXT,
    reason             TEXT NOT NULL,
    checked_venues     TEXT[] NOT NULL,
    venue_availability JSONB NOT NULL,
    strategy           TEXT NOT NULL,
    attempt            INT NOT NULL,
    duration_ms        DOUBLE PRECISION NOT NULL,
    decided_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX routing_decisions_signal ON routing_decisions (signal_id);
CREATE INDEX routing_decisions_decided ON routing_decisions (decided_at DESC, decision_id DESC);

-- An order row is completed by its execution, whichever of the two events arrives first.
CREATE TABLE orders (
    order_id         UUID PRIMARY KEY,
    intent_id        UUID NOT NULL,
    signal_id        UUID NOT NULL,
    deployment_id    UUID NOT NULL,
    venue            TEXT NOT NULL,
    venue_symbol     TEXT,
    instrument       TEXT,
    side             TEXT,
    size_pct         DOUBLE PRECISION,
    leverage         DOUBLE PRECISION,
    attempt          INT,
    status           TEXT NOT NULL DEFAULT 'SENT',
    fill_price       DOUBLE PRECISION,
    qty              DOUBLE PRECISION,
    fee_usd          DOUBLE PRECISION,
    venue_order_id   TEXT,
    client_order_id  TEXT,
    reason           TEXT,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX orders_signal ON orders (signal_id);

CREATE TABLE positions (
    position_id       UUID PRIMARY KEY,
    order_id          UUID NOT NULL,
    signal_id         UUID NOT NULL,
    agent_id          UUID NOT NULL,
    deployment_id     UUID NOT NULL,
    venue             TEXT NOT NULL,
    venue_symbol      TEXT NOT NULL,
    instrument        TEXT NOT NULL,
    side              TEXT NOT NULL,
    state             TEXT NOT NULL,
    entry_price       DOUBLE PRECISION NOT NULL,
    exit_price        DOUBLE PRECISION,
    qty               DOUBLE PRECISION NOT NULL,
    notional_usd      DOUBLE PRECISION NOT NULL,
    leverage          DOUBLE PRECISION NOT NULL,
    fees_usd          DOUBLE PRECISION NOT NULL,
    realized_pnl_usd  DOUBLE PRECISION,
    close_reason      TEXT,
    opened_at         TIMESTAMPTZ NOT NULL,
    closed_at         TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX positions_signal ON positions (signal_id);

-- A signal's fate across its deployments: executed somewhere, routed (order on its way), the venue
-- refused every order, every intent rejected, no venue for any approved intent, or still on its way.
CREATE VIEW signal_status AS
SELECT s.signal_id,
       CASE
         WHEN EXISTS (SELECT 1 FROM positions p WHERE p.signal_id = s.signal_id) THEN 'EXECUTED'
         WHEN EXISTS (SELECT 1 FROM orders o WHERE o.signal_id = s.signal_id AND o.status IN ('REJECTED', 'FAILED'))
              AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.signal_id = s.signal_id AND o.status NOT IN ('REJECTED', 'FAILED')) THEN 'FAILED'
         WHEN EXISTS (SELECT 1 FROM routing_decisions d WHERE d.signal_id = s.signal_id AND d.selected_venue IS NOT NULL) THEN 'ROUTED'
         WHEN i.total > 0 AND i.approved = 0 THEN 'REJECTED'
         WHEN i.approved > 0 AND (SELECT count(*) FROM routing_decisions d WHERE d.signal_id = s.signal_id AND d.selected_venue IS NULL) >= i.approved THEN 'SKIPPED'
         ELSE 'PENDING'
       END AS status
FROM signals s
LEFT JOIN LATERAL (
    SELECT count(*) AS total, count(*) FILTER (WHERE status = 'APPROVED') AS approved
    FROM intents WHERE intents.signal_id = s.signal_id
) i ON true;
