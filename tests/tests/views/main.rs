//! The read models on both backends: live equals rebuilt, crash and
//! restart, one applier per PostgreSQL database, and the figures each role reads.

mod check;
mod identifiers;
mod personal;
mod queries;
mod runner;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jejak_engine::engine::Engine;
use jejak_engine::store::EventStore;
use jejak_projections::{RunState, Runner, RunnerConfig, Status};

/// Every document of every view, as stored.
pub type Dump = BTreeMap<String, Vec<(String, String)>>;

pub async fn engine(store: EventStore) -> Engine {
    Engine::open(store).await.expect("the engine opens")
}

pub async fn runner(store: EventStore, batch: usize) -> Arc<Runner> {
    // Small enough that catching up holds documents over several batches,
    // writes them on both thresholds, and forgets the written ones.
    let config = RunnerConfig {
        batch,
        write_every: batch * 4,
        cached_docs: 16,
        poll: Duration::from_millis(50),
        retry: Duration::from_millis(100),
    };
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

/// The files that hold `tables`: on SQLite the database and its
/// write-ahead log; on PostgreSQL each table's file under the data folder
/// (`pg_relation_filepath`, read as the superuser the tests log in as,
/// after a `CHECKPOINT`). `None` (said loudly; a failure under CI) when
/// the files cannot be read.
pub async fn files_of(
    db: &jejak_tests::TestDb,
    tables: &[&str],
) -> Option<Vec<std::path::PathBuf>> {
    if let Some(path) = db.sqlite_path() {
        let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
        return Some(vec![path, wal]);
    }
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
    let dir: String = sqlx::query_scalar("SELECT current_setting('data_directory')")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql("CHECKPOINT")
        .execute(&mut conn)
        .await
        .unwrap();
    let mut files = Vec::new();
    for table in tables {
        let relative: String = sqlx::query_scalar("SELECT pg_relation_filepath($1::regclass)")
            .bind(*table)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let file = std::path::Path::new(&dir).join(relative);
        if std::fs::File::open(&file).is_err() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the test must read PostgreSQL's files under CI ({})",
                file.display()
            );
            eprintln!("SKIPPED the file check: cannot read {}", file.display());
            return None;
        }
        files.push(file);
    }
    Some(files)
}

/// Whether any of `files` holds `needle`.
pub fn holds(files: &[std::path::PathBuf], needle: &[u8]) -> bool {
    files.iter().any(|f| {
        std::fs::read(f)
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}
