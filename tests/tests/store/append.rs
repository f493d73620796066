use jejak_engine::store::{
    AppendRequest, AppendResult, Digest, ExpectedVersion, Metadata, NewEvent, StoreConfig,
    StoreError,
};
use jejak_tests::{TestDb, on_both_backends};
use serde_json::json;

use super::{events, stream};

on_both_backends!(
    appends_get_contiguous_positions_and_versions,
    expectations_are_checked_and_failures_write_nothing,
    a_repeated_request_id_returns_the_first_result_even_after_a_restart,
    a_request_id_cannot_be_reused_for_another_stream,
    concurrent_appends_to_one_new_stream_let_exactly_one_win,
    a_stream_keeps_its_type,
    bad_input_is_refused_and_writes_nothing,
    the_database_itself_refuses_update_delete_and_truncate,
    two_stores_taking_turns_on_one_log_keep_it_whole,
);

async fn appends_get_contiguous_positions_and_versions(db: &TestDb) {
    let store = db.open().await;
    let a = store
        .append(events("a", ExpectedVersion::NoStream, 2))
        .await
        .unwrap();
    let b = store
        .append(events("b", ExpectedVersion::Any, 1))
        .await
        .unwrap();
    let a2 = store
        .append(events("a", ExpectedVersion::Exact(2), 3))
        .await
        .unwrap();
    assert_eq!(
        (
            a.first_position,
            a.position,
            a.first_version,
            a.stream_version
        ),
        (1, 2, 1, 2)
    );
    assert_eq!((b.first_position, b.position, b.stream_version), (3, 3, 1));
    assert_eq!(
        (
            a2.first_position,
            a2.position,
            a2.first_version,
            a2.stream_version
        ),
        (4, 6, 3, 5)
    );
    assert!(!a2.duplicate);

    let all = store.read_all(0, 100).await.unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
    assert_eq!(positions, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(all[0].prev_hash, [0; 32]);
    for pair in all.windows(2) {
        assert_eq!(
            pair[1].prev_hash, pair[0].hash,
            "each event links to the one before"
        );
        assert!(pair[1].recorded_at >= pair[0].recorded_at);
        assert_ne!(pair[1].event_id, pair[0].event_id);
    }
    assert_eq!(store.stream_version(&stream("a")).await.unwrap(), Some(5));
    assert_eq!(
        store.stream_version(&stream("nothing")).await.unwrap(),
        None
    );
    let digest = store.digest().await.unwrap();
    assert_eq!(digest.position, 6);
    assert_eq!(digest.hash, all[5].hash);
    assert_eq!(Digest::parse(&digest.to_text()).unwrap(), digest);
}

async fn expectations_are_checked_and_failures_write_nothing(db: &TestDb) {
    let store = db.open().await;
    store
        .append(events("s", ExpectedVersion::NoStream, 2))
        .await
        .unwrap();
    let before = store.digest().await.unwrap();

    let cases = [
        (ExpectedVersion::NoStream, Some(2)),
        (ExpectedVersion::Exact(1), Some(2)),
        (ExpectedVersion::Exact(7), Some(2)),
    ];
    for (expected, actual_version) in cases {
        match store.append(events("s", expected, 1)).await {
            Err(StoreError::WrongExpectedVersion {
                actual,
                expected: e,
                ..
            }) => {
                assert_eq!(actual, actual_version);
                assert_eq!(e, expected);
            }
            other => panic!("expected a version conflict for {expected:?}, got {other:?}"),
        }
    }
    match store
        .append(events("absent", ExpectedVersion::StreamExists, 1))
        .await
    {
        Err(err @ StoreError::WrongExpectedVersion { actual: None, .. }) => {
            assert!(err.to_string().contains("absent"), "{err}");
        }
        other => panic!("expected a conflict on a missing stream, got {other:?}"),
    }
    match store
        .append(events("absent", ExpectedVersion::Exact(3), 1))
        .await
    {
        Err(StoreError::WrongExpectedVersion { actual: None, .. }) => {}
        other => panic!("expected a conflict on a missing stream, got {other:?}"),
    }
    assert_eq!(
        store.digest().await.unwrap(),
        before,
        "failed appends wrote nothing"
    );

    store
        .append(events("s", ExpectedVersion::Exact(2), 1))
        .await
        .unwrap();
    store
        .append(events("s", ExpectedVersion::StreamExists, 1))
        .await
        .unwrap();
    store
        .append(events("s", ExpectedVersion::Any, 1))
        .await
        .unwrap();
    store
        .append(events("fresh", ExpectedVersion::Exact(0), 1))
        .await
        .unwrap();
    assert_eq!(store.stream_version(&stream("s")).await.unwrap(), Some(5));
}

async fn a_repeated_request_id_returns_the_first_result_even_after_a_restart(db: &TestDb) {
    let store = db.open().await;
    let first = store
        .append(events("p", ExpectedVersion::NoStream, 2).request_id("req-1"))
        .await
        .unwrap();
    // The same command again, even with an expectation that no longer holds.
    let again = store
        .append(events("p", ExpectedVersion::NoStream, 2).request_id("req-1"))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(
        (
            again.first_position,
            again.position,
            again.first_version,
            again.stream_version
        ),
        (
            first.first_position,
            first.position,
            first.first_version,
            first.stream_version
        )
    );
    assert_eq!(store.digest().await.unwrap().position, 2);

    let written = store.read_all(0, 10).await.unwrap();
    assert_eq!(
        written[0].decoded_metadata().request_id.as_deref(),
        Some("req-1")
    );
    drop(store);

    let reopened = db.open().await;
    let after_restart = reopened
        .append(events("p", ExpectedVersion::Any, 2).request_id("req-1"))
        .await
        .unwrap();
    assert!(after_restart.duplicate);
    assert_eq!(after_restart.position, first.position);
    assert_eq!(
        reopened.digest().await.unwrap().position,
        2,
        "nothing new was written"
    );
}

async fn a_request_id_cannot_be_reused_for_another_stream(db: &TestDb) {
    let store = db.open().await;
    store
        .append(events("one", ExpectedVersion::Any, 1).request_id("r"))
        .await
        .unwrap();
    match store
        .append(events("two", ExpectedVersion::Any, 1).request_id("r"))
        .await
    {
        Err(err @ StoreError::RequestIdReused { .. }) => {
            assert!(
                err.to_string().contains("one"),
                "names the first stream: {err}"
            );
        }
        other => panic!("expected RequestIdReused, got {other:?}"),
    }
    assert_eq!(store.digest().await.unwrap().position, 1);
}

async fn concurrent_appends_to_one_new_stream_let_exactly_one_win(db: &TestDb) {
    let store = db.open().await;
    let attempts = (0..20).map(|i| {
        let store = store.clone();
        async move {
            // Interleave appends to other streams so that batches mix
            // accepted and rejected appends.
            let other = store.append(events(&format!("other-{i}"), ExpectedVersion::NoStream, 1));
            let contested = store.append(events("contested", ExpectedVersion::NoStream, 1));
            let (other, contested) = tokio::join!(other, contested);
            other.expect("a fresh stream always accepts");
            contested
        }
    });
    let results = futures::future::join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "exactly one NoStream append wins");
    for r in results.iter().filter(|r| r.is_err()) {
        assert!(matches!(
            r,
            Err(StoreError::WrongExpectedVersion {
                actual: Some(1),
                ..
            })
        ));
    }
    assert_eq!(store.digest().await.unwrap().position, 21);
    assert!(store.verify(1, None, None).await.unwrap().is_intact());
}

async fn a_stream_keeps_its_type(db: &TestDb) {
    let store = db.open().await;
    store
        .append(events("x", ExpectedVersion::Any, 1))
        .await
        .unwrap();
    let other_type = AppendRequest::new(stream("x"), "cohort", ExpectedVersion::Any)
        .event(NewEvent::new("CohortOpened", json!({})));
    match store.append(other_type).await {
        Err(StoreError::StreamTypeMismatch {
            actual, requested, ..
        }) => {
            assert_eq!((actual.as_str(), requested.as_str()), ("test", "cohort"));
        }
        other => panic!("expected StreamTypeMismatch, got {other:?}"),
    }
}

fn field_of(err: StoreError) -> &'static str {
    match err {
        StoreError::InvalidInput { field, .. } => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

async fn bad_input_is_refused_and_writes_nothing(db: &TestDb) {
    let store = db
        .open_with(StoreConfig {
            max_payload_bytes: 1_000,
            ..StoreConfig::default()
        })
        .await;
    for bad in ["", "   ", "line\nbreak", "nul\0byte", "tab\tin"] {
        assert_eq!(
            field_of(jejak_engine::store::StreamId::parse(bad).unwrap_err()),
            "stream_id"
        );
    }
    let long = "x".repeat(jejak_engine::store::MAX_STREAM_ID_LEN + 1);
    assert_eq!(
        field_of(jejak_engine::store::StreamId::parse(long).unwrap_err()),
        "stream_id"
    );

    let empty = AppendRequest::new(stream("s"), "test", ExpectedVersion::Any);
    assert_eq!(field_of(store.append(empty).await.unwrap_err()), "events");

    let big = AppendRequest::new(stream("s"), "test", ExpectedVersion::Any)
        .event(NewEvent::new("Ok", json!({})))
        .event(NewEvent::new("Big", json!({ "text": "x".repeat(2_000) })));
    let err = store.append(big).await.unwrap_err();
    assert!(err.to_string().contains("limit is 1000"), "{err}");
    assert_eq!(field_of(err), "payload");

    let cases = [
        (
            AppendRequest::new(stream("s"), "", ExpectedVersion::Any)
                .event(NewEvent::new("A", json!({}))),
            "stream_type",
        ),
        (
            AppendRequest::new(stream("s"), "test", ExpectedVersion::Any)
                .event(NewEvent::new("", json!({}))),
            "event_type",
        ),
        (
            AppendRequest::new(stream("s"), "test", ExpectedVersion::Any)
                .event(NewEvent::new("A\n", json!({}))),
            "event_type",
        ),
        (
            AppendRequest::new(stream("s"), "test", ExpectedVersion::Any)
                .event(NewEvent::new("A", json!({})).with_version(0)),
            "event_version",
        ),
        (
            AppendRequest::new(stream("s"), "test", ExpectedVersion::Any)
                .event(NewEvent::new("A", json!({})))
                .request_id(""),
            "request_id",
        ),
        (
            AppendRequest::new(stream("s"), "test", ExpectedVersion::Exact(u64::MAX))
                .event(NewEvent::new("A", json!({}))),
            "expected_version",
        ),
        (
            AppendRequest::new(stream("s"), "test", ExpectedVersion::Any).event(
                NewEvent::new("A", json!({})).with_metadata(Metadata {
                    actor_id: Some("y".repeat(20_000)),
                    ..Metadata::default()
                }),
            ),
            "metadata",
        ),
    ];
    for (request, field) in cases {
        assert_eq!(field_of(store.append(request).await.unwrap_err()), field);
    }

    use jejak_engine::store::Direction::Forward;
    assert_eq!(field_of(store.read_all(0, 0).await.unwrap_err()), "limit");
    assert_eq!(
        field_of(store.read_all(0, 1_000_000).await.unwrap_err()),
        "limit"
    );
    assert_eq!(
        field_of(store.read_all(u64::MAX, 10).await.unwrap_err()),
        "after_position"
    );
    assert_eq!(
        field_of(
            store
                .read_stream(&stream("s"), Forward, Some(0), 10)
                .await
                .unwrap_err()
        ),
        "from_version"
    );
    assert_eq!(
        field_of(
            store
                .read_stream(&stream("s"), Forward, Some(u64::MAX), 10)
                .await
                .unwrap_err()
        ),
        "from_version"
    );
    assert_eq!(
        field_of(store.verify(0, None, None).await.unwrap_err()),
        "from"
    );
    assert_eq!(field_of(Digest::parse("12:nothex").unwrap_err()), "digest");

    assert_eq!(
        store.digest().await.unwrap(),
        Digest::EMPTY,
        "nothing was written"
    );
}

async fn the_database_itself_refuses_update_delete_and_truncate(db: &TestDb) {
    let store = db.open().await;
    store
        .append(events("s", ExpectedVersion::Any, 2).request_id("r1"))
        .await
        .unwrap();
    let before = store.read_all(0, 10).await.unwrap();

    let mut attempts = vec![
        "UPDATE events SET payload = '{\"n\":99}' WHERE position = 1",
        "DELETE FROM events WHERE position = 2",
        "UPDATE requests SET stream_id = 'other'",
        "DELETE FROM requests",
    ];
    if db.is_postgres() {
        attempts.push("TRUNCATE events");
        attempts.push("TRUNCATE requests");
    }
    for sql in attempts {
        let err = db.raw_sql(sql).await.expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(
        store.read_all(0, 10).await.unwrap(),
        before,
        "the log is unchanged"
    );
}

/// Each store's writer decides a lone append against what it knows from its
/// own commits; here the other store keeps moving the log under it, so every
/// kind of stale knowledge (the head, a stream, a request id) must be caught
/// and the append decided again against the log as it is.
async fn two_stores_taking_turns_on_one_log_keep_it_whole(db: &TestDb) {
    let one = db.open().await;
    let two = db.open().await;
    let version = |r: AppendResult| (r.position, r.stream_version);

    let r = one.append(events("a", ExpectedVersion::NoStream, 1));
    assert_eq!(version(r.await.unwrap()), (1, 1));
    // `two` knows an empty log.
    let r = two.append(events("a", ExpectedVersion::Exact(1), 1));
    assert_eq!(version(r.await.unwrap()), (2, 2));
    // `one` knows "a" at 1 and the head at 1.
    let r = one.append(events("a", ExpectedVersion::Any, 2));
    assert_eq!(version(r.await.unwrap()), (4, 4));
    let r = one.append(events("a", ExpectedVersion::Exact(4), 1));
    assert_eq!(version(r.await.unwrap()), (5, 5));
    // `two` knows "a" at 2: its expectation is stale and is refused as such.
    match two.append(events("a", ExpectedVersion::Exact(2), 1)).await {
        Err(StoreError::WrongExpectedVersion { actual, .. }) => assert_eq!(actual, Some(5)),
        other => panic!("expected a wrong expected version, got {other:?}"),
    }
    // `two` moves "a" on; `one` then learns a newer head from another
    // stream while it still remembers "a" at 5.
    let r = two.append(events("a", ExpectedVersion::Exact(5), 1));
    assert_eq!(version(r.await.unwrap()), (6, 6));
    let r = one.append(events("x", ExpectedVersion::NoStream, 1));
    assert_eq!(version(r.await.unwrap()), (7, 1));
    let r = one.append(events("a", ExpectedVersion::Any, 1));
    assert_eq!(version(r.await.unwrap()), (8, 7));
    // An expectation naming a version the stream has not reached.
    match one.append(events("x", ExpectedVersion::Exact(3), 1)).await {
        Err(StoreError::WrongExpectedVersion { actual, .. }) => assert_eq!(actual, Some(1)),
        other => panic!("expected a wrong expected version, got {other:?}"),
    }
    // A stream of another type, named by version.
    let other_type = AppendRequest::new(stream("x"), "other", ExpectedVersion::Exact(1))
        .event(NewEvent::new("Happened", json!({})));
    assert!(matches!(
        one.append(other_type).await,
        Err(StoreError::StreamTypeMismatch { .. })
    ));
    // A request id `two` used, repeated by `one` right after its own write.
    let first = two
        .append(events("r", ExpectedVersion::NoStream, 1).request_id("req-r"))
        .await
        .unwrap();
    let r = one.append(events("r", ExpectedVersion::Exact(1), 1));
    assert_eq!(version(r.await.unwrap()), (10, 2));
    let again = one
        .append(events("r", ExpectedVersion::Any, 1).request_id("req-r"))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.position, first.position);

    let all = one.read_all(0, 100).await.unwrap();
    assert_eq!(all.len(), 10);
    for (n, event) in all.iter().enumerate() {
        assert_eq!(event.position, n as u64 + 1);
    }
    for id in ["a", "x", "r"] {
        let versions: Vec<u64> = all
            .iter()
            .filter(|e| e.stream_id.as_str() == id)
            .map(|e| e.stream_version)
            .collect();
        assert_eq!(versions, (1..=versions.len() as u64).collect::<Vec<_>>());
    }
    let report = two
        .verify(1, None, Some(one.digest().await.unwrap()))
        .await
        .unwrap();
    assert!(report.first_break.is_none(), "{report:?}");
}
