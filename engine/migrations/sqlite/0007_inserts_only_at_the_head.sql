-- INSERT OR REPLACE (or REPLACE INTO) resolves a conflict by deleting the
-- row in the way, and that delete fires no DELETE trigger: it would rewrite
-- an event, or a request record, with the append-only triggers in place.
-- A BEFORE INSERT trigger runs before any conflict is resolved, so these
-- refuse every insert that would meet an existing row, whatever its
-- conflict clause, and every event that would not stand right after the
-- head: positions stay 1, 2, 3, ... without holes. Each condition is one
-- step down an index (the head is the last key of the primary key).
CREATE TRIGGER events_insert_at_head BEFORE INSERT ON events
WHEN NEW.position IS NOT (SELECT COALESCE(MAX(position), 0) + 1 FROM events)
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: an event goes right after the head, at the next position');
END;

CREATE TRIGGER events_insert_new BEFORE INSERT ON events
WHEN EXISTS (SELECT 1 FROM events WHERE event_id = NEW.event_id)
  OR EXISTS (SELECT 1 FROM events WHERE stream_id = NEW.stream_id AND stream_version = NEW.stream_version)
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: this event id or stream version is taken');
END;

CREATE TRIGGER requests_insert_new BEFORE INSERT ON requests
WHEN EXISTS (SELECT 1 FROM requests WHERE request_id = NEW.request_id)
BEGIN
    SELECT RAISE(ABORT, 'request records are append-only: this request id is taken');
END;
