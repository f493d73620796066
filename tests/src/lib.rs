//! Test support for jejak: fresh databases on both backends.
//!
//! Every test gets its own database: a SQLite file in a temporary folder, or
//! a new PostgreSQL database created from `JEJAK_TEST_POSTGRES_URL` (for
//! example `postgres://postgres@127.0.0.1:5432/test`). Without that variable
//! the PostgreSQL tests say that they were skipped; under `CI=true` they
//! fail instead, so CI can never pass them silently.

pub mod app;
pub mod history;
pub mod sinks;

use std::path::PathBuf;

use jejak_engine::store::{EventStore, StoreConfig};
use sqlx::Connection as _;

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "JEJAK_TEST_POSTGRES_URL";

/// A fresh, empty database for one test.
#[derive(Debug)]
pub enum TestDb {
    /// A SQLite file in its own temporary folder.
    Sqlite {
        /// Keeps the folder alive.
        dir: tempfile::TempDir,
        /// `sqlite://…/jejak.db`
        url: String,
    },
    /// A database of its own on the test PostgreSQL server.
    Postgres {
        /// The server URL the database was created from.
        admin_url: String,
        /// The database's name.
        name: String,
        /// URL of the new database.
        url: String,
    },
}

impl TestDb {
    /// A fresh SQLite database file.
    ///
    /// # Panics
    /// When no temporary folder can be made.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}", dir.path().join("jejak.db").display());
        Self::Sqlite { dir, url }
    }

    /// A fresh PostgreSQL database, or `None` (with a note on stderr) when
    /// `JEJAK_TEST_POSTGRES_URL` is not set.
    ///
    /// # Panics
    /// Under `CI=true` without the variable, and when the server refuses to
    /// create the database.
    pub async fn postgres(test: &str) -> Option<Self> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{POSTGRES_URL_VAR} must be set under CI=true: the PostgreSQL tests may not be skipped"
            );
            eprintln!("SKIPPED {test} on PostgreSQL: set {POSTGRES_URL_VAR} to run it");
            return None;
        };
        let name = format!("jejak_t_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL_VAR}={admin_url}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create a test database");
        let url = replace_database(&admin_url, &name);
        Some(Self::Postgres {
            admin_url,
            name,
            url,
        })
    }

    /// Another fresh database on the same backend.
    ///
    /// # Panics
    /// As [`TestDb::postgres`].
    pub async fn sibling(&self) -> Self {
        match self {
            Self::Sqlite { .. } => Self::sqlite(),
            Self::Postgres { .. } => Self::postgres("sibling")
                .await
                .expect("the PostgreSQL server is configured"),
        }
    }

    /// True on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }

    /// The database URL.
    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    /// The SQLite file, for tests that copy or damage it.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match self {
            Self::Sqlite { dir, .. } => Some(dir.path().join("jejak.db")),
            Self::Postgres { .. } => None,
        }
    }

    /// Opens the event store on this database with the default configuration.
    ///
    /// # Panics
    /// When the store cannot be opened.
    pub async fn open(&self) -> EventStore {
        self.open_with(StoreConfig::default()).await
    }

    /// Opens the event store with `config`.
    ///
    /// # Panics
    /// When the store cannot be opened.
    pub async fn open_with(&self, config: StoreConfig) -> EventStore {
        EventStore::open(self.url(), config)
            .await
            .expect("open the event store")
    }

    /// Runs SQL through a plain connection of its own, the way someone with
    /// database access (and not jejak) would.
    ///
    /// # Errors
    /// The database's refusal, as text.
    pub async fn raw_sql(&self, sql: &str) -> Result<(), String> {
        match self {
            Self::Sqlite { url, .. } => raw_sql_on::<sqlx::SqliteConnection>(url, sql).await,
            Self::Postgres { url, .. } => raw_sql_on::<sqlx::PgConnection>(url, sql).await,
        }
    }

    /// Runs `sql` where the read models keep their tables: on SQLite their
    /// own file beside the log's (ADR 0039), on PostgreSQL the database.
    ///
    /// # Errors
    /// The database's refusal, as text.
    pub async fn views_raw_sql(&self, sql: &str) -> Result<(), String> {
        match self.sqlite_path() {
            Some(log) => {
                let views = jejak_engine::store::views_file(&log);
                raw_sql_on::<sqlx::SqliteConnection>(&format!("sqlite://{}", views.display()), sql)
                    .await
            }
            None => self.raw_sql(sql).await,
        }
    }

    /// Drops the database (PostgreSQL) or leaves the folder to be removed.
    pub async fn cleanup(self) {
        if let Self::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

/// `url` with its database name replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Runs one async test body on both backends, as two test functions
/// `sqlite::NAME` and `postgres::NAME`. The body is `async fn NAME(db: TestDb)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::TestDb::sqlite();
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::TestDb::postgres(stringify!($name)).await else { return };
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}

/// The files that hold `tables`: on SQLite the database and its
/// write-ahead log; on PostgreSQL each table's file under the data folder
/// (`pg_relation_filepath`, read as the superuser the tests log in as,
/// after a `CHECKPOINT`). `None` (said loudly; a failure under CI) when
/// the files cannot be read.
pub async fn files_of(db: &TestDb, tables: &[&str]) -> Option<Vec<std::path::PathBuf>> {
    if let Some(path) = db.sqlite_path() {
        // The log's file and the read models' beside it (ADR 0039), each
        // with its write-ahead log.
        let views = jejak_engine::store::views_file(&path);
        return Some(
            [path, views]
                .into_iter()
                .flat_map(|file| {
                    let wal = std::path::PathBuf::from(format!("{}-wal", file.display()));
                    [file, wal]
                })
                .collect(),
        );
    }
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

/// Runs `sql` (several statements, no parameters) on a connection of its
/// own to `url`.
async fn raw_sql_on<C>(url: &str, sql: &str) -> Result<(), String>
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
{
    let mut conn = C::connect(url).await.map_err(|e| e.to_string())?;
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Whether any of `files` holds `needle`.
pub fn holds(files: &[std::path::PathBuf], needle: &[u8]) -> bool {
    files.iter().any(|f| {
        std::fs::read(f)
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
