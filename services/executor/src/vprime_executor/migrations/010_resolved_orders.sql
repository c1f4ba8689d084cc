-- An order is in flight (SENDING) exactly until it is resolved. Resolving finds its orders by key and
-- `resolved_at IS NULL` (see handlers.resolve_all); this keeps the two the same.
ALTER TABLE orders ADD CONSTRAINT orders_resolved_unless_sending CHECK ((status = 'SENDING') = (resolved_at IS NULL));
