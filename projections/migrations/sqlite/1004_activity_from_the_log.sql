-- The activity trail is read from the log by its index on the actor
-- (the log's migration `events_by_actor`): the activity view and its
-- documents go, and with them the tag that only its pages carried.
DELETE FROM view_docs WHERE view = 'activity';
DELETE FROM view_checkpoints WHERE view = 'activity';
DELETE FROM view_active WHERE view = 'activity';
ALTER TABLE view_docs DROP COLUMN tag;
