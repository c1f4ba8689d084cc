-- Every transaction an on-chain venue's order was sent as, journaled under the order's client id before its bytes
-- leave (its hash is known once it is signed): a send whose answer was lost, or an instance killed mid-send, is looked
-- up on the chain by these hashes, never sent again blindly. Several rows for one client id: a re-signed nonce, or an
-- approval sent for it.
CREATE TABLE venue_transactions (
    tx_hash   TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    signer    TEXT NOT NULL,
    nonce     BIGINT NOT NULL,
    sent_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX venue_transactions_by_client ON venue_transactions (client_id);
