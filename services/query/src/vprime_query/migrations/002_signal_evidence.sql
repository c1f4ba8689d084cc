ALTER TABLE signals ADD COLUMN source_tweets TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE signals ADD COLUMN source_research TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE signals ADD COLUMN score JSONB;
CREATE INDEX signals_agent_created ON signals (agent_id, created_at DESC);
CREATE INDEX signals_instrument_created ON signals (instrument, created_at DESC);
