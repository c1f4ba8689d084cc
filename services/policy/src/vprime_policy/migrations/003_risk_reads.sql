-- A deployment's equity is read from its latest position: without this, every decision scanned its history.
CREATE INDEX positions_deployment_opened ON positions (deployment_id, opened_at DESC);
