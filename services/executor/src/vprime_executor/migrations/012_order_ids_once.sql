-- An order's venue client order id is derived from its order id (vprime_shared.ids.client_order_id), so the
-- primary key already makes it unique, and nothing looks an order up by it. Its unique index cost every order an
-- index entry when it was claimed and another when it was resolved (the resolution is not a HOT update: its
-- status is in orders_sending's predicate).
ALTER TABLE orders DROP CONSTRAINT orders_client_order_id_key;
