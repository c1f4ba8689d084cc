-- Routing history is read by decision (its primary key) and through the query service's read model, never by
-- intent here: the index by intent cost every decision an index entry and served nothing.
DROP INDEX routing_history_intent;
