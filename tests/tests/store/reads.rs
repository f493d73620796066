use jejak_engine::store::{Direction, ExpectedVersion};
use jejak_tests::{TestDb, on_both_backends};

use super::{events, stream};

on_both_backends!(
    streams_read_forwards_and_backwards_with_limits,
    the_whole_log_reads_in_batches_from_any_position,
    a_subscription_catches_up_then_follows_without_gaps,
    a_stream_reads_as_it_was_at_a_moment,
    a_reader_checkpoint_never_moves_back_and_keeps_its_state,
);

async fn streams_read_forwards_and_backwards_with_limits(db: &TestDb) {
    let store = db.open().await;
    store
        .append(events("s", ExpectedVersion::NoStream, 5))
        .await
        .unwrap();
    store
        .append(events("t", ExpectedVersion::NoStream, 2))
        .await
        .unwrap();
    let s = stream("s");
    let versions = |events: Vec<jejak_engine::store::RecordedEvent>| -> Vec<u64> {
        events.iter().map(|e| e.stream_version).collect()
    };
    assert_eq!(
        versions(
            store
                .read_stream(&s, Direction::Forward, None, 100)
                .await
                .unwrap()
        ),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        versions(
            store
                .read_stream(&s, Direction::Forward, Some(2), 2)
                .await
                .unwrap()
        ),
        [2, 3]
    );
    assert_eq!(
        versions(
            store
                .read_stream(&s, Direction::Backward, None, 2)
                .await
                .unwrap()
        ),
        [5, 4]
    );
    assert_eq!(
        versions(
            store
                .read_stream(&s, Direction::Backward, Some(3), 10)
                .await
                .unwrap()
        ),
        [3, 2, 1]
    );
    assert!(
        store
            .read_stream(&s, Direction::Forward, Some(6), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A range that would end past the largest version is read, not refused.
    assert!(
        store
            .read_stream(&s, Direction::Forward, Some(i64::MAX as u64), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .read_stream(&stream("none"), Direction::Forward, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let first = &store
        .read_stream(&s, Direction::Forward, None, 1)
        .await
        .unwrap()[0];
    assert_eq!(first.event_type, "Happened");
    assert_eq!(first.stream_type, "test");
    assert_eq!(
        first.decode_payload::<serde_json::Value>().unwrap(),
        serde_json::json!({ "n": 0 })
    );
    assert_eq!(
        versions(store.read_stream_after(&s, 3).await.unwrap()),
        [4, 5]
    );
}

async fn the_whole_log_reads_in_batches_from_any_position(db: &TestDb) {
    let store = db.open().await;
    for i in 0..10 {
        store
            .append(events(&format!("s{}", i % 3), ExpectedVersion::Any, 3))
            .await
            .unwrap();
    }
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let batch = store.read_all(after, 7).await.unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 7);
        after = batch.last().unwrap().position;
        seen.extend(batch.into_iter().map(|e| e.position));
    }
    assert_eq!(seen, (1..=30).collect::<Vec<_>>());
    assert_eq!(store.read_all(25, 100).await.unwrap().len(), 5);
    assert!(store.read_all(30, 100).await.unwrap().is_empty());
}

async fn a_subscription_catches_up_then_follows_without_gaps(db: &TestDb) {
    let store = db.open().await;
    for i in 0..30 {
        store
            .append(events(&format!("s{}", i % 4), ExpectedVersion::Any, 2))
            .await
            .unwrap();
    }
    let mut subscription = store.subscribe(10);
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..100 {
                store
                    .append(events(
                        &format!("w{}", i % 7),
                        ExpectedVersion::Any,
                        1 + i % 3,
                    ))
                    .await
                    .unwrap();
            }
        })
    };
    let mut expected = 11;
    let total = 60 + (0..100).map(|i| 1 + i % 3).sum::<u64>();
    while expected <= total {
        let event = subscription.next().await.unwrap();
        assert_eq!(event.position, expected, "delivered once, in order");
        expected += 1;
    }
    writer.await.unwrap();
    assert_eq!(subscription.position(), total);
    assert!(
        subscription.next_batch(10).await.unwrap().is_empty(),
        "caught up"
    );
}

async fn a_stream_reads_as_it_was_at_a_moment(db: &TestDb) {
    let store = db.open().await;
    store
        .append(events("s", ExpectedVersion::NoStream, 2))
        .await
        .unwrap();
    let moment = store.read_all(0, 10).await.unwrap()[1].recorded_at;
    // Later events get later (or equal) timestamps; wait for the clock to move.
    while chrono::Utc::now() <= moment {
        tokio::task::yield_now().await;
    }
    store
        .append(events("s", ExpectedVersion::Exact(2), 3))
        .await
        .unwrap();
    let then = store.read_stream_as_of(&stream("s"), moment).await.unwrap();
    assert_eq!(then.len(), 2);
    assert_eq!(
        store.read_stream_to_end(&stream("s")).await.unwrap().len(),
        5
    );
}

/// Several servers share a log's reader checkpoints: a slower one saving
/// an older position leaves the newer one, and a state saved with a
/// position is replaced only by one at or after it.
async fn a_reader_checkpoint_never_moves_back_and_keeps_its_state(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(store.checkpoint("reader").await.unwrap(), 0);
    store.save_checkpoint("reader", 7).await.unwrap();
    store.save_checkpoint("reader", 5).await.unwrap();
    assert_eq!(store.checkpoint("reader").await.unwrap(), 7, "never back");
    store.save_checkpoint("reader", 9).await.unwrap();
    assert_eq!(store.checkpoint("reader").await.unwrap(), 9);
    assert_eq!(
        store.checkpoint_state("reader").await.unwrap(),
        None,
        "a position alone keeps no state"
    );

    assert_eq!(store.checkpoint_state("timer").await.unwrap(), None);
    store
        .save_checkpoint_state("timer", 10, "at 10")
        .await
        .unwrap();
    store
        .save_checkpoint_state("timer", 4, "at 4")
        .await
        .unwrap();
    assert_eq!(
        store.checkpoint_state("timer").await.unwrap(),
        Some((10, "at 10".to_owned())),
        "an older state does not replace a newer one"
    );
    store
        .save_checkpoint_state("timer", 12, "at 12")
        .await
        .unwrap();
    assert_eq!(
        store.checkpoint_state("timer").await.unwrap(),
        Some((12, "at 12".to_owned()))
    );
    assert_eq!(store.checkpoint("timer").await.unwrap(), 12);
}
