-- A signal's fate. An intent is over when its latest routing decision names no venue: either no
-- venue could take it (SKIPPED) or every venue tried failed and the router gave up (FAILED). While
-- the router is failing over, a failed order alone does not end anything.
DROP VIEW signal_status;
CREATE VIEW signal_status AS
SELECT s.signal_id,
       CASE
         WHEN EXISTS (SELECT 1 FROM positions p WHERE p.signal_id = s.signal_id) THEN 'EXECUTED'
         WHEN i.total > 0 AND i.approved = 0 THEN 'REJECTED'
         WHEN i.approved > 0 AND f.ended >= i.approved AND f.tried > 0 THEN 'FAILED'
         WHEN i.approved > 0 AND f.ended >= i.approved THEN 'SKIPPED'
         WHEN EXISTS (SELECT 1 FROM routing_decisions d WHERE d.signal_id = s.signal_id AND d.selected_venue IS NOT NULL) THEN 'ROUTED'
         ELSE 'PENDING'
       END AS status
FROM signals s
LEFT JOIN LATERAL (
    SELECT count(*) AS total, count(*) FILTER (WHERE status = 'APPROVED') AS approved
    FROM intents WHERE intents.signal_id = s.signal_id
) i ON true
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE last.selected_venue IS NULL) AS ended,
           count(*) FILTER (WHERE last.selected_venue IS NULL AND last.attempt > 1) AS tried
    FROM (SELECT DISTINCT ON (intent_id) intent_id, selected_venue, attempt FROM routing_decisions
          WHERE routing_decisions.signal_id = s.signal_id ORDER BY intent_id, attempt DESC) last
) f ON true;
