-- The read models keep their tables in a file of their own beside the
-- log's (ADR 0039). The copies they kept in the log's file are dropped:
-- they are rebuilt from the log in the new file on the next start, and
-- what they held (names of people, some since erased) leaves this file
-- (secure_delete overwrites the freed pages).
DROP TABLE IF EXISTS view_docs;
DROP TABLE IF EXISTS view_checkpoints;
DROP TABLE IF EXISTS view_active;
DROP TABLE IF EXISTS view_terms;
DROP TABLE IF EXISTS view_counts;
-- The views' migrations are recorded in their own file from now on.
DELETE FROM _sqlx_migrations WHERE version >= 1000;
