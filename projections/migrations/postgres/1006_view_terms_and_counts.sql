-- What a view keeps beside its documents for its queries (ADR 0033): the
-- terms each document is found by (a project's mentor, an innovation's
-- OPD) and the counts the view keeps as it applies the log (a cohort's
-- projects per state). Both are written with the documents and the
-- checkpoint, per generation, in one transaction.
--
-- Keys and terms compare byte by byte ("C"), whatever the database's
-- collation: pages are read in the order Rust sorts them, and a key
-- after a page token is after it in every table alike.
CREATE TABLE view_terms (
    view        TEXT    NOT NULL,
    generation  BIGINT  NOT NULL,
    name        TEXT    COLLATE "C" NOT NULL,
    value       TEXT    COLLATE "C" NOT NULL,
    key         TEXT    COLLATE "C" NOT NULL,
    PRIMARY KEY (view, generation, name, value, key)
);

CREATE TABLE view_counts (
    view        TEXT    NOT NULL,
    generation  BIGINT  NOT NULL,
    scope       TEXT    COLLATE "C" NOT NULL,
    name        TEXT    COLLATE "C" NOT NULL,
    value       TEXT    COLLATE "C" NOT NULL,
    n           BIGINT  NOT NULL,
    PRIMARY KEY (view, generation, scope, name, value)
);

-- The board and the register written before keep nothing beside their
-- documents: they are dropped and applied again from the log on start.
DELETE FROM view_docs WHERE view IN ('project_board', 'innovation_register');
DELETE FROM view_checkpoints WHERE view IN ('project_board', 'innovation_register');
DELETE FROM view_active WHERE view IN ('project_board', 'innovation_register');
ALTER TABLE view_docs ALTER COLUMN key TYPE TEXT COLLATE "C";
