ALTER TABLE routing_decisions ADD COLUMN costs JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE routing_decisions ADD COLUMN failed_venues TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE routing_decisions ADD COLUMN duration_us DOUBLE PRECISION NOT NULL DEFAULT 0;
