-- A sign-in message is written again from configuration and the nonce row when it is verified, so
-- the row keeps the nonce, wallet and times only: nothing a client sent beyond its wallet is stored.
ALTER TABLE auth_nonces DROP COLUMN message;
