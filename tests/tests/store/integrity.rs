//! Tampering with the database directly (as someone with database access
//! could, after dropping the triggers) and checking that verify names the
//! exact first position that breaks.

use jejak_engine::store::{Break, BreakKind, Digest, EventStore, ExpectedVersion};
use jejak_tests::{TestDb, on_both_backends};

use super::events;

on_both_backends!(
    an_untouched_log_verifies_whole_and_in_ranges,
    a_changed_payload_is_found_at_its_position,
    changed_metadata_is_found_at_its_position,
    a_deleted_event_is_found_at_its_position,
    swapped_events_are_found_at_the_first_of_them,
    a_log_cut_short_no_longer_leads_to_the_digest,
    a_rewritten_log_with_a_consistent_chain_fails_the_digest,
);

async fn filled(db: &TestDb) -> EventStore {
    let store = db.open().await;
    for i in 0..4 {
        store
            .append(events(&format!("s{i}"), ExpectedVersion::NoStream, 3))
            .await
            .unwrap();
    }
    store
}

async fn drop_triggers(db: &TestDb) {
    let sql = if db.is_postgres() {
        "ALTER TABLE events DISABLE TRIGGER USER"
    } else {
        "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;"
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
    for i in 0..4 {
        forged
            .append(events(&format!("forged{i}"), ExpectedVersion::NoStream, 3))
            .await
            .unwrap();
    }
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
