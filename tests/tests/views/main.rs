//! The read models on both backends: live equals rebuilt, crash and
//! restart, one applier per PostgreSQL database, and the figures each role reads.

mod check;
mod detail;
mod identifiers;
mod indexed;
mod own_file;
mod personal;
mod queries;
mod runner;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jejak_engine::engine::Engine;
use jejak_engine::store::EventStore;
use jejak_projections::{RunState, Runner, RunnerConfig, Status};

/// Runs `body` on `cases` random histories of up to `max` steps
/// (proptest), each on a fresh SQLite database and, where configured, a
/// fresh PostgreSQL one named after `test`.
pub fn on_random_histories(
    test: &str,
    cases: u32,
    max: usize,
    body: impl AsyncFn(&jejak_tests::TestDb, &[jejak_tests::history::Step]),
) {
    use proptest::strategy::{Strategy as _, ValueTree as _};
    let mut runner =
        proptest::test_runner::TestRunner::new(proptest::test_runner::Config::with_cases(cases));
    let strategy = jejak_tests::history::steps(max);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for _ in 0..cases {
        let steps = strategy.new_tree(&mut runner).unwrap().current();
        rt.block_on(async {
            body(&jejak_tests::TestDb::sqlite(), &steps).await;
            if let Some(pg) = jejak_tests::TestDb::postgres(test).await {
                body(&pg, &steps).await;
                pg.cleanup().await;
            }
        });
    }
}

/// Every document of every view, as stored.
pub type Dump = BTreeMap<String, Vec<(String, String)>>;

pub async fn engine(store: EventStore) -> Engine {
    Engine::open(store).await.expect("the engine opens")
}

pub async fn runner(store: EventStore, batch: usize) -> Arc<Runner> {
    runner_with(store, test_config(batch)).await
}

/// The tests' runner configuration: batches small enough that catching
/// up holds documents over several batches, writes them on both
/// thresholds, and forgets the written ones.
pub fn test_config(batch: usize) -> RunnerConfig {
    RunnerConfig {
        batch,
        write_every: batch * 4,
        cached_docs: 16,
        poll: Duration::from_millis(50),
        retry: Duration::from_millis(100),
        lease: Duration::from_secs(2),
        ..RunnerConfig::default()
    }
}

pub async fn runner_with(store: EventStore, config: RunnerConfig) -> Arc<Runner> {
    Runner::new(store, config).await.expect("the runner starts")
}

/// Waits (bounded) until `check` holds for the status of view `name`.
pub async fn until(
    runner: &Runner,
    name: &str,
    what: &str,
    check: impl Fn(&Status) -> bool,
) -> Status {
    let mut status = runner.watch_status(name).expect("a known view");
    let wait = async {
        loop {
            let current = status.borrow_and_update().clone();
            if check(&current) {
                return current;
            }
            status.changed().await.expect("the view runs");
        }
    };
    match tokio::time::timeout(Duration::from_secs(60), wait).await {
        Ok(status) => status,
        Err(_) => panic!(
            "view {name} did not get to '{what}': {:?}",
            runner.statuses()
        ),
    }
}

/// Waits until view `name` has applied the whole log and follows it.
pub async fn caught_up(runner: &Runner, name: &str) -> Status {
    let head = runner.store().digest().await.unwrap().position;
    until(runner, name, "caught up", |s| {
        s.position >= head && s.state == RunState::Following
    })
    .await
}

pub async fn dump(runner: &Runner) -> Dump {
    let mut all = Dump::new();
    for name in runner.names() {
        all.insert(name.to_owned(), runner.documents(name).await.unwrap());
    }
    all
}

/// Rebuilds every view from zero and waits until each serves its new generation.
pub async fn rebuild_all(runner: &Runner) {
    for name in runner.names() {
        let before = runner
            .statuses()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap()
            .generation;
        runner.rebuild(name).unwrap();
        let head = runner.store().digest().await.unwrap().position;
        until(runner, name, "rebuilt", |s| {
            s.generation > before && s.position >= head && s.state == RunState::Following
        })
        .await;
    }
}
