-- The activity view keeps pages of rows per actor instead of one document
-- per event. Its old documents are dropped with its checkpoints; on start
-- it is applied again from the beginning of the log.
DELETE FROM view_docs WHERE view = 'activity';
DELETE FROM view_checkpoints WHERE view = 'activity';
