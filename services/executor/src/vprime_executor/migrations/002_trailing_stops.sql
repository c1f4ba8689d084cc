ALTER TABLE positions ADD COLUMN stop_fraction DOUBLE PRECISION;
ALTER TABLE positions ADD COLUMN best_price DOUBLE PRECISION;
ALTER TABLE positions ADD COLUMN payload JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE positions ADD COLUMN closed_at TIMESTAMPTZ;
ALTER TABLE positions ADD COLUMN exit_price DOUBLE PRECISION;
ALTER TABLE positions ADD COLUMN realized_pnl_usd DOUBLE PRECISION;
CREATE INDEX positions_open_by_instrument ON positions (instrument, venue) WHERE state = 'OPEN';
