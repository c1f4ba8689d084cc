-- A fill settles its intent shortly after the intent was written. With room left on each page, that update
-- stays on the row's page (a HOT update: no new index entry, and only the changed bytes go to the WAL)
-- instead of copying the row, payload and all, to another page.
ALTER TABLE intents SET (fillfactor = 60);
