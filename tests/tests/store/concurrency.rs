//! Many writers at once, with a subscriber following: one total order with
//! no holes, every acknowledged append exactly once, no rejected one at all.

use std::collections::{BTreeMap, HashMap, HashSet};

use jejak_engine::store::{AppendResult, EventStore, ExpectedVersion, StoreError};
use jejak_tests::{TestDb, on_both_backends};
use tokio::sync::watch;

use super::{events, stream};

const TASKS: usize = 16;
const APPENDS: usize = 200;
const STREAMS: usize = 50;

on_both_backends!(sixteen_writers_and_a_follower_agree_on_one_total_order);

async fn sixteen_writers_and_a_follower_agree_on_one_total_order(db: &TestDb) {
    let store = db.open().await;
    hammer(std::slice::from_ref(&store), &store).await;
}

/// Two connection pools with a writer each (two server processes) on one
/// PostgreSQL database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_database_keep_one_total_order() {
    let Some(db) = TestDb::postgres("two_processes_on_one_postgres_database").await else {
        return;
    };
    let first = db.open().await;
    let second = db.open().await;
    hammer(&[first.clone(), second.clone()], &first).await;
    // Each brought its Merkle frontier up over the other's events (ADR
    // 0041): the tree they stored is the one the events make.
    let report = second.verify(1, None, None).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    let head = report.to;
    assert_eq!(
        report.tree_root,
        Some(first.tree_root(head).await.unwrap()),
        "the stored tree's root is the events' root"
    );
    db.cleanup().await;
}

/// A process hears which streams the others wrote (to drop what it kept
/// of them), and never its own (ADR 0041).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_hears_the_streams_others_wrote_and_not_its_own() {
    let Some(db) = TestDb::postgres("streams_written_elsewhere").await else {
        return;
    };
    let first = db.open().await;
    let second = db.open().await;
    let mut heard = first.written_elsewhere();
    first
        .append(events("mine", ExpectedVersion::NoStream, 1))
        .await
        .unwrap();
    second
        .append(events("theirs", ExpectedVersion::NoStream, 2))
        .await
        .unwrap();
    let lines = tokio::time::timeout(std::time::Duration::from_secs(10), heard.recv())
        .await
        .expect("the other process's streams are announced")
        .unwrap();
    let streams: Vec<&str> = lines.lines().collect();
    assert!(streams.iter().any(|s| s.ends_with("theirs")), "{streams:?}");
    assert!(!streams.iter().any(|s| s.ends_with("mine")), "{streams:?}");
    db.cleanup().await;
}

#[derive(Default)]
struct Outcomes {
    acked: HashMap<String, (AppendResult, usize)>,
    rejected: HashSet<String>,
}

async fn hammer(writers: &[EventStore], reader: &EventStore) {
    let (target_tx, target_rx) = watch::channel(None::<u64>);
    let follower = tokio::spawn(follow(reader.clone(), target_rx));

    let tasks = (0..TASKS).map(|task| {
        let store = writers[task % writers.len()].clone();
        tokio::spawn(async move {
            let mut outcomes = Outcomes::default();
            let mut known: HashMap<usize, u64> = HashMap::new();
            for j in 0..APPENDS {
                let s = (task * APPENDS + j * 7) % STREAMS;
                let id = format!("c{s}");
                let expected = match j % 4 {
                    0 => ExpectedVersion::Any,
                    1 => ExpectedVersion::StreamExists,
                    2 => ExpectedVersion::Exact(known.get(&s).copied().unwrap_or(0)),
                    _ => ExpectedVersion::NoStream,
                };
                let n = 1 + j % 3;
                let request_id = format!("t{task}-{j}");
                match store
                    .append(events(&id, expected, n).request_id(request_id.clone()))
                    .await
                {
                    Ok(result) => {
                        known.insert(s, result.stream_version);
                        outcomes.acked.insert(request_id, (result, n));
                    }
                    Err(StoreError::WrongExpectedVersion { actual, .. }) => {
                        if let Some(actual) = actual {
                            known.insert(s, actual);
                        }
                        outcomes.rejected.insert(request_id);
                    }
                    Err(other) => panic!("append failed: {other}"),
                }
            }
            outcomes
        })
    });
    let mut all = Outcomes::default();
    for outcome in futures::future::join_all(tasks).await {
        let outcome = outcome.expect("writer task");
        all.acked.extend(outcome.acked);
        all.rejected.extend(outcome.rejected);
    }
    assert!(
        !all.rejected.is_empty() && !all.acked.is_empty(),
        "the mix has both outcomes"
    );

    let total: u64 = all.acked.values().map(|(_, n)| *n as u64).sum();
    assert_eq!(reader.digest().await.unwrap().position, total);
    target_tx.send(Some(total)).unwrap();

    let mut log = Vec::new();
    let mut after = 0;
    loop {
        let batch = reader.read_all(after, 1_000).await.unwrap();
        let Some(last) = batch.last() else { break };
        after = last.position;
        log.extend(batch);
    }
    assert_eq!(
        log.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>(),
        "positions run 1..N without holes"
    );

    let mut by_request: HashMap<String, Vec<u64>> = HashMap::new();
    let mut by_stream: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for e in &log {
        let request = e
            .decoded_metadata()
            .request_id
            .expect("every append had a request id");
        by_request.entry(request).or_default().push(e.position);
        by_stream
            .entry(e.stream_id.to_string())
            .or_default()
            .push(e.stream_version);
    }
    for (request, (result, n)) in &all.acked {
        let positions = by_request
            .get(request)
            .unwrap_or_else(|| panic!("{request} is missing"));
        assert_eq!(positions.len(), *n, "{request} is in the log exactly once");
        assert_eq!(
            positions,
            &(result.first_position..=result.position).collect::<Vec<_>>()
        );
    }
    for request in &all.rejected {
        assert!(
            !by_request.contains_key(request),
            "rejected {request} was written"
        );
    }
    for (id, versions) in by_stream {
        let s = stream(&id);
        assert_eq!(
            versions,
            (1..=versions.len() as u64).collect::<Vec<_>>(),
            "{s}"
        );
    }

    let followed = follower.await.expect("follower");
    assert_eq!(
        followed,
        (1..=total).collect::<Vec<_>>(),
        "the follower saw all, in order"
    );
    assert!(reader.verify(1, None, None).await.unwrap().is_intact());
}

async fn follow(store: EventStore, mut target: watch::Receiver<Option<u64>>) -> Vec<u64> {
    let mut subscription = store.subscribe(0);
    let mut seen = Vec::new();
    loop {
        if let Some(t) = *target.borrow_and_update()
            && seen.last().copied().unwrap_or(0) >= t
        {
            return seen;
        }
        tokio::select! {
            event = subscription.next() => seen.push(event.expect("subscription").position),
            _ = target.changed() => {}
        }
    }
}

/// A batch whose wait for the append lock fails (here: cancelled by the
/// database; in production `lock_timeout` behind a stuck holder) is not
/// written, and leaves no connection inside its transaction in the pool:
/// every later append and read succeeds (ADR 0041).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_wait_for_the_append_lock_leaves_no_broken_connection() {
    use sqlx::Connection as _;
    let Some(db) = TestDb::postgres("failed_wait_for_the_append_lock").await else {
        return;
    };
    let store = db.open().await;
    store
        .append(events("before", ExpectedVersion::NoStream, 1))
        .await
        .unwrap();
    // Another session holds the append lock ("jejaklog").
    let mut holder = sqlx::PgConnection::connect(db.url()).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(x'6a656a616b6c6f67'::bigint)")
        .execute(&mut holder)
        .await
        .unwrap();
    let waiting = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .append(events("refused", ExpectedVersion::NoStream, 1))
                .await
        }
    });
    // The batch waits for the lock; the database cancels that wait.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let cancelled: Option<bool> = sqlx::query_scalar(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity \
             WHERE wait_event_type = 'Lock' AND query LIKE 'BEGIN; SELECT pg_advisory_xact_lock%'",
        )
        .fetch_optional(&mut holder)
        .await
        .unwrap();
        if cancelled == Some(true) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the batch never waited for the lock"
        );
        tokio::task::yield_now().await;
    }
    let refused = waiting.await.unwrap();
    assert!(refused.is_err(), "{refused:?}");
    sqlx::query("SELECT pg_advisory_unlock_all()")
        .execute(&mut holder)
        .await
        .unwrap();
    // Many more appends and reads than the pool has connections.
    for i in 0..20 {
        store
            .append(events(&format!("after{i}"), ExpectedVersion::NoStream, 1))
            .await
            .unwrap_or_else(|e| panic!("append {i} after the failed wait: {e}"));
        store
            .read_all(0, 10)
            .await
            .unwrap_or_else(|e| panic!("read {i} after the failed wait: {e}"));
    }
    let events = store.read_all(0, 100).await.unwrap();
    assert_eq!(events.len(), 21, "the refused batch wrote nothing");
    assert!(store.verify(1, None, None).await.unwrap().is_intact());
    db.cleanup().await;
}
