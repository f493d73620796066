//! The seal, the Merkle tree and signed checkpoints: every batch is sealed
//! by the deployment's key, the tree's proofs agree with an independent
//! implementation of RFC 9162 written here from the RFC's text, and
//! tampering by someone who can write the database but does not hold the
//! key is found at its position.

use std::collections::HashMap;

use jejak_engine::store::merkle::{
    self, Frontier, check_consistency, check_inclusion, leaf_hash, stored_index,
};
use jejak_engine::store::{
    Break, BreakKind, EventStore, ExpectedVersion, HashedFields, RecordedEvent, SealKey,
    SignedCheckpoint, StoreConfig, StoreError, chain_hash,
};
use jejak_tests::{TestDb, on_both_backends};
use sha2::{Digest as _, Sha256};

use super::{append_threes, events};

on_both_backends!(
    every_batch_is_sealed_and_the_whole_log_verifies,
    a_forged_append_is_reported_at_its_position_and_stops_the_writer,
    a_rewritten_history_with_a_recomputed_chain_is_unsealed_after_the_last_good_seal,
    a_log_without_a_key_is_reported_unsealed_when_checked_with_one,
    proofs_from_the_database_match_an_independent_implementation,
    a_checkpoint_is_signed_and_the_grown_log_is_consistent_with_it,
    a_changed_tree_hash_is_found_by_verify,
    a_log_written_before_the_tree_gets_it_built_on_open,
    a_checkpoint_is_published_into_a_folder_for_witnesses,
);

/// A fixed key, so that failures reproduce.
fn key() -> SealKey {
    SealKey::from_seed("jejak.test/log", [7; 32]).unwrap()
}

fn sealed() -> StoreConfig {
    StoreConfig {
        seal_key: Some(key()),
        ..StoreConfig::default()
    }
}

/// Four appends of three events: seals at 3, 6, 9 and 12.
async fn filled(db: &TestDb) -> EventStore {
    let store = db.open_with(sealed()).await;
    append_threes(&store, "s", 0..4).await;
    store
}

async fn all(store: &EventStore) -> Vec<RecordedEvent> {
    store.read_all(0, 10_000).await.unwrap()
}

// --- an independent RFC 9162 implementation, from §2.1 -----------------------

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// MTH(D[n]) over leaf hashes: the largest power of two smaller than n splits.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => sha(&[]),
        1 => leaves[0],
        n => {
            let k = split(n);
            sha(&[&[1], &mth(&leaves[..k]), &mth(&leaves[k..])])
        }
    }
}

fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// PATH(m, D[n]) (RFC 9162 §2.1.3.1).
fn path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (RFC 9162 §2.1.4.1).
fn proof(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    subproof(m, leaves, true)
}

fn subproof(m: usize, leaves: &[[u8; 32]], b: bool) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if m == n {
        return if b { Vec::new() } else { vec![mth(leaves)] };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], b);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn rfc_leaf(data: &[u8]) -> [u8; 32] {
    sha(&[&[0], data])
}

// --- the published vectors (RFC 6962's reference tree) ---------------------

const VECTOR_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

const VECTOR_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, audit path)
const VECTOR_INCLUSION: [(u64, u64, &[&str]); 3] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// (old size, new size, consistency proof)
const VECTOR_CONSISTENCY: [(u64, u64, &[&str]); 4] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

fn hexes(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

fn unhex(h: &str) -> [u8; 32] {
    hex::decode(h).unwrap().try_into().unwrap()
}

/// The tree as the store keeps it (hashes by stored index), built leaf by
/// leaf with the store's [`Frontier`].
fn stored_tree(leaves: &[[u8; 32]]) -> HashMap<u64, [u8; 32]> {
    let mut frontier = Frontier::default();
    let mut stored = HashMap::new();
    for leaf in leaves {
        let at = stored_index(0, frontier.size());
        stored.extend((at..).zip(frontier.push_leaf_hash(*leaf)));
    }
    stored
}

#[test]
fn the_tree_reproduces_the_published_rfc_6962_vectors() {
    let leaves: Vec<[u8; 32]> = VECTOR_LEAVES
        .iter()
        .map(|l| rfc_leaf(&hex::decode(l).unwrap()))
        .collect();
    let stored = stored_tree(&leaves);
    assert_eq!(
        hex::encode(merkle::root_from(&stored, 0).unwrap()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    for (n, want) in VECTOR_ROOTS.iter().enumerate() {
        let size = n as u64 + 1;
        assert_eq!(
            hex::encode(merkle::root_from(&stored, size).unwrap()),
            *want,
            "root of {size}"
        );
        let mut frontier = Frontier::default();
        for leaf in &leaves[..=n] {
            frontier.push_leaf_hash(*leaf);
        }
        assert_eq!(hex::encode(frontier.root()), *want, "frontier of {size}");
        assert_eq!(
            hex::encode(mth(&leaves[..=n])),
            *want,
            "naive root of {size}"
        );
    }
    for (index, size, want) in VECTOR_INCLUSION {
        let got = merkle::inclusion_from(&stored, index, size).unwrap();
        assert_eq!(hexes(&got), want, "inclusion of {index} in {size}");
        let root = unhex(VECTOR_ROOTS[size as usize - 1]);
        check_inclusion(&got, size, &root, index, &leaves[index as usize]).unwrap();
    }
    for (old, new, want) in VECTOR_CONSISTENCY {
        let got = merkle::consistency_from(&stored, old, new).unwrap();
        assert_eq!(hexes(&got), want, "consistency of {old} with {new}");
        let (old_root, new_root) = (
            unhex(VECTOR_ROOTS[old as usize - 1]),
            unhex(VECTOR_ROOTS[new as usize - 1]),
        );
        check_consistency(&got, new, &new_root, old, &old_root).unwrap();
    }
}

#[test]
fn every_proof_agrees_with_the_naive_rfc_implementation_and_tampering_fails() {
    let leaves: Vec<[u8; 32]> = (0..70u32).map(|i| rfc_leaf(&i.to_be_bytes())).collect();
    let stored = stored_tree(&leaves);
    for n in 1..=leaves.len() {
        let tree = &leaves[..n];
        let root = mth(tree);
        let size = n as u64;
        assert_eq!(
            merkle::root_from(&stored, size).unwrap(),
            root,
            "root of {n}"
        );
        for m in 0..n {
            let got = merkle::inclusion_from(&stored, m as u64, size).unwrap();
            assert_eq!(got, path(m, tree), "PATH({m}, D[{n}])");
            check_inclusion(&got, size, &root, m as u64, &tree[m]).unwrap();
            if n > 1 {
                let other = ((m + 1) % n) as u64;
                assert!(check_inclusion(&got, size, &root, other, &tree[m]).is_err());
            }
            assert!(check_inclusion(&got, size, &root, m as u64, &rfc_leaf(b"forged")).is_err());
            let old = m as u64 + 1;
            let got = merkle::consistency_from(&stored, old, size).unwrap();
            assert_eq!(got, proof(m + 1, tree), "PROOF({old}, D[{n}])");
            let old_root = mth(&tree[..=m]);
            check_consistency(&got, size, &root, old, &old_root).unwrap();
            if old < size {
                assert!(check_consistency(&got, size, &root, old, &rfc_leaf(b"x")).is_err());
            }
        }
    }
}

// --- the store -------------------------------------------------------------

async fn every_batch_is_sealed_and_the_whole_log_verifies(db: &TestDb) {
    let store = filled(db).await;
    // Concurrent appends are group-committed: each batch has one seal.
    let writers: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append(events(&format!("c{i}"), ExpectedVersion::NoStream, 2))
                    .await
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap().unwrap();
    }
    let head = store.digest().await.unwrap().position;
    assert_eq!(head, 44);
    let report = store.verify(1, None, None).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.sealed_to, Some(head));
    let leaves: Vec<_> = all(&store)
        .await
        .iter()
        .map(|e| leaf_hash(&e.hash))
        .collect();
    assert_eq!(report.tree_root, Some(mth(&leaves)));

    let seals = store.read_seals(0, 1_000).await.unwrap();
    assert!(
        seals.len() >= 5 && seals.len() <= 20,
        "{} seals",
        seals.len()
    );
    let vkey = key().verifier();
    for seal in &seals {
        let event = store
            .read_all(seal.position - 1, 1)
            .await
            .unwrap()
            .remove(0);
        assert!(
            vkey.verify_seal(seal, &event.hash),
            "seal at {}",
            seal.position
        );
    }
    // Another key does not verify them.
    let other = SealKey::from_seed("jejak.test/log", [8; 32])
        .unwrap()
        .verifier();
    let last = seals.last().unwrap();
    let event = store
        .read_all(last.position - 1, 1)
        .await
        .unwrap()
        .remove(0);
    assert!(!other.verify_seal(last, &event.hash));
}

/// Appends an event after the head the way someone with database access
/// and no key could: a valid chain, no seal.
async fn forge_append(db: &TestDb, store: &EventStore) -> u64 {
    let head = all(store).await.pop().unwrap();
    let position = head.position + 1;
    let event_id = uuid::Uuid::now_v7();
    let recorded_at = head.recorded_at + chrono::Duration::seconds(1);
    let payload = r#"{"milestone":"approved"}"#;
    let metadata = r#"{"actor_id":"mallory"}"#;
    let hash = chain_hash(
        &head.hash,
        &HashedFields {
            position,
            event_id,
            stream_id: "s0",
            stream_type: "test",
            stream_version: 4,
            event_type: "Happened",
            event_version: 1,
            recorded_at,
            payload,
            metadata,
        },
    );
    let (time, prev, this) = if db.is_postgres() {
        (
            format!("'{}'", recorded_at.to_rfc3339()),
            format!("'\\x{}'::bytea", hex::encode(head.hash)),
            format!("'\\x{}'::bytea", hex::encode(hash)),
        )
    } else {
        (
            format!("'{}'", recorded_at.format("%Y-%m-%dT%H:%M:%S%.6fZ")),
            format!("X'{}'", hex::encode(head.hash)),
            format!("X'{}'", hex::encode(hash)),
        )
    };
    db.raw_sql(&format!(
        "INSERT INTO events (position, event_id, stream_id, stream_type, stream_version, \
         event_type, event_version, payload, metadata, recorded_at, prev_hash, hash) VALUES \
         ({position}, '{event_id}', 's0', 'test', 4, 'Happened', 1, '{payload}', '{metadata}', \
         {time}, {prev}, {this})"
    ))
    .await
    .unwrap();
    position
}

async fn a_forged_append_is_reported_at_its_position_and_stops_the_writer(db: &TestDb) {
    let store = filled(db).await;
    let forged = forge_append(db, &store).await;
    assert_eq!(forged, 13);
    let report = store.verify(1, None, None).await.unwrap();
    assert_eq!(
        report.first_break,
        Some(Break {
            position: 13,
            kind: BreakKind::Unsealed
        })
    );
    assert_eq!(report.sealed_to, Some(12));
    // The chain itself is whole: only the seal tells.
    let unkeyed = db
        .open_with(StoreConfig {
            read_only: true,
            ..StoreConfig::default()
        })
        .await;
    assert!(
        unkeyed
            .verify(1, None, None)
            .await
            .unwrap()
            .first_break
            .is_none_or(|b| b.kind != BreakKind::ContentChanged && b.kind != BreakKind::LinkBroken)
    );
    drop(unkeyed);
    drop(store);

    // A server started on the forged log does not seal on top of it.
    let store = db.open_with(sealed()).await;
    let refused = store
        .append(events("s9", ExpectedVersion::NoStream, 1))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, StoreError::Unavailable(m) if m.contains("position 13") && m.contains("not sealed")),
        "{refused}"
    );
    // Nothing was written, and no checkpoint vouches for the forged event.
    assert_eq!(store.digest().await.unwrap().position, 13);
    let checkpoint = store.signed_checkpoint().await.unwrap();
    assert_eq!(checkpoint.checkpoint.size, 12);
}

async fn a_rewritten_history_with_a_recomputed_chain_is_unsealed_after_the_last_good_seal(
    db: &TestDb,
) {
    let store = filled(db).await;
    let mut log = all(&store).await;
    // Someone with database access rewrites event 5 and recomputes every
    // hash after it, so that the chain holds again.
    log[4].payload = r#"{"n":42}"#.into();
    let mut prev = log[3].hash;
    let mut sql = String::new();
    if db.is_postgres() {
        sql.push_str("ALTER TABLE events DISABLE TRIGGER USER;");
    } else {
        sql.push_str("DROP TRIGGER events_no_update;");
    }
    for e in &mut log[4..] {
        e.prev_hash = prev;
        e.hash = chain_hash(
            &prev,
            &HashedFields {
                position: e.position,
                event_id: e.event_id,
                stream_id: e.stream_id.as_str(),
                stream_type: &e.stream_type,
                stream_version: e.stream_version,
                event_type: &e.event_type,
                event_version: e.event_version,
                recorded_at: e.recorded_at,
                payload: &e.payload,
                metadata: &e.metadata,
            },
        );
        prev = e.hash;
        let (p, h) = if db.is_postgres() {
            (
                format!("'\\x{}'::bytea", hex::encode(e.prev_hash)),
                format!("'\\x{}'::bytea", hex::encode(e.hash)),
            )
        } else {
            (
                format!("X'{}'", hex::encode(e.prev_hash)),
                format!("X'{}'", hex::encode(e.hash)),
            )
        };
        sql.push_str(&format!(
            "UPDATE events SET payload = '{}', prev_hash = {p}, hash = {h} WHERE position = {};",
            e.payload, e.position
        ));
    }
    db.raw_sql(&sql).await.unwrap();
    let report = store.verify(1, None, None).await.unwrap();
    // Seals at 3, 6, 9, 12: the ones after the rewrite no longer verify.
    assert_eq!(
        report.first_break,
        Some(Break {
            position: 4,
            kind: BreakKind::Unsealed
        }),
        "{report:?}"
    );
    assert_eq!(report.sealed_to, Some(3));
}

async fn a_log_without_a_key_is_reported_unsealed_when_checked_with_one(db: &TestDb) {
    let store = db.open().await;
    store
        .append(events("s", ExpectedVersion::NoStream, 3))
        .await
        .unwrap();
    drop(store);
    let checked = db
        .open_with(StoreConfig {
            read_only: true,
            verifier_key: Some(key().verifier()),
            ..StoreConfig::default()
        })
        .await;
    let report = checked.verify(1, None, None).await.unwrap();
    assert_eq!(
        report.first_break,
        Some(Break {
            position: 1,
            kind: BreakKind::Unsealed
        })
    );
    drop(checked);
    // A server with a key takes over a log that holds no seal at all: its
    // first batch seals everything before it.
    let store = db.open_with(sealed()).await;
    store
        .append(events("t", ExpectedVersion::NoStream, 1))
        .await
        .unwrap();
    let report = store.verify(1, None, None).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.sealed_to, Some(4));
}

async fn proofs_from_the_database_match_an_independent_implementation(db: &TestDb) {
    let store = db.open_with(sealed()).await;
    for i in 0..21 {
        store
            .append(events(
                &format!("p{i}"),
                ExpectedVersion::NoStream,
                1 + i % 3,
            ))
            .await
            .unwrap();
    }
    let log = all(&store).await;
    let leaves: Vec<[u8; 32]> = log.iter().map(|e| leaf_hash(&e.hash)).collect();
    let n = leaves.len();
    assert_eq!(store.tree_size().await.unwrap(), n as u64);
    for size in 1..=n {
        let tree = &leaves[..size];
        let root = store.tree_root(size as u64).await.unwrap();
        assert_eq!(root, mth(tree), "root of {size}");
        for m in 0..size {
            let got = store.inclusion_proof(m as u64, size as u64).await.unwrap();
            assert_eq!(got, path(m, tree), "PATH({m}, D[{size}])");
            let got = store
                .consistency_proof(m as u64 + 1, size as u64)
                .await
                .unwrap();
            assert_eq!(got, proof(m + 1, tree), "PROOF({}, D[{size}])", m + 1);
        }
    }
    // Out of range, with the reason.
    let err = store.inclusion_proof(n as u64, n as u64).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "position",
                ..
            }
        ),
        "{err}"
    );
    let err = store.consistency_proof(0, n as u64).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "old_size",
                ..
            }
        ),
        "{err}"
    );
    let err = store.tree_root(n as u64 + 1).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "tree_size",
                ..
            }
        ),
        "{err}"
    );
}

async fn a_checkpoint_is_signed_and_the_grown_log_is_consistent_with_it(db: &TestDb) {
    let store = filled(db).await;
    let kept = store.signed_checkpoint().await.unwrap();
    let vkey = key().verifier();
    assert!(
        kept.note.starts_with("jejak.test/log\n12\n"),
        "{}",
        kept.note
    );
    assert!(
        kept.note.contains("\n\n\u{2014} jejak.test/log "),
        "{}",
        kept.note
    );
    let parsed = SignedCheckpoint::verify(&kept.note, &vkey).unwrap();
    assert_eq!(parsed, kept);
    assert_eq!(parsed.checkpoint.root, store.tree_root(12).await.unwrap());

    store
        .append(events("later", ExpectedVersion::NoStream, 5))
        .await
        .unwrap();
    let now = SignedCheckpoint::verify(&store.signed_checkpoint().await.unwrap().note, &vkey)
        .unwrap()
        .checkpoint;
    assert_eq!(now.size, 17);
    let proof = store.consistency_proof(12, 17).await.unwrap();
    check_consistency(&proof, 17, &now.root, 12, &kept.checkpoint.root).unwrap();

    // Another key, a changed size or root: refused, saying why.
    let other = SealKey::from_seed("jejak.test/log", [9; 32])
        .unwrap()
        .verifier();
    let err = SignedCheckpoint::verify(&kept.note, &other).unwrap_err();
    assert!(
        err.to_string().contains("no signature by jejak.test/log"),
        "{err}"
    );
    let forged = kept.note.replacen("\n12\n", "\n11\n", 1);
    let err = SignedCheckpoint::verify(&forged, &vkey).unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");
}

/// [`filled`], then eight appends more: 36 events, whose tree stores the
/// subtrees of events 1–16, 17–32 and 1–32 (ADR 0043).
async fn filled_past_the_stored_levels(db: &TestDb) -> EventStore {
    let store = filled(db).await;
    append_threes(&store, "s", 4..12).await;
    store
}

async fn a_changed_tree_hash_is_found_by_verify(db: &TestDb) {
    let store = filled_past_the_stored_levels(db).await;
    // The tree of 36 events is the subtrees of events 1–32 and 33–36;
    // change the first byte of the stored hash of the first (to 0, or to 1
    // where it was 0: one hash in 256 begins with a zero byte).
    let idx = stored_index(5, 0);
    let sql = if db.is_postgres() {
        format!(
            "ALTER TABLE tree_hashes DISABLE TRIGGER USER; \
             UPDATE tree_hashes SET hash = CASE WHEN get_byte(hash, 0) = 0 \
             THEN '\\x01'::bytea ELSE '\\x00'::bytea END || substring(hash from 2) \
             WHERE idx = {idx};"
        )
    } else {
        format!(
            "DROP TRIGGER tree_hashes_no_update; \
             UPDATE tree_hashes SET hash = CASE WHEN substr(hash, 1, 1) = X'00' \
             THEN X'01' ELSE X'00' END || substr(hash, 2) WHERE idx = {idx};"
        )
    };
    db.raw_sql(&sql).await.unwrap();
    let report = store.verify(1, None, None).await.unwrap();
    assert_eq!(
        report.first_break,
        Some(Break {
            position: 36,
            kind: BreakKind::TreeMismatch
        })
    );
}

async fn a_log_written_before_the_tree_gets_it_built_on_open(db: &TestDb) {
    let store = filled_past_the_stored_levels(db).await;
    let root = store.tree_root(36).await.unwrap();
    drop(store);
    // Keep the subtree of events 1–16 only: the tree is built on from it.
    let kept = stored_index(4, 0);
    let sql = if db.is_postgres() {
        format!(
            "ALTER TABLE tree_hashes DISABLE TRIGGER USER; DELETE FROM tree_hashes WHERE idx > {kept};"
        )
    } else {
        format!("DROP TRIGGER tree_hashes_no_delete; DELETE FROM tree_hashes WHERE idx > {kept};")
    };
    db.raw_sql(&sql).await.unwrap();
    let err = db
        .open_with(StoreConfig {
            read_only: true,
            ..sealed()
        })
        .await
        .tree_root(36)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not complete"), "{err}");
    let store = db.open_with(sealed()).await;
    assert_eq!(store.tree_root(36).await.unwrap(), root);
    store
        .append(events("after", ExpectedVersion::NoStream, 2))
        .await
        .unwrap();
    let report = store.verify(1, None, None).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
}

async fn a_checkpoint_is_published_into_a_folder_for_witnesses(db: &TestDb) {
    let store = filled(db).await;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("witness");
    let size = jejak_server::publish::publish_once(&store, &folder, 0)
        .await
        .unwrap();
    assert_eq!(size, 12);
    let vkey = key().verifier();
    let newest = std::fs::read_to_string(folder.join("checkpoint")).unwrap();
    let numbered = std::fs::read_to_string(folder.join("checkpoint-12")).unwrap();
    assert_eq!(newest, numbered);
    assert_eq!(
        SignedCheckpoint::verify(&newest, &vkey)
            .unwrap()
            .checkpoint
            .size,
        12
    );
    // Nothing new: nothing written.
    assert_eq!(
        jejak_server::publish::publish_once(&store, &folder, 12)
            .await
            .unwrap(),
        12
    );
    store
        .append(events("more", ExpectedVersion::NoStream, 2))
        .await
        .unwrap();
    assert_eq!(
        jejak_server::publish::publish_once(&store, &folder, 12)
            .await
            .unwrap(),
        14
    );
    assert!(folder.join("checkpoint-14").exists());
}
