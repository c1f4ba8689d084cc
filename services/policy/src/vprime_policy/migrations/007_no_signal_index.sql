-- Nothing in policy reads decisions by signal (a signal's decisions are found by their derived intent ids);
-- the index cost every decision an insert.
DROP INDEX decisions_signal;
