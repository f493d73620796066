//! Copies of a SQLite log, and its write-ahead log on shutdown.
//!
//! A SQLite log in WAL mode keeps its newest commits in `FILE-wal` until a
//! checkpoint moves them into the file: a copy of the file alone silently
//! lacks them. [`EventStore::copy_to`] writes one consistent copy (SQLite's
//! `VACUUM INTO`, in one read transaction, of the file and its WAL), and
//! [`EventStore::checkpoint_wal`] empties the WAL when a server stops.
//!
//! A copy is an auditor's: it carries the log and the record of reads (not
//! the read models, which keep their own file and are rebuilt from the
//! log, ADR 0039), not the tables that tie the log to people
//! ([`super::PERSONAL_TABLES`]: the people index and the data keys), which
//! are emptied in it with `secure_delete` on. It is not a backup.

use std::path::Path;

use super::{Backend, EventStore, StoreError};

/// Empties [`super::PERSONAL_TABLES`] in the fresh copy at `path`,
/// overwriting what they held (`secure_delete`).
async fn strip_personal(path: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .pragma("secure_delete", "ON");
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    for table in super::PERSONAL_TABLES {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
                .bind(table)
                .fetch_optional(&mut conn)
                .await?;
        if exists.is_some() {
            // The table names are jejak's own constants, never input.
            sqlx::raw_sql(&format!("DELETE FROM {table}"))
                .execute(&mut conn)
                .await?;
        }
    }
    conn.close().await
}

/// Puts the SQLite file at `path` in WAL mode.
async fn wal_mode(path: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
    sqlx::SqliteConnection::connect_with(&options)
        .await?
        .close()
        .await
}

impl EventStore {
    /// Writes a consistent copy of this SQLite log, as it is at one moment,
    /// into the new file `out` (made readable by its owner only), without
    /// the people index and the data keys ([`super::PERSONAL_TABLES`]).
    /// Works on a log opened read-only, and beside a running server.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] on PostgreSQL (use `pg_dump`) or when
    /// `out` exists; [`StoreError::Unavailable`] when `out` cannot be
    /// written. A failed copy leaves no file behind.
    pub async fn copy_to(&self, out: &Path) -> Result<(), StoreError> {
        let Backend::Sqlite(sqlite) = &self.inner.backend else {
            return Err(StoreError::invalid(
                "db",
                "copies are for SQLite logs; copy a PostgreSQL log with pg_dump",
            ));
        };
        let Some(target) = out.to_str() else {
            return Err(StoreError::invalid("out", "the path is not valid UTF-8"));
        };
        // An empty file of the owner's alone, made first: VACUUM INTO fills
        // an empty file and refuses one that holds anything.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(out).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                StoreError::invalid(
                    "out",
                    format!("{} exists; name a new file for the copy", out.display()),
                )
            } else {
                StoreError::Unavailable(format!("cannot create {}: {e}", out.display()))
            }
        })?;
        let copied = sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&sqlite.pool)
            .await;
        // The copy keeps the log's journal mode (VACUUM INTO writes it in
        // rollback mode), so that it opens read-only like the log itself.
        let copied = match copied {
            Ok(_) => match strip_personal(target).await {
                Ok(()) => wal_mode(target).await,
                Err(err) => Err(err),
            },
            Err(err) => Err(err),
        };
        if let Err(err) = copied {
            let _ = std::fs::remove_file(out);
            tracing::warn!(error = %err, "copying the log failed");
            return Err(StoreError::Unavailable(format!(
                "cannot copy the log into {}: check the free space there",
                out.display()
            )));
        }
        Ok(())
    }

    /// On SQLite, moves every commit from the write-ahead log into the
    /// database file and empties the WAL, so that the file alone holds the
    /// whole log (a server calls this when it stops). Nothing on PostgreSQL
    /// or on a log opened read-only.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn checkpoint_wal(&self) -> Result<(), StoreError> {
        let Backend::Sqlite(sqlite) = &self.inner.backend else {
            return Ok(());
        };
        if self.inner.config.read_only {
            return Ok(());
        }
        let _write = sqlite.write_lock.lock().await;
        // (busy, pages in the WAL, pages moved): busy when a reader held on.
        let (busy, logged, moved): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&sqlite.pool)
                .await?;
        if busy != 0 || moved < logged {
            tracing::warn!(
                logged,
                moved,
                "the write-ahead log could not be emptied: a reader held on; \
                 the next start moves the rest"
            );
        }
        Ok(())
    }
}
