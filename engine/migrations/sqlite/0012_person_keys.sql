-- Personal data is sealed inside event payloads with a data key per person
-- (ADR 0021). The keys live here, outside the hash chain: each one random,
-- stored wrapped (XChaCha20-Poly1305) under the deployment's master key,
-- which is never in the database. Erasing a person deletes their key and
-- leaves a row without one, so that nothing is sealed for them again; the
-- events keep their ciphertext and every chain hash stays valid.
-- Every connection that writes this file runs with `secure_delete = ON`, so
-- a deleted key's bytes are overwritten, not left in a free page.
CREATE TABLE person_keys (
    person_id   TEXT PRIMARY KEY,
    wrapped     BLOB,                 -- 24-byte nonce || ciphertext; NULL once erased
    created_at  TEXT NOT NULL,
    erased_at   TEXT,
    CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL))
);

-- Who read whose personal data, what and why: kept apart from the views
-- and from the log, written in batches off the request path.
CREATE TABLE personal_reads (
    id          INTEGER PRIMARY KEY,
    read_at     TEXT NOT NULL,
    reader      TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    what        TEXT NOT NULL,
    why         TEXT NOT NULL
);
CREATE INDEX personal_reads_by_person ON personal_reads (person_id, id);
