-- Latest mid per venue and instrument (for unrealised PnL), and what dashboards filter on.
CREATE TABLE prices (
    venue       TEXT NOT NULL,
    instrument  TEXT NOT NULL,
    mid         DOUBLE PRECISION NOT NULL,
    ts          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (venue, instrument)
);
ALTER TABLE positions ADD COLUMN equity_usd DOUBLE PRECISION NOT NULL DEFAULT 10000;
CREATE INDEX positions_agent ON positions (agent_id, opened_at);
CREATE INDEX routing_decisions_instrument ON routing_decisions (instrument, decided_at DESC);
CREATE INDEX routing_decisions_agent ON routing_decisions (agent_id, decided_at DESC);
