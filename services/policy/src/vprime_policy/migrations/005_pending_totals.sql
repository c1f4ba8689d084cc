-- Pending entries as running totals per deployment, like exposure (004). A decision used to sum its
-- deployment's pending entries; every entry is deleted again when its position arrives, and the deleted
-- rows stay in the table and its index until vacuum, so under load each batch's sum read thousands of them.
-- Two tables, one per writer, so that the two consumers never wait on each other's rows: entries added (and
-- pruned past their TTL) by the decisions of the signals consumer, entries settled by the positions consumer.
-- Pending = added - settled. The entries themselves stay: they say which intent settles which, and when one expires.
CREATE TABLE pending_added (
    deployment_id  UUID PRIMARY KEY,
    n              BIGINT NOT NULL DEFAULT 0,
    pct            DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE TABLE pending_settled (
    deployment_id  UUID PRIMARY KEY,
    n              BIGINT NOT NULL DEFAULT 0,
    pct            DOUBLE PRECISION NOT NULL DEFAULT 0
);
INSERT INTO pending_added (deployment_id, n, pct)
    SELECT deployment_id, count(*), sum(size_pct) FROM pending_entries GROUP BY deployment_id;

CREATE OR REPLACE FUNCTION track_pending_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    settled RECORD;
BEGIN
    IF TG_TABLE_NAME = 'decisions' THEN
        INSERT INTO pending_entries (intent_id, deployment_id, size_pct, decided_at)
        VALUES (NEW.intent_id, NEW.deployment_id, NEW.size_pct, NEW.decided_at) ON CONFLICT DO NOTHING;
        IF FOUND THEN
            INSERT INTO pending_added AS a (deployment_id, n, pct) VALUES (NEW.deployment_id, 1, NEW.size_pct)
            ON CONFLICT (deployment_id) DO UPDATE SET n = a.n + 1, pct = a.pct + EXCLUDED.pct;
        END IF;
    ELSE
        -- Counted only if this position removed the entry (one pruned past its TTL was counted out then).
        DELETE FROM pending_entries WHERE intent_id = NEW.intent_id RETURNING deployment_id, size_pct INTO settled;
        IF FOUND THEN
            INSERT INTO pending_settled AS s (deployment_id, n, pct) VALUES (settled.deployment_id, 1, settled.size_pct)
            ON CONFLICT (deployment_id) DO UPDATE SET n = s.n + 1, pct = s.pct + EXCLUDED.pct;
        END IF;
    END IF;
    RETURN NULL;
END $$;
