-- The running totals of 004 and 005, kept per statement instead of per row: a batch's decisions and positions
-- are written in one statement each, and a row trigger ran its function and two statements of its own for every
-- row (a third of the database time of those inserts). A statement trigger reads the rows the statement wrote
-- (its transition tables) and changes each deployment's totals once, by their sum.

DROP TRIGGER decisions_pending ON decisions;
DROP TRIGGER positions_settle_pending ON positions;
DROP TRIGGER positions_exposure ON positions;
DROP FUNCTION track_pending_entries();
DROP FUNCTION track_exposure();

-- Nothing reads positions by intent (an entry is settled through pending_entries' own key).
DROP INDEX positions_intent;

-- Approved decisions become pending entries (a decision recorded before adds nothing).
CREATE FUNCTION pending_entries_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH entries AS (
        INSERT INTO pending_entries (intent_id, deployment_id, size_pct, decided_at)
        SELECT intent_id, deployment_id, size_pct, decided_at FROM added
        WHERE status = 'APPROVED' AND deployment_id IS NOT NULL
        ON CONFLICT DO NOTHING RETURNING deployment_id, size_pct)
    INSERT INTO pending_added AS a (deployment_id, n, pct)
    SELECT deployment_id, count(*), sum(size_pct) FROM entries GROUP BY deployment_id
    ON CONFLICT (deployment_id) DO UPDATE SET n = a.n + EXCLUDED.n, pct = a.pct + EXCLUDED.pct;
    RETURN NULL;
END $$;
CREATE TRIGGER decisions_pending AFTER INSERT ON decisions
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION pending_entries_added();

-- A position's arrival settles its entry (counted only if it removed one: an entry pruned past its TTL was
-- counted out then), and an open one adds to its deployment's exposure.
CREATE FUNCTION positions_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH settled AS (
        DELETE FROM pending_entries e USING added a WHERE e.intent_id = a.intent_id
        RETURNING e.deployment_id, e.size_pct)
    INSERT INTO pending_settled AS s (deployment_id, n, pct)
    SELECT deployment_id, count(*), sum(size_pct) FROM settled GROUP BY deployment_id
    ON CONFLICT (deployment_id) DO UPDATE SET n = s.n + EXCLUDED.n, pct = s.pct + EXCLUDED.pct;

    INSERT INTO exposure AS x (deployment_id, open_positions, open_pct)
    SELECT deployment_id, count(*), sum(size_pct) FROM added WHERE state = 'OPEN' GROUP BY deployment_id
    ON CONFLICT (deployment_id) DO UPDATE SET open_positions = x.open_positions + EXCLUDED.open_positions,
                                              open_pct = x.open_pct + EXCLUDED.open_pct;
    RETURN NULL;
END $$;
CREATE TRIGGER positions_inserted AFTER INSERT ON positions
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION positions_inserted();

-- An update moves exposure by what changed: a close takes its size out, a resize of an open one the difference.
CREATE FUNCTION positions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO exposure AS x (deployment_id, open_positions, open_pct)
    SELECT deployment_id, sum(delta_n), sum(delta_pct) FROM (
        SELECT n.deployment_id,
               (n.state = 'OPEN')::int - (o.state = 'OPEN')::int AS delta_n,
               (CASE WHEN n.state = 'OPEN' THEN n.size_pct ELSE 0 END)
                 - (CASE WHEN o.state = 'OPEN' THEN o.size_pct ELSE 0 END) AS delta_pct
        FROM new_rows n JOIN old_rows o USING (position_id)) d
    GROUP BY deployment_id HAVING sum(delta_n) <> 0 OR sum(delta_pct) <> 0
    ON CONFLICT (deployment_id) DO UPDATE SET open_positions = x.open_positions + EXCLUDED.open_positions,
                                              open_pct = x.open_pct + EXCLUDED.open_pct;
    RETURN NULL;
END $$;
CREATE TRIGGER positions_updated AFTER UPDATE ON positions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION positions_updated();
