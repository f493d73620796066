-- How far each process manager (and projection) has read the log.
CREATE TABLE checkpoints (
    name        TEXT    PRIMARY KEY,
    position    INTEGER NOT NULL
) WITHOUT ROWID;
