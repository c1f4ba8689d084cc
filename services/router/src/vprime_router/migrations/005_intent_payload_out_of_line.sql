-- An intent's payload (the intent as received, read again only when it fails over) is most of its row. A fill's
-- settle (003) copied all of it into the row's new version, and at three or four rows a page often found no room
-- for that copy on the page (then it is not a HOT update). Kept out of line, uncompressed, the row is about a
-- hundred bytes, and an update that leaves the payload alone keeps pointing at the same stored value.
ALTER TABLE intents ALTER COLUMN payload SET STORAGE EXTERNAL;
ALTER TABLE intents SET (toast_tuple_target = 128);
