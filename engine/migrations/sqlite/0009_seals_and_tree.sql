-- The seal: one row per committed batch, written in the batch's transaction.
-- `signature` is the deployment key's Ed25519 signature over
-- "jejak-seal-v1\0" || position (8 bytes, big endian) || the chain hash of
-- the event at `position` (docs/hashes.md). The key lives outside the
-- database, so whoever can only write the database cannot seal.
CREATE TABLE seals (
    position    INTEGER PRIMARY KEY,   -- the batch's last position
    key_id      INTEGER NOT NULL,      -- C2SP key id of the signing key
    signature   BLOB    NOT NULL
);

CREATE TRIGGER seals_no_update BEFORE UPDATE ON seals
BEGIN
    SELECT RAISE(ABORT, 'seals are append-only');
END;

CREATE TRIGGER seals_no_delete BEFORE DELETE ON seals
BEGIN
    SELECT RAISE(ABORT, 'seals are append-only');
END;

-- The log as an RFC 9162 Merkle tree, kept incrementally: every complete
-- subtree's hash, stored at its index in the Crosby–Wallach order (about two
-- per event), so that any root, inclusion or consistency proof reads
-- O(log n) rows. Derived from the chain hashes; `verify` checks it.
CREATE TABLE tree_hashes (
    idx     INTEGER PRIMARY KEY,
    hash    BLOB    NOT NULL
);

CREATE TRIGGER tree_hashes_no_update BEFORE UPDATE ON tree_hashes
BEGIN
    SELECT RAISE(ABORT, 'tree hashes are append-only');
END;

CREATE TRIGGER tree_hashes_no_delete BEFORE DELETE ON tree_hashes
BEGIN
    SELECT RAISE(ABORT, 'tree hashes are append-only');
END;
