-- An order whose answer was lost may be on the venue: it stays unresolved (SENDING) with the time its answer was
-- lost, and is looked up by its client id until the venue says what became of it.
ALTER TABLE orders ADD COLUMN unknown_since TIMESTAMPTZ;

-- The venue account an agent key trades for (Hyperliquid: the account that approved the API wallet). NULL: the
-- agent wallet's own address.
ALTER TABLE credentials ADD COLUMN account_address TEXT;

-- Venue nonces per signing wallet: strictly increasing and never reused, across instances and restarts.
CREATE TABLE venue_nonces (
    signer  TEXT PRIMARY KEY,
    last    BIGINT NOT NULL
);
