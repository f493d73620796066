-- The people index: a NIP to the opaque person id that stands for the
-- person everywhere else (subject, actor, project ids). Outside the hash
-- chain, so that erasing a person deletes their row and the chain stays
-- whole.
CREATE TABLE people (
    person_id   TEXT        PRIMARY KEY,
    nip         TEXT        NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
