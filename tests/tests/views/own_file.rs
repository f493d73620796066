//! On SQLite the read models keep a file of their own beside the log's
//! (ADR 0039): a log from before keeps nothing of its old view tables, and
//! a views' file that is lost is made again from the log.

use jejak_projections::views::{check_all, spawn_all};
use jejak_tests::TestDb;
use jejak_tests::history::{self, Step};
use sqlx::Connection as _;

use super::{caught_up, dump, engine, runner};

/// A runner on `store` with every view spawned and caught up.
async fn applied(
    store: jejak_engine::store::EventStore,
) -> std::sync::Arc<jejak_projections::Runner> {
    let runner = runner(store, 50).await;
    spawn_all(&runner);
    for name in runner.names() {
        caught_up(&runner, name).await;
    }
    runner
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_from_before_loses_its_view_tables_and_what_they_held() {
    let db = TestDb::sqlite();
    let log = db.sqlite_path().unwrap();
    // A log file as kept before: the views' documents in it, naming a person.
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&log)
        .create_if_missing(true);
    let mut old = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE view_docs (view TEXT, generation INTEGER, key TEXT, doc TEXT); \
         INSERT INTO view_docs VALUES ('project_board', 1, 'p-1', '{\"nama\":\"Siti Rahmawati Lama\"}');",
    )
    .execute(&mut old)
    .await
    .unwrap();
    old.close().await.unwrap();
    let store = db.open().await;
    // Its pages, overwritten (`secure_delete`), move into the file itself.
    store.checkpoint_wal().await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'view%'",
    )
    .fetch_all(store.sqlite_pool().unwrap())
    .await
    .unwrap();
    assert!(tables.is_empty(), "view tables left in the log: {tables:?}");
    assert!(
        !jejak_tests::holds(&[log], b"Siti Rahmawati Lama"),
        "the old documents' text is still in the log's file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_views_live_beside_the_log_and_a_lost_views_file_is_made_again() {
    let db = TestDb::sqlite();
    let log = db.sqlite_path().unwrap();
    let views = jejak_engine::store::views_file(&log);
    assert_eq!(views.file_name().unwrap(), "jejak-views.db");
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    history::setup(&engine).await.unwrap();
    let steps: Vec<Step> = (0..6).map(|op| Step::Project { project: 0, op }).collect();
    history::play(&engine, &steps, "own-file").await.unwrap();
    let first = applied(store.clone()).await;
    let before = dump(&first).await;
    assert!(before.values().any(|docs| !docs.is_empty()), "{before:?}");
    // The log's file holds no view table; the views' file holds them.
    let in_log: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'view%'",
    )
    .fetch_one(store.sqlite_pool().unwrap())
    .await
    .unwrap();
    assert_eq!(in_log, 0);
    assert!(views.exists());
    first.shutdown();
    drop((first, engine, store));

    // Restored from a backup of the log alone: the views are applied again.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", views.display()));
    }
    let store = db.open().await;
    let again = applied(store.clone()).await;
    assert_eq!(dump(&again).await, before);
    again.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_applied_past_a_restored_log_are_applied_again_not_served() {
    let db = TestDb::sqlite();
    let log = db.sqlite_path().unwrap();
    let backup = log.with_file_name("backup.db");
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    history::setup(&engine).await.unwrap();
    let first: Vec<Step> = (0..4).map(|op| Step::Project { project: 0, op }).collect();
    history::play(&engine, &first, "before-backup")
        .await
        .unwrap();
    // A backup of the log alone, its WAL moved into the file first.
    store.checkpoint_wal().await.unwrap();
    std::fs::copy(&log, &backup).unwrap();
    let backed_up = store.digest().await.unwrap().position;
    let more: Vec<Step> = (0..6).map(|op| Step::Project { project: 2, op }).collect();
    history::play(&engine, &more, "after-backup").await.unwrap();
    let ran = applied(store.clone()).await;
    ran.shutdown();
    drop((ran, engine, store));

    // The log is restored from the backup; the newer views' file stays.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", log.display()));
    }
    std::fs::copy(&backup, &log).unwrap();
    let store = db.open().await;
    assert_eq!(store.digest().await.unwrap().position, backed_up);
    let again = runner(store.clone(), 50).await;
    spawn_all(&again);
    for name in again.names() {
        let status = caught_up(&again, name).await;
        assert_eq!(status.position, backed_up, "{name}");
    }
    for check in check_all(&again).await.unwrap() {
        assert!(check.matches(), "{check:?}");
    }
    again.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_log_is_served_with_its_views_file_and_refused_clearly_without() {
    let db = TestDb::sqlite();
    let log = db.sqlite_path().unwrap();
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    history::setup(&engine).await.unwrap();
    let ran = applied(store.clone()).await;
    ran.shutdown();
    let before = dump(&ran).await;
    drop((ran, engine));
    store.checkpoint_wal().await.unwrap();
    drop(store);
    let read_only = || {
        db.open_with(jejak_engine::store::StoreConfig {
            read_only: true,
            ..jejak_engine::store::StoreConfig::default()
        })
    };
    let served = runner(read_only().await, 50).await;
    spawn_all(&served);
    assert_eq!(dump(&served).await, before);
    served.shutdown();
    drop(served);

    let views = jejak_engine::store::views_file(&log);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", views.display()));
    }
    let refused = jejak_projections::Runner::new(
        read_only().await,
        jejak_projections::RunnerConfig::default(),
    )
    .await
    .unwrap_err();
    let message = refused.to_string();
    assert!(
        message.contains("jejak-views.db") && message.contains("does not exist"),
        "{message}"
    );
}
