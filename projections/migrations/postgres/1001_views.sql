-- Read models as JSON documents, per view and generation. A rebuild writes
-- a new generation beside the one being served, then switches to it.
CREATE TABLE view_docs (
    view        TEXT    NOT NULL,
    generation  BIGINT  NOT NULL,
    key         TEXT    NOT NULL,
    tag         TEXT,
    doc         TEXT    NOT NULL,
    PRIMARY KEY (view, generation, key)
);
CREATE INDEX view_docs_by_tag ON view_docs (view, generation, tag, key);

-- How far each generation of a view has applied the log.
CREATE TABLE view_checkpoints (
    view        TEXT    NOT NULL,
    generation  BIGINT  NOT NULL,
    position    BIGINT  NOT NULL,
    PRIMARY KEY (view, generation)
);

-- The generation each view serves.
CREATE TABLE view_active (
    view        TEXT    PRIMARY KEY,
    generation  BIGINT  NOT NULL
);
