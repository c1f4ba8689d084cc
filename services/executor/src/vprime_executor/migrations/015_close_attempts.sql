-- Each close of a position is an attempt of its own, sent under its own client id (position id + attempt): a venue
-- that refused one (Hyperliquid refuses a cloid it has seen) takes the next. `close_attempt` is the latest attempt,
-- the one in flight while `closing_since` is set, which recovery looks up by its client id before it sends again.
-- A close in flight now is attempt 1, whose client id is the one closes had before they counted attempts.
ALTER TABLE positions ADD COLUMN close_attempt INT NOT NULL DEFAULT 0;
UPDATE positions SET close_attempt = 1 WHERE state = 'OPEN' AND closing_since IS NOT NULL;
