use jejak_engine::store::{ExpectedVersion, StoredSnapshot};
use jejak_tests::{TestDb, on_both_backends};
use serde::{Deserialize, Serialize};

use super::{events, stream};

on_both_backends!(snapshots_are_a_cache_that_is_ignored_when_unusable);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Counter {
    count: u64,
}

async fn snapshots_are_a_cache_that_is_ignored_when_unusable(db: &TestDb) {
    let store = db.open().await;
    let s = stream("counted");
    store
        .append(events("counted", ExpectedVersion::NoStream, 3))
        .await
        .unwrap();
    assert_eq!(
        store.load_snapshot::<Counter>(&s, 1).await.unwrap(),
        None,
        "missing"
    );

    let state = serde_json::to_string(&Counter { count: 3 }).unwrap();
    store
        .save_snapshot(
            &s,
            1,
            &StoredSnapshot {
                stream_version: 3,
                state,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.load_snapshot::<Counter>(&s, 1).await.unwrap(),
        Some((3, Counter { count: 3 }))
    );
    assert_eq!(
        store.load_snapshot::<Counter>(&s, 2).await.unwrap(),
        None,
        "another schema version"
    );

    // Replacing keeps one snapshot per schema version.
    let state = serde_json::to_string(&Counter { count: 2 }).unwrap();
    store
        .save_snapshot(
            &s,
            1,
            &StoredSnapshot {
                stream_version: 2,
                state,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.load_snapshot::<Counter>(&s, 1).await.unwrap(),
        Some((2, Counter { count: 2 }))
    );

    // Newer than the stream: stale, ignored.
    let state = serde_json::to_string(&Counter { count: 9 }).unwrap();
    store
        .save_snapshot(
            &s,
            1,
            &StoredSnapshot {
                stream_version: 9,
                state,
            },
        )
        .await
        .unwrap();
    assert_eq!(store.load_snapshot::<Counter>(&s, 1).await.unwrap(), None);

    // Undecodable: ignored.
    store
        .save_snapshot(
            &s,
            1,
            &StoredSnapshot {
                stream_version: 3,
                state: "{\"count\":\"three\"}".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(store.load_snapshot::<Counter>(&s, 1).await.unwrap(), None);
}
