-- Other processes learn of new events from a NOTIFY that the writer sends
-- after its commit, at most one per commit and coalesced under load, rather
-- than from a trigger inside the append transaction, where NOTIFY's queue
-- lock and the wake-ups of every listener lengthened each commit. Followers
-- also poll, so a wake-up lost to a crash only delays them.
DROP TRIGGER IF EXISTS events_announce ON events;
DROP FUNCTION IF EXISTS jejak_announce_head();
