-- Risk state as running aggregates, kept by triggers on every write, so that a decision costs the same
-- however long a deployment has traded (rather than counting its open positions and approvals each time).

-- Open positions per deployment: their number and their summed size.
CREATE TABLE exposure (
    deployment_id   UUID PRIMARY KEY,
    open_positions  INTEGER NOT NULL DEFAULT 0,
    open_pct        DOUBLE PRECISION NOT NULL DEFAULT 0
);
INSERT INTO exposure (deployment_id, open_positions, open_pct)
    SELECT deployment_id, count(*), sum(size_pct) FROM positions WHERE state = 'OPEN' GROUP BY deployment_id;

CREATE FUNCTION track_exposure() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_open BOOLEAN := TG_OP = 'UPDATE' AND OLD.state = 'OPEN';
    is_open  BOOLEAN := NEW.state = 'OPEN';
    delta_n  INTEGER := is_open::int - was_open::int;
    delta_pct DOUBLE PRECISION := (CASE WHEN is_open THEN NEW.size_pct ELSE 0 END) - (CASE WHEN was_open THEN OLD.size_pct ELSE 0 END);
BEGIN
    IF delta_n <> 0 OR delta_pct <> 0 THEN
        INSERT INTO exposure AS e (deployment_id, open_positions, open_pct) VALUES (NEW.deployment_id, delta_n, delta_pct)
        ON CONFLICT (deployment_id) DO UPDATE SET open_positions = e.open_positions + delta_n, open_pct = e.open_pct + delta_pct;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER positions_exposure AFTER INSERT OR UPDATE OF state, size_pct ON positions
    FOR EACH ROW EXECUTE FUNCTION track_exposure();

-- Approved entries not yet open: an approval adds one, its position's arrival removes it. Those that
-- never open (no venue took them) count until the pending-entry TTL, and are pruned after it.
CREATE TABLE pending_entries (
    intent_id      UUID PRIMARY KEY,
    deployment_id  UUID NOT NULL,
    size_pct       DOUBLE PRECISION NOT NULL,
    decided_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX pending_entries_deployment ON pending_entries (deployment_id, decided_at);
INSERT INTO pending_entries (intent_id, deployment_id, size_pct, decided_at)
    SELECT d.intent_id, d.deployment_id, d.size_pct, d.decided_at FROM decisions d
    WHERE d.status = 'APPROVED' AND d.deployment_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM positions p WHERE p.intent_id = d.intent_id);

CREATE FUNCTION track_pending_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'decisions' THEN
        INSERT INTO pending_entries (intent_id, deployment_id, size_pct, decided_at)
        VALUES (NEW.intent_id, NEW.deployment_id, NEW.size_pct, NEW.decided_at) ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM pending_entries WHERE intent_id = NEW.intent_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER decisions_pending AFTER INSERT ON decisions
    FOR EACH ROW WHEN (NEW.status = 'APPROVED' AND NEW.deployment_id IS NOT NULL) EXECUTE FUNCTION track_pending_entries();
CREATE TRIGGER positions_settle_pending AFTER INSERT ON positions
    FOR EACH ROW EXECUTE FUNCTION track_pending_entries();
