-- What a view keeps beside its documents for its queries (ADR 0033): the
-- terms each document is found by (a project's mentor, an innovation's
-- OPD) and the counts the view keeps as it applies the log (a cohort's
-- projects per state). Both are written with the documents and the
-- checkpoint, per generation, in one transaction.
CREATE TABLE view_terms (
    view        TEXT    NOT NULL,
    generation  INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    PRIMARY KEY (view, generation, name, value, key)
) WITHOUT ROWID;

CREATE TABLE view_counts (
    view        TEXT    NOT NULL,
    generation  INTEGER NOT NULL,
    scope       TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (view, generation, scope, name, value)
) WITHOUT ROWID;

-- The board and the register written before keep nothing beside their
-- documents: they are dropped and applied again from the log on start.
DELETE FROM view_docs WHERE view IN ('project_board', 'innovation_register');
DELETE FROM view_checkpoints WHERE view IN ('project_board', 'innovation_register');
DELETE FROM view_active WHERE view IN ('project_board', 'innovation_register');
