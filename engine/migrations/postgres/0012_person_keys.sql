-- Personal data is sealed inside event payloads with a data key per person
-- (ADR 0021). The keys live here, outside the hash chain: each one random,
-- stored wrapped (XChaCha20-Poly1305) under the deployment's master key,
-- which is never in the database. Erasing a person deletes their key and
-- leaves a row without one, so that nothing is sealed for them again; the
-- events keep their ciphertext and every chain hash stays valid.
-- A deleted key's old row version stays in the table's file until
-- `VACUUM FULL person_keys` rewrites it: the erasure runs it when its login
-- owns the table, else `jejak privacy vacuum` does, as the owner.
CREATE TABLE person_keys (
    person_id   TEXT PRIMARY KEY,
    wrapped     BYTEA,                -- 24-byte nonce || ciphertext; NULL once erased
    created_at  TIMESTAMPTZ NOT NULL,
    erased_at   TIMESTAMPTZ,
    CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL))
);

-- Who read whose personal data, what and why: kept apart from the views
-- and from the log, written in batches off the request path.
CREATE TABLE personal_reads (
    id          BIGSERIAL PRIMARY KEY,
    read_at     TIMESTAMPTZ NOT NULL,
    reader      TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    what        TEXT NOT NULL,
    why         TEXT NOT NULL
);
CREATE INDEX personal_reads_by_person ON personal_reads (person_id, id);
