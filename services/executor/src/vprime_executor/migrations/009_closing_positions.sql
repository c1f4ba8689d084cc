-- Recovery looks for closes a crash left half done every few seconds: an index of those alone, rather than
-- a scan of every open position each round.
CREATE INDEX positions_closing ON positions (closing_since) WHERE state = 'OPEN' AND closing_since IS NOT NULL;
