-- The event log: one table, written only by appending, in one total order.
CREATE TABLE events (
    position        INTEGER PRIMARY KEY,          -- 1, 2, 3, ... without holes
    event_id        TEXT    NOT NULL UNIQUE,      -- UUID v7
    stream_id       TEXT    NOT NULL,
    stream_type     TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,             -- 1, 2, 3, ... per stream
    event_type      TEXT    NOT NULL,
    event_version   INTEGER NOT NULL,             -- payload schema version
    payload         TEXT    NOT NULL,             -- the exact JSON text hashed
    metadata        TEXT    NOT NULL,             -- the exact JSON text hashed
    recorded_at     TEXT    NOT NULL,             -- UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ
    prev_hash       BLOB    NOT NULL,
    hash            BLOB    NOT NULL,             -- SHA-256(prev_hash || stored bytes)
    UNIQUE (stream_id, stream_version)
);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: events cannot be updated');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: events cannot be deleted');
END;

-- What each request id wrote, so that a repeated command returns the first result.
CREATE TABLE requests (
    request_id      TEXT    PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    first_version   INTEGER NOT NULL,
    last_version    INTEGER NOT NULL,
    first_position  INTEGER NOT NULL,
    last_position   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER requests_no_update BEFORE UPDATE ON requests
BEGIN
    SELECT RAISE(ABORT, 'request records are append-only');
END;

CREATE TRIGGER requests_no_delete BEFORE DELETE ON requests
BEGIN
    SELECT RAISE(ABORT, 'request records are append-only');
END;

-- Snapshots are a cache of a stream's state; droppable at any time.
CREATE TABLE snapshots (
    stream_id       TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    stream_version  INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    taken_at        TEXT    NOT NULL,
    PRIMARY KEY (stream_id, schema_version)
) WITHOUT ROWID;
