-- An order is recorded (SENDING) before it goes to the venue and resolved after; what a crash leaves
-- SENDING is found again by client order id.
ALTER TABLE orders ADD COLUMN payload JSONB;
ALTER TABLE orders ADD COLUMN mode TEXT NOT NULL DEFAULT 'paper';
ALTER TABLE orders ADD COLUMN notional_usd DOUBLE PRECISION;
ALTER TABLE orders ADD COLUMN resolved_at TIMESTAMPTZ;
CREATE INDEX orders_sending ON orders (created_at) WHERE status = 'SENDING';

-- Positions remember how they trade (paper or the venue) and how to close them there.
ALTER TABLE positions ADD COLUMN mode TEXT NOT NULL DEFAULT 'paper';
ALTER TABLE positions ADD COLUMN closing_since TIMESTAMPTZ;
ALTER TABLE positions ADD COLUMN close_reason TEXT;

-- What reconciliation found: the venue's positions against ours.
CREATE TABLE reconciliation (
    id             BIGSERIAL PRIMARY KEY,
    deployment_id  UUID NOT NULL,
    venue          TEXT NOT NULL,
    symbol         TEXT NOT NULL,
    ours           DOUBLE PRECISION NOT NULL,
    venue_size     DOUBLE PRECISION NOT NULL,
    found_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
