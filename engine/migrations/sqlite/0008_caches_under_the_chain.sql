-- A snapshot is a cache under the chain: it names the event it was taken
-- at (position and chain hash, checked against the log on load) and the
-- SHA-256 of its own bytes. Snapshots taken before this have neither and
-- are dropped: they are a cache, rebuilt from the events.
DELETE FROM snapshots;
ALTER TABLE snapshots ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE snapshots ADD COLUMN chain_hash BLOB NOT NULL DEFAULT x'';
ALTER TABLE snapshots ADD COLUMN state_hash BLOB NOT NULL DEFAULT x'';

-- How far the chain was verified when a server last started: the next
-- start verifies only the events after it, from this event's hash on.
CREATE TABLE log_verified (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    position    INTEGER NOT NULL,
    hash        BLOB    NOT NULL,
    verified_at TEXT    NOT NULL
);
