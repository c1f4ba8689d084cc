-- Routing configuration: 'global' or an agent id (published on registry.routing-config.v1).
CREATE TABLE routing_config (
    scope       TEXT PRIMARY KEY,
    payload     JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
