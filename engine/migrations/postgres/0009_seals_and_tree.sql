-- The seal: one row per committed batch, written in the batch's transaction.
-- `signature` is the deployment key's Ed25519 signature over
-- "jejak-seal-v1\0" || position (8 bytes, big endian) || the chain hash of
-- the event at `position` (docs/hashes.md). The key lives outside the
-- database, so whoever can only write the database cannot seal.
CREATE TABLE seals (
    position    BIGINT  PRIMARY KEY,   -- the batch's last position
    key_id      BIGINT  NOT NULL,      -- C2SP key id of the signing key
    signature   BYTEA   NOT NULL
);

CREATE TRIGGER seals_append_only BEFORE UPDATE OR DELETE ON seals
    FOR EACH ROW EXECUTE FUNCTION jejak_refuse_change();
CREATE TRIGGER seals_no_truncate BEFORE TRUNCATE ON seals
    FOR EACH STATEMENT EXECUTE FUNCTION jejak_refuse_change();

-- The log as an RFC 9162 Merkle tree, kept incrementally: every complete
-- subtree's hash, stored at its index in the Crosby–Wallach order (about two
-- per event), so that any root, inclusion or consistency proof reads
-- O(log n) rows. Derived from the chain hashes; `verify` checks it.
CREATE TABLE tree_hashes (
    idx     BIGINT  PRIMARY KEY,
    hash    BYTEA   NOT NULL
);

CREATE TRIGGER tree_hashes_append_only BEFORE UPDATE OR DELETE ON tree_hashes
    FOR EACH ROW EXECUTE FUNCTION jejak_refuse_change();
CREATE TRIGGER tree_hashes_no_truncate BEFORE TRUNCATE ON tree_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION jejak_refuse_change();
