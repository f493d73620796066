use jejak_engine::store::{
    AppendRequest, Direction, EventStore, ExpectedVersion, MAX_READ_LIMIT, NewEvent,
    StoredSnapshot, StreamEvent, StreamId,
};
use jejak_tests::{TestDb, on_both_backends};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{events, stream};

on_both_backends!(
    snapshots_are_a_cache_that_is_ignored_when_unusable,
    a_stream_longer_than_one_read_comes_whole_after_its_snapshot,
    what_a_load_reads_of_each_event_is_the_logs_own,
);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Counter {
    count: u64,
}

/// The snapshot read for `schema_version` and the versions of the events
/// that came with it.
async fn read(
    store: &EventStore,
    s: &StreamId,
    schema_version: u32,
) -> (Option<(u64, Counter)>, Vec<u64>) {
    let (snapshot, events) = store
        .read_from_snapshot::<Counter>(s, schema_version)
        .await
        .unwrap();
    (snapshot, events.iter().map(|e| e.stream_version).collect())
}

async fn save(store: &EventStore, s: &StreamId, stream_version: u64, state: String) {
    store
        .save_snapshot(
            s,
            1,
            &StoredSnapshot {
                stream_version,
                state,
            },
        )
        .await
        .unwrap();
}

fn counter(count: u64) -> String {
    serde_json::to_string(&Counter { count }).unwrap()
}

async fn snapshots_are_a_cache_that_is_ignored_when_unusable(db: &TestDb) {
    let store = db.open().await;
    let s = stream("counted");
    store
        .append(events("counted", ExpectedVersion::NoStream, 5))
        .await
        .unwrap();
    assert_eq!(
        read(&store, &s, 1).await,
        (None, vec![1, 2, 3, 4, 5]),
        "missing: every event"
    );

    save(&store, &s, 3, counter(3)).await;
    assert_eq!(
        read(&store, &s, 1).await,
        (Some((3, Counter { count: 3 })), vec![4, 5]),
        "the snapshot and the events after it"
    );
    assert_eq!(
        read(&store, &s, 2).await,
        (None, vec![1, 2, 3, 4, 5]),
        "another schema version"
    );

    // Replacing keeps one snapshot per schema version.
    save(&store, &s, 2, counter(2)).await;
    assert_eq!(
        read(&store, &s, 1).await,
        (Some((2, Counter { count: 2 })), vec![3, 4, 5])
    );

    // At the head: no events after it.
    save(&store, &s, 5, counter(5)).await;
    assert_eq!(
        read(&store, &s, 1).await,
        (Some((5, Counter { count: 5 })), vec![])
    );

    // Newer than the stream: a snapshot names an event of its stream, so
    // none is taken; the last one stays.
    let refused = store
        .save_snapshot(
            &s,
            1,
            &StoredSnapshot {
                stream_version: 9,
                state: counter(9),
            },
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        read(&store, &s, 1).await,
        (Some((5, Counter { count: 5 })), vec![])
    );

    // Undecodable: ignored.
    save(&store, &s, 3, "{\"count\":\"three\"}".into()).await;
    assert_eq!(read(&store, &s, 1).await, (None, vec![1, 2, 3, 4, 5]));

    // A stream that does not exist has neither.
    assert_eq!(read(&store, &stream("never"), 1).await, (None, vec![]));
}

async fn a_stream_longer_than_one_read_comes_whole_after_its_snapshot(db: &TestDb) {
    let store = db.open().await;
    let s = stream("long");
    let total = MAX_READ_LIMIT as u64 + 5;
    for _ in 0..total.div_ceil(1_000) {
        let n = (total - store.stream_version(&s).await.unwrap().unwrap_or(0)).min(1_000);
        store
            .append(events("long", ExpectedVersion::Any, n as usize))
            .await
            .unwrap();
    }
    let (none, all) = read(&store, &s, 1).await;
    assert_eq!(none, None);
    assert_eq!(
        all,
        (1..=total).collect::<Vec<_>>(),
        "every event, in order"
    );

    save(&store, &s, 2, counter(2)).await;
    let (snapshot, after) = read(&store, &s, 1).await;
    assert_eq!(snapshot, Some((2, Counter { count: 2 })));
    assert_eq!(
        after,
        (3..=total).collect::<Vec<_>>(),
        "past one read's limit"
    );
}

/// A load reads only some columns of each event (`StreamEvent`): they are
/// the log's own, for events of several types and payload versions, whose
/// positions are not their versions.
async fn what_a_load_reads_of_each_event_is_the_logs_own(db: &TestDb) {
    let store = db.open().await;
    let s = stream("mixed");
    for n in 0..4u32 {
        store
            .append(events("other", ExpectedVersion::Any, 2))
            .await
            .unwrap();
        store
            .append(
                AppendRequest::new(s.clone(), "test", ExpectedVersion::Any).events([
                    NewEvent::new("Opened", json!({ "n": n, "text": "ünïcode ✓" })),
                    NewEvent::new("Revised", json!({ "n": n, "nested": { "list": [1, 2] } }))
                        .with_version(n + 1),
                ]),
            )
            .await
            .unwrap();
    }
    let logged: Vec<StreamEvent> = store
        .read_stream(&s, Direction::Forward, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(StreamEvent::from)
        .collect();
    assert_eq!(logged.len(), 8);
    let (_, loaded) = store.read_from_snapshot::<Counter>(&s, 1).await.unwrap();
    assert_eq!(loaded, logged, "without a snapshot");

    save(&store, &s, 3, counter(3)).await;
    let (snapshot, loaded) = store.read_from_snapshot::<Counter>(&s, 1).await.unwrap();
    assert_eq!(snapshot, Some((3, Counter { count: 3 })));
    assert_eq!(loaded, logged[3..], "after the snapshot");
}
