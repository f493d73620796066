-- The log the views' file was applied from (ADR 0039): the hash of its
-- first event. The views' file sits beside the log's, and a log restored
-- from an older backup, or copied from elsewhere, must not be served with
-- views applied from another history; they are applied again instead.
CREATE TABLE views_log (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    first_hash  BLOB
);
