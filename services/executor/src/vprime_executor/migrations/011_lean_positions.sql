-- What every fill paid for and nothing needed. A position is opened only by the statement that resolves its
-- order (resolve_all joins the two), and its id is derived from the order's, so the primary key already allows
-- one position per order. The foreign key checked the order once more for every fill and share-locked its row
-- (a second write to the row just resolved), the unique index on order_id kept a second copy of that guarantee,
-- and positions_open_by_instrument indexed what positions_watched (008) serves: nothing reads open positions
-- by instrument but ticks, and they read only the watched ones.
ALTER TABLE positions DROP CONSTRAINT positions_order_id_fkey;
ALTER TABLE positions DROP CONSTRAINT positions_order_id_key;
DROP INDEX positions_open_by_instrument;
