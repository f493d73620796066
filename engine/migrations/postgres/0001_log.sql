-- The event log: one table, written only by appending, in one total order.
CREATE TABLE events (
    position        BIGINT      PRIMARY KEY,      -- 1, 2, 3, ... without holes
    event_id        UUID        NOT NULL UNIQUE,  -- UUID v7
    stream_id       TEXT        NOT NULL,
    stream_type     TEXT        NOT NULL,
    stream_version  BIGINT      NOT NULL,         -- 1, 2, 3, ... per stream
    event_type      TEXT        NOT NULL,
    event_version   INTEGER     NOT NULL,         -- payload schema version
    payload         TEXT        NOT NULL,         -- the exact JSON text hashed (not jsonb: no re-normalizing)
    metadata        TEXT        NOT NULL,         -- the exact JSON text hashed
    recorded_at     TIMESTAMPTZ NOT NULL,         -- microseconds, as hashed
    prev_hash       BYTEA       NOT NULL,
    hash            BYTEA       NOT NULL,         -- SHA-256(prev_hash || stored bytes)
    UNIQUE (stream_id, stream_version)
);

CREATE FUNCTION jejak_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION jejak_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION jejak_refuse_change();

-- Wakes subscribers in every process: the payload is the new head position.
CREATE FUNCTION jejak_announce_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('jejak_log', (SELECT max(position) FROM appended)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER events_announce AFTER INSERT ON events
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION jejak_announce_head();

-- What each request id wrote, so that a repeated command returns the first result.
CREATE TABLE requests (
    request_id      TEXT   PRIMARY KEY,
    stream_id       TEXT   NOT NULL,
    first_version   BIGINT NOT NULL,
    last_version    BIGINT NOT NULL,
    first_position  BIGINT NOT NULL,
    last_position   BIGINT NOT NULL
);

CREATE TRIGGER requests_append_only BEFORE UPDATE OR DELETE ON requests
    FOR EACH ROW EXECUTE FUNCTION jejak_refuse_change();
CREATE TRIGGER requests_no_truncate BEFORE TRUNCATE ON requests
    FOR EACH STATEMENT EXECUTE FUNCTION jejak_refuse_change();

-- Snapshots are a cache of a stream's state; droppable at any time.
CREATE TABLE snapshots (
    stream_id       TEXT        NOT NULL,
    schema_version  BIGINT      NOT NULL,
    stream_version  BIGINT      NOT NULL,
    state           TEXT        NOT NULL,
    taken_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (stream_id, schema_version)
);
