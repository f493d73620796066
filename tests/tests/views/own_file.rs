//! On SQLite the read models keep a file of their own beside the log's
//! (ADR 0039): a log from before keeps nothing of its old view tables, and
//! a views' file that is lost is made again from the log.

use jejak_projections::views::spawn_all;
use jejak_tests::TestDb;
use jejak_tests::history::{self, Step};
use sqlx::Connection as _;

use super::{caught_up, dump, engine, runner};

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
    let first = runner(store.clone(), 50).await;
    spawn_all(&first);
    for name in first.names() {
        caught_up(&first, name).await;
    }
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
    let again = runner(store.clone(), 50).await;
    spawn_all(&again);
    for name in again.names() {
        caught_up(&again, name).await;
    }
    assert_eq!(dump(&again).await, before);
    again.shutdown();
}
