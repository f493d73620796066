//! Tampering with the database directly (as someone with database access
//! could, after dropping the triggers) and checking that verify names the
//! exact first position that breaks.

use chrono::Duration;
use jejak_engine::store::{Break, BreakKind, Digest, EventStore, ExpectedVersion, RecordedEvent};
use jejak_tests::{TestDb, on_both_backends};
use sha2::{Digest as _, Sha256};

use super::{append_threes, events};

on_both_backends!(
    an_untouched_log_verifies_whole_and_in_ranges,
    a_changed_payload_is_found_at_its_position,
    changed_metadata_is_found_at_its_position,
    a_deleted_event_is_found_at_its_position,
    swapped_events_are_found_at_the_first_of_them,
    a_log_cut_short_no_longer_leads_to_the_digest,
    a_rewritten_log_with_a_consistent_chain_fails_the_digest,
    a_rechained_rewrite_is_found_by_the_digest_and_a_backdated_one_by_its_time,
    an_insert_that_would_replace_an_event_or_leave_a_hole_is_refused,
    a_hole_in_a_streams_versions_is_found_at_its_position,
    a_request_record_pointing_elsewhere_is_found_at_its_position,
    the_log_read_ahead_gives_each_event_once_in_order_across_holes,
);

async fn filled(db: &TestDb) -> EventStore {
    let store = db.open().await;
    append_threes(&store, "s", 0..4).await;
    store
}

async fn drop_triggers(db: &TestDb) {
    let sql = if db.is_postgres() {
        "ALTER TABLE events DISABLE TRIGGER USER"
    } else {
        "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;"
    };
    db.raw_sql(sql).await.expect("drop the triggers");
}

async fn first_break(store: &EventStore, digest: Option<Digest>) -> Option<Break> {
    store.verify(1, None, digest).await.unwrap().first_break
}

async fn an_untouched_log_verifies_whole_and_in_ranges(db: &TestDb) {
    let store = filled(db).await;
    let digest = store.digest().await.unwrap();
    let report = store.verify(1, None, Some(digest)).await.unwrap();
    assert!(report.is_intact());
    assert_eq!((report.from, report.to, report.checked), (1, 12, 12));
    assert_eq!(report.digest, digest);

    let middle = store.verify(4, Some(9), None).await.unwrap();
    assert!(middle.is_intact());
    assert_eq!((middle.from, middle.to, middle.checked), (4, 9, 6));

    let mut progress = Vec::new();
    store
        .verify_with_progress(1, None, None, |p| progress.push(p))
        .await
        .unwrap();
    assert_eq!(progress.last(), Some(&12));

    let empty = TestDb::sibling(db).await;
    let empty_store = empty.open().await;
    let report = empty_store.verify(1, None, None).await.unwrap();
    assert!(report.is_intact());
    assert_eq!((report.checked, report.digest), (0, Digest::EMPTY));
    drop(empty_store);
    empty.cleanup().await;
}

async fn a_changed_payload_is_found_at_its_position(db: &TestDb) {
    let store = filled(db).await;
    drop_triggers(db).await;
    db.raw_sql("UPDATE events SET payload = '{\"n\":42}' WHERE position = 5")
        .await
        .unwrap();
    assert_eq!(
        first_break(&store, None).await,
        Some(Break {
            position: 5,
            kind: BreakKind::ContentChanged
        })
    );
    // A range that ends before the change is still intact.
    assert!(store.verify(1, Some(4), None).await.unwrap().is_intact());
}

async fn changed_metadata_is_found_at_its_position(db: &TestDb) {
    let store = filled(db).await;
    drop_triggers(db).await;
    db.raw_sql("UPDATE events SET metadata = '{\"actor_id\":\"someone-else\"}' WHERE position = 8")
        .await
        .unwrap();
    assert_eq!(
        first_break(&store, None).await,
        Some(Break {
            position: 8,
            kind: BreakKind::ContentChanged
        })
    );
}

async fn a_deleted_event_is_found_at_its_position(db: &TestDb) {
    let store = filled(db).await;
    drop_triggers(db).await;
    db.raw_sql("DELETE FROM events WHERE position = 3")
        .await
        .unwrap();
    assert_eq!(
        first_break(&store, None).await,
        Some(Break {
            position: 3,
            kind: BreakKind::Missing
        })
    );
}

async fn swapped_events_are_found_at_the_first_of_them(db: &TestDb) {
    let store = filled(db).await;
    drop_triggers(db).await;
    db.raw_sql(
        "UPDATE events SET position = -1 WHERE position = 6; \
         UPDATE events SET position = 6 WHERE position = 7; \
         UPDATE events SET position = 7 WHERE position = -1;",
    )
    .await
    .unwrap();
    assert_eq!(
        first_break(&store, None).await,
        Some(Break {
            position: 6,
            kind: BreakKind::LinkBroken
        })
    );
}

async fn a_log_cut_short_no_longer_leads_to_the_digest(db: &TestDb) {
    let store = filled(db).await;
    let digest = store.digest().await.unwrap();
    drop_triggers(db).await;
    db.raw_sql("DELETE FROM events WHERE position >= 11")
        .await
        .unwrap();
    // The chain that is left is consistent: only the digest shows the cut.
    assert_eq!(first_break(&store, None).await, None);
    assert_eq!(
        first_break(&store, Some(digest)).await,
        Some(Break {
            position: 11,
            kind: BreakKind::LogShorterThanDigest
        })
    );
}

async fn a_rewritten_log_with_a_consistent_chain_fails_the_digest(db: &TestDb) {
    let store = filled(db).await;
    let digest = store.digest().await.unwrap();
    // Someone rebuilds the log with other content and recomputed hashes.
    let forged_db = db.sibling().await;
    let forged = forged_db.open().await;
    append_threes(&forged, "forged", 0..4).await;
    assert_eq!(
        first_break(&forged, None).await,
        None,
        "its own chain is consistent"
    );
    assert_eq!(
        first_break(&forged, Some(digest)).await,
        Some(Break {
            position: 12,
            kind: BreakKind::DigestMismatch
        })
    );
    // An earlier digest kept by an auditor also catches it.
    let early = store.verify(1, Some(3), None).await.unwrap().digest;
    assert_eq!(
        forged
            .verify(1, None, Some(early))
            .await
            .unwrap()
            .first_break,
        Some(Break {
            position: 3,
            kind: BreakKind::DigestMismatch
        })
    );
    drop(forged);
    forged_db.cleanup().await;
}

/// The chain hash of `e` after `prev`, written from the documented encoding
/// apart from the engine's code: tag, previous hash, position, event id,
/// then each field (text length-prefixed), recorded_at in microseconds.
fn chain_hash(prev: &[u8; 32], e: &RecordedEvent) -> [u8; 32] {
    let mut h = Sha256::new();
    let text = |h: &mut Sha256, s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    h.update(b"jejak-event-v1");
    h.update(prev);
    h.update(e.position.to_be_bytes());
    h.update(e.event_id.as_bytes());
    text(&mut h, e.stream_id.as_str());
    text(&mut h, &e.stream_type);
    h.update(e.stream_version.to_be_bytes());
    text(&mut h, &e.event_type);
    h.update(e.event_version.to_be_bytes());
    h.update(e.recorded_at.timestamp_micros().to_be_bytes());
    text(&mut h, &e.payload);
    text(&mut h, &e.metadata);
    h.finalize().into()
}

/// A hash as an SQL literal of the backend.
fn blob(db: &TestDb, hash: &[u8; 32]) -> String {
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    if db.is_postgres() {
        format!("decode('{hex}', 'hex')")
    } else {
        format!("x'{hex}'")
    }
}

/// Someone who can write the database changes event `at` and recomputes
/// every hash from there on, so that the chain is consistent again.
async fn rewrite_and_rechain(
    db: &TestDb,
    store: &EventStore,
    at: u64,
    change: impl Fn(&mut RecordedEvent),
) {
    drop_triggers(db).await;
    let mut events = store.read_all(0, 1_000).await.unwrap();
    let mut prev = if at == 1 {
        [0; 32]
    } else {
        events[at as usize - 2].hash
    };
    let mut sql = String::new();
    for event in events.iter_mut().skip(at as usize - 1) {
        if event.position == at {
            change(event);
        }
        event.prev_hash = prev;
        event.hash = chain_hash(&prev, event);
        prev = event.hash;
        sql.push_str(&format!(
            "UPDATE events SET payload = '{}', stream_version = {}, recorded_at = '{}', \
             prev_hash = {}, hash = {} WHERE position = {};",
            event.payload.replace('\'', "''"),
            event.stream_version,
            event.recorded_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
            blob(db, &event.prev_hash),
            blob(db, &event.hash),
            event.position
        ));
    }
    db.raw_sql(&sql).await.unwrap();
}

async fn a_rechained_rewrite_is_found_by_the_digest_and_a_backdated_one_by_its_time(db: &TestDb) {
    let store = filled(db).await;
    // 36 events: the tree stores the subtrees of events 1–16, 17–32 and
    // 1–32 (ADR 0043).
    append_threes(&store, "s", 4..12).await;
    let digest = store.digest().await.unwrap();
    rewrite_and_rechain(db, &store, 5, |e| e.payload = "{\"n\":42}".into()).await;
    // The chain alone is consistent again, but the Merkle tree the writer
    // kept beside it is not: its root no longer matches the events'.
    assert_eq!(
        first_break(&store, None).await,
        Some(Break {
            position: 36,
            kind: BreakKind::TreeMismatch
        }),
        "a rewrite that keeps times and recomputes the chain no longer matches the stored tree"
    );
    assert_eq!(
        first_break(&store, Some(digest)).await,
        Some(Break {
            position: 36,
            kind: BreakKind::DigestMismatch
        }),
        "the digest kept before it is not reached"
    );

    // Back-dating an event (to make time travel answer otherwise) breaks
    // the order of the log, with no digest at all.
    rewrite_and_rechain(db, &store, 7, |e| e.recorded_at -= Duration::days(30)).await;
    assert_eq!(
        first_break(&store, None).await,
        Some(Break {
            position: 7,
            kind: BreakKind::TimeWentBack
        })
    );
}

async fn an_insert_that_would_replace_an_event_or_leave_a_hole_is_refused(db: &TestDb) {
    let store = filled(db).await;
    store
        .append(events("r", ExpectedVersion::NoStream, 1).request_id("r0"))
        .await
        .unwrap();
    let before = store.read_all(0, 100).await.unwrap();
    let e = &before[4];
    let row = |position: u64, event_id: &str, version: u64| {
        format!(
            "({position}, '{event_id}', '{}', 'test', {version}, 'Happened', 1, '{{\"n\":42}}', '{{}}', \
             '{}', {}, {})",
            e.stream_id.as_str(),
            e.recorded_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
            blob(db, &e.prev_hash),
            blob(db, &e.hash),
        )
    };
    let columns = "(position, event_id, stream_id, stream_type, stream_version, event_type, \
                   event_version, payload, metadata, recorded_at, prev_hash, hash)";
    let fresh_id = "018f0000-0000-7000-8000-000000000001";
    let attempts = if db.is_postgres() {
        vec![
            // PostgreSQL has no REPLACE: an upsert is an UPDATE, which the trigger refuses.
            format!(
                "INSERT INTO events {columns} VALUES {} ON CONFLICT (position) DO UPDATE SET payload = excluded.payload",
                row(5, fresh_id, 2)
            ),
            format!(
                "INSERT INTO requests VALUES ('r0', 's0', 1, 3, 1, 3) \
                 ON CONFLICT (request_id) DO UPDATE SET stream_id = 's0'"
            ),
        ]
    } else {
        vec![
            // The same position, event id and stream version.
            format!(
                "INSERT OR REPLACE INTO events {columns} VALUES {}",
                row(5, &e.event_id.to_string(), 2)
            ),
            format!(
                "REPLACE INTO events {columns} VALUES {}",
                row(5, fresh_id, 2)
            ),
            // At the head, but taking an existing stream version or event id.
            format!(
                "INSERT OR REPLACE INTO events {columns} VALUES {}",
                row(14, fresh_id, 2)
            ),
            format!(
                "INSERT OR REPLACE INTO events {columns} VALUES {}",
                row(14, &e.event_id.to_string(), 9)
            ),
            // A hole before it.
            format!(
                "INSERT INTO events {columns} VALUES {}",
                row(16, fresh_id, 9)
            ),
            // A request record rewritten.
            "REPLACE INTO requests VALUES ('r0', 's0', 1, 3, 1, 3)".to_owned(),
        ]
    };
    for sql in attempts {
        let refused = db.raw_sql(&sql).await;
        assert!(refused.is_err(), "the database accepted: {sql}");
    }
    assert_eq!(
        store.read_all(0, 100).await.unwrap(),
        before,
        "nothing changed"
    );
    assert_eq!(first_break(&store, None).await, None);
}

async fn a_hole_in_a_streams_versions_is_found_at_its_position(db: &TestDb) {
    let store = filled(db).await;
    // Streams s0..s3 hold positions 1-3, 4-6, 7-9, 10-12: s2's version 2
    // becomes 4, the hashes recomputed.
    rewrite_and_rechain(db, &store, 8, |e| e.stream_version = 4).await;
    assert_eq!(
        first_break(&store, None).await,
        Some(Break {
            position: 8,
            kind: BreakKind::VersionOutOfOrder
        })
    );
}

async fn a_request_record_pointing_elsewhere_is_found_at_its_position(db: &TestDb) {
    let store = db.open().await;
    for i in 0..3 {
        store
            .append(
                events(&format!("s{i}"), ExpectedVersion::NoStream, 2).request_id(format!("r{i}")),
            )
            .await
            .unwrap();
    }
    assert_eq!(first_break(&store, None).await, None);
    // A request record forged to claim another stream's events.
    db.raw_sql("INSERT INTO requests VALUES ('forged', 's0', 1, 2, 3, 4)")
        .await
        .unwrap();
    assert_eq!(
        first_break(&store, None).await,
        Some(Break {
            position: 3,
            kind: BreakKind::RequestUnmatched
        })
    );
}

/// Verify and export read two batches at once, the second from where it
/// starts in a log without holes; a hole makes the batch before end
/// elsewhere, and the next batch is read again from there.
async fn the_log_read_ahead_gives_each_event_once_in_order_across_holes(db: &TestDb) {
    let store = filled(db).await;
    let read = |limit| {
        let store = store.clone();
        async move {
            let mut batches = store.read_all_ahead(0, limit).unwrap();
            let mut positions = Vec::new();
            loop {
                let batch = batches.next().await.unwrap();
                if batch.is_empty() {
                    return positions;
                }
                positions.extend(batch.iter().map(|e| e.position));
            }
        }
    };
    assert_eq!(read(3).await, (1..=12).collect::<Vec<_>>());
    drop_triggers(db).await;
    // Holes inside a batch (5) and at a batch's end (9, for batches of 3).
    db.raw_sql("DELETE FROM events WHERE position IN (5, 9)")
        .await
        .unwrap();
    let expected: Vec<u64> = (1..=12).filter(|p| ![5, 9].contains(p)).collect();
    for limit in [1, 2, 3, 4, 100] {
        assert_eq!(read(limit).await, expected, "batches of {limit}");
    }
}
