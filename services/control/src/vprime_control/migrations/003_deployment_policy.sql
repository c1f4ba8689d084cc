ALTER TABLE deployments ADD COLUMN policy JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE deployments ADD COLUMN resumed_at TIMESTAMPTZ;
