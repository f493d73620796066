-- The activity trail is read from the log by its index on the actor
-- (the log's migration `events_by_actor`): the activity view and its
-- documents go, and with them the tag that only its pages carried.
DELETE FROM view_docs WHERE view = 'activity';
DELETE FROM view_checkpoints WHERE view = 'activity';
DELETE FROM view_active WHERE view = 'activity';

-- Documents run to kilobytes. A table without rowids keeps every row in
-- its key's B-tree, spilling each into overflow pages and moving them
-- about as the tree splits; a rowid table keeps the documents in pages of
-- their own and only the short keys in the index.
CREATE TABLE view_docs_by_rowid (
    view        TEXT    NOT NULL,
    generation  INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    doc         TEXT    NOT NULL,
    UNIQUE (view, generation, key)
);
INSERT INTO view_docs_by_rowid (view, generation, key, doc)
    SELECT view, generation, key, doc FROM view_docs;
DROP TABLE view_docs;
ALTER TABLE view_docs_by_rowid RENAME TO view_docs;
