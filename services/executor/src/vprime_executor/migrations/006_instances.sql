-- Which executor instance claimed an order, and which instances are alive: recovery takes only
-- orders whose claimer has stopped beating, never one another live instance is still sending.
ALTER TABLE orders ADD COLUMN claimed_by UUID;
CREATE TABLE instances (
    instance_id  UUID PRIMARY KEY,
    beat_at      TIMESTAMPTZ NOT NULL
);
