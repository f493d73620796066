//! The log on SQLite: one file in WAL mode, `synchronous=FULL`, appends in
//! `BEGIN IMMEDIATE` transactions by this process's single writer task.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection as _, Row as _, SqlitePool, TransactionManager as _};
use uuid::Uuid;

use super::merkle::{Frontier, TreeHash, TreeRead};
use super::plan::{Guess, Guessed, Plan, PreparedAppend, StoredRequest};
use super::seal::{Beside, Ledger, Seal};
use super::snapshot::CheckedSnapshot;
use super::sqlite_reads::Readers;
use super::sqlite_writer;
use super::{Direction, RecordedEvent, StoreConfig, StoreError, StreamEvent, StreamId};

pub(super) const COLUMNS: &str = "position, event_id, stream_id, stream_type, stream_version, event_type, \
     event_version, payload, metadata, recorded_at, prev_hash, hash";

/// SQLite keeps `recorded_at` as fixed-width RFC 3339 text in UTC with
/// microseconds, so it sorts and reads back exactly.
pub(crate) fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(super) fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

#[cfg(unix)]
fn writable(dir: &Path) -> bool {
    rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_ok()
}

#[cfg(not(unix))]
fn writable(_: &Path) -> bool {
    true
}

fn hash32(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().unwrap_or([0; 32])
}

fn decode(row: &SqliteRow) -> Result<RecordedEvent, sqlx::Error> {
    let event_id: String = row.try_get("event_id")?;
    let prev_hash: Vec<u8> = row.try_get("prev_hash")?;
    let hash: Vec<u8> = row.try_get("hash")?;
    let recorded_at: String = row.try_get("recorded_at")?;
    Ok(RecordedEvent {
        position: row.try_get::<i64, _>("position")? as u64,
        event_id: Uuid::parse_str(&event_id).unwrap_or_default(),
        stream_id: StreamId::from_stored(row.try_get("stream_id")?),
        stream_type: row.try_get("stream_type")?,
        stream_version: row.try_get::<i64, _>("stream_version")? as u64,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get::<i64, _>("event_version")? as u32,
        payload: row.try_get("payload")?,
        metadata: row.try_get("metadata")?,
        recorded_at: parse_time(&recorded_at),
        prev_hash: hash32(&prev_hash),
        hash: hash32(&hash),
    })
}

/// What a request id wrote, from columns `from`.. of `row`.
fn stored_request(row: &SqliteRow, from: usize) -> Result<StoredRequest, sqlx::Error> {
    Ok(StoredRequest {
        stream_id: row.try_get(from)?,
        first_version: row.try_get::<i64, _>(from + 1)? as u64,
        last_version: row.try_get::<i64, _>(from + 2)? as u64,
        first_position: row.try_get::<i64, _>(from + 3)? as u64,
        last_position: row.try_get::<i64, _>(from + 4)? as u64,
    })
}

/// Rows (or streams) per statement: 12 values a row stays far below
/// SQLite's limit of bound values, and 200 below its limit of compound
/// SELECTs.
const STATEMENT_CHUNK: usize = 200;

/// The tree's hashes at `indexes`, as many as exist: read from
/// `tree_hashes`, or computed from the events' chain hashes below the
/// stored levels ([`TreeRead`]), in one statement.
async fn read_tree_hashes(
    conn: &mut sqlx::SqliteConnection,
    indexes: &[u64],
) -> Result<HashMap<u64, TreeHash>, sqlx::Error> {
    let read = TreeRead::new(indexes);
    let list = |values: &[u64]| {
        values
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows = sqlx::query(&format!(
        "SELECT 0, idx, hash FROM tree_hashes WHERE idx IN ({}) \
         UNION ALL SELECT 1, position, hash FROM events WHERE position IN ({})",
        list(&read.stored),
        list(&read.positions)
    ))
    .fetch_all(conn)
    .await?;
    let (mut stored, mut chain) = (HashMap::new(), HashMap::new());
    for row in &rows {
        let at = row.try_get::<i64, _>(1)? as u64;
        let hash = hash32(&row.try_get::<Vec<u8>, _>(2)?);
        if row.try_get::<i64, _>(0)? == 0 {
            stored.insert(at, hash);
        } else {
            chain.insert(at, hash);
        }
    }
    Ok(read.finish(stored, &chain))
}

/// A seal from a row's columns `at..at+3` (position, key id, signature).
pub(super) fn seal_at(row: &SqliteRow, at: usize) -> Result<Option<Seal>, sqlx::Error> {
    let position: Option<i64> = row.try_get(at)?;
    let key_id: Option<i64> = row.try_get(at + 1)?;
    let signature: Option<Vec<u8>> = row.try_get(at + 2)?;
    Ok(match (position, key_id, signature) {
        (Some(p), Some(k), Some(s)) => Some(Seal {
            position: p as u64,
            key_id: k as u32,
            signature: s.try_into().unwrap_or([0; 64]),
        }),
        _ => None,
    })
}

#[derive(Clone, Debug)]
pub(crate) struct Sqlite {
    pub(crate) pool: SqlitePool,
    /// Held by every write transaction of this process on the log's file,
    /// so that they queue here instead of meeting SQLite's busy handler,
    /// which sleeps.
    pub(crate) write_lock: Arc<tokio::sync::Mutex<()>>,
    /// The log's appends, always on the same rusqlite connection (opened
    /// on the first write, and again after a failure): its page cache stays
    /// warm from one batch to the next, where a connection of the pool
    /// would find the pages it held changed by the last batch and read them
    /// again; and a batch is one call, not a hop to sqlx's thread per
    /// statement (ADR 0019).
    appender: Arc<std::sync::Mutex<Option<rusqlite::Connection>>>,
    /// The log file, for the appender.
    path: Arc<PathBuf>,
    /// Opened read-only: the appender is too, so that writes are refused.
    read_only: bool,
    /// Batch reads.
    readers: Arc<Readers>,
}

/// A pool on `options`.
async fn connect(options: SqliteConnectOptions, size: u32) -> Result<SqlitePool, sqlx::Error> {
    SqlitePoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(15))
        // A connection to a local file does not go stale the way one over
        // a network does; pinging it on every acquire was a round trip to
        // sqlx's SQLite thread before every statement. One that failed is
        // dealt with on release, below.
        .test_before_acquire(false)
        // A COMMIT that fails on a full disk is rolled back inside SQLite,
        // but sqlx still counts the transaction as open, and such a
        // connection can never begin again. Close it rather than return it
        // to the pool. Only a connection released inside a transaction is
        // pinged (which applies a pending rollback) and checked again.
        .after_release(|conn, _| {
            Box::pin(async move {
                let depth =
                    <sqlx::Sqlite as sqlx::Database>::TransactionManager::get_transaction_depth;
                if depth(conn) == 0 {
                    return Ok(true);
                }
                conn.ping().await?;
                Ok(depth(conn) == 0)
            })
        })
        .connect_with(options)
        .await
}

/// The file the read models keep their tables in, beside the log's
/// (`jejak.db` → `jejak-views.db`), so that their writes never share the
/// log's file (ADR 0039): not its write lock, not its fsync, not its page
/// cache, which SQLite empties in every other connection at each commit.
pub fn views_file(log: &Path) -> PathBuf {
    let stem = log
        .file_stem()
        .map_or_else(|| "jejak".into(), |s| s.to_string_lossy().into_owned());
    let name = match log.extension() {
        Some(ext) => format!("{stem}-views.{}", ext.to_string_lossy()),
        None => format!("{stem}-views"),
    };
    log.with_file_name(name)
}

/// Whether the WAL-mode file at `path` lies on read-only media: it has no
/// -shm file and none can be made, so nobody can be writing it, and it is
/// read as immutable.
fn unwritable_wal(path: &Path) -> bool {
    let shm = PathBuf::from(format!("{}-shm", path.display()));
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    !shm.exists() && !writable(dir.unwrap_or(Path::new(".")))
}

impl Sqlite {
    /// A pool on the views' file beside the log ([`views_file`]) whose
    /// commits do not wait for the disk (`synchronous=NORMAL`): for tables
    /// rebuilt from the log, where a power cut may undo the newest commits
    /// but never tears one, and the view starts again from its checkpoint
    /// in the same file. Opened as the log is (read-only with it), and made
    /// when missing.
    pub(crate) async fn views_pool(&self, size: u32) -> Result<SqlitePool, StoreError> {
        let views = views_file(&self.path);
        if self.read_only && !views.exists() {
            return Err(StoreError::invalid(
                "database_url",
                format!(
                    "the read models' file {} does not exist beside the read-only log; \
                     serve the log once where it is writable, or copy the file with it",
                    views.display()
                ),
            ));
        }
        let mut options = (*self.pool.connect_options())
            .clone()
            .filename(&views)
            .synchronous(SqliteSynchronous::Normal);
        if self.read_only {
            options = options.immutable(unwritable_wal(&views));
        }
        Ok(connect(options, size).await?)
    }

    /// A rusqlite connection on the views' file for the read models' writes
    /// ([`sqlite_writer::open_relaxed`]).
    pub(crate) fn views_connection(&self) -> Result<rusqlite::Connection, StoreError> {
        sqlite_writer::open_relaxed(&views_file(&self.path), self.read_only)
    }

    pub(crate) async fn open(url: &str, config: &StoreConfig) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::invalid("database_url", e.to_string()))?;
        let path = options.get_filename().to_path_buf();
        if path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:") {
            return Err(StoreError::invalid(
                "database_url",
                "an in-memory SQLite log would vanish; name a file, e.g. sqlite://data/jejak.db",
            ));
        }
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            // Rows cross from SQLite's thread to ours through a channel;
            // a deep one lets a batch read run without a wake per row.
            .row_buffer_size(4_096)
            // A statement of many rows inside a transaction keeps the pages
            // it changes in a statement journal, to undo just itself; in a
            // temporary file that was an eighth of a batch's commit time.
            .pragma("temp_store", "memory")
            // Deleted content is overwritten with zeros, not left in free
            // pages: an erased person's key (ADR 0021) and the view rows
            // that named them leave the files. Every writing connection on
            // the log's file (the pool, the appender) and on the views'
            // (their pool and writer) is made from these options.
            .pragma("secure_delete", "on")
            .foreign_keys(true);
        let mut immutable = false;
        let options = if config.read_only {
            if !path.exists() {
                return Err(StoreError::invalid(
                    "database_url",
                    format!("{} does not exist", path.display()),
                ));
            }
            immutable = unwritable_wal(&path);
            options.read_only(true).immutable(immutable)
        } else {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Unavailable(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
            options.create_if_missing(true)
        };
        let pool = connect(options.clone(), config.pool_size.max(2)).await?;
        if !config.read_only {
            super::migrations::embedded_migrator(super::migrations::SQLITE)
                .run(&pool)
                .await?;
        }
        Ok(Self {
            appender: Arc::default(),
            pool,
            write_lock: Arc::default(),
            readers: Arc::new(Readers::new(path.clone(), immutable)),
            path: Arc::new(path),
            read_only: config.read_only,
        })
    }

    /// Runs `write` on the appender, on this thread (see
    /// [`sqlite_writer::blocking`]). A connection that failed is closed, and
    /// the next write opens another.
    fn on_appender<R>(
        &self,
        write: impl FnOnce(&mut rusqlite::Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        sqlite_writer::blocking(|| {
            let mut slot = self
                .appender
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let conn = match &mut *slot {
                Some(conn) => conn,
                None => slot.insert(sqlite_writer::open(&self.path, self.read_only)?),
            };
            let written = write(conn);
            if written.is_err() {
                *slot = None;
            }
            written
        })
    }

    /// Writes a guessed lone append if the log is still as guessed: a
    /// checked `INSERT … SELECT … WHERE` whose condition reads the head and
    /// the stream, in one transaction with its request row, tree hashes and
    /// seal; nothing written unless [`Guessed::Written`].
    pub(crate) async fn write_guess(
        &self,
        guess: &Guess<'_>,
        beside: &Beside,
    ) -> Result<Guessed, StoreError> {
        let _write = self.write_lock.lock().await;
        self.on_appender(|conn| sqlite_writer::write_guess(conn, guess, beside))
    }

    pub(crate) async fn commit_batch<'a>(
        &self,
        batch: &'a [PreparedAppend],
        ledger: &Ledger,
    ) -> Result<(Plan<'a>, Frontier), StoreError> {
        let _write = self.write_lock.lock().await;
        self.on_appender(|conn| sqlite_writer::commit_batch(conn, batch, ledger))
    }

    pub(crate) async fn read_seals(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Seal>, StoreError> {
        let rows = sqlx::query(
            "SELECT position, key_id, signature FROM seals WHERE position > ? \
             ORDER BY position LIMIT ?",
        )
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| seal_at(row, 0))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect())
    }

    pub(crate) async fn newest_seal(&self) -> Result<Option<Seal>, StoreError> {
        let row = sqlx::query(
            "SELECT position, key_id, signature FROM seals ORDER BY position DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .as_ref()
            .map(|row| seal_at(row, 0))
            .transpose()?
            .flatten())
    }

    /// Tree hashes built from events already in the log (`complete_tree`).
    pub(crate) async fn insert_tree_rows(
        &self,
        rows: &[(u64, TreeHash)],
    ) -> Result<(), StoreError> {
        let _write = self.write_lock.lock().await;
        self.on_appender(|conn| sqlite_writer::insert_tree_rows(conn, rows))
    }

    pub(crate) async fn tree_hashes(
        &self,
        indexes: &[u64],
    ) -> Result<HashMap<u64, TreeHash>, StoreError> {
        let mut found = HashMap::with_capacity(indexes.len());
        let mut conn = self.pool.acquire().await?;
        // A chunk's computed hashes read at most 8 events each.
        for chunk in indexes.chunks(STATEMENT_CHUNK / 2) {
            found.extend(read_tree_hashes(&mut conn, chunk).await?);
        }
        Ok(found)
    }

    pub(crate) async fn read_stream(
        &self,
        stream: &StreamId,
        direction: Direction,
        from: Option<i64>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let forward = direction == Direction::Forward;
        let from = from.unwrap_or(if forward { 1 } else { i64::MAX });
        self.readers.read_stream(stream, forward, from, limit).await
    }

    pub(crate) async fn read_all(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.readers.read_all(after, limit).await
    }

    /// [`Self::read_all`] as verify walks it, hashed as each row is read.
    pub(crate) async fn read_links(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<super::verify::Link>, StoreError> {
        self.readers.read_links(after, limit).await
    }

    pub(crate) async fn read_by_actor(
        &self,
        actor: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.readers.read_by_actor(actor, after, limit).await
    }

    pub(crate) async fn stream_version(
        &self,
        stream: &StreamId,
    ) -> Result<Option<u64>, StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(stream_version) FROM events WHERE stream_id = ?")
                .bind(stream.as_str())
                .fetch_one(&self.pool)
                .await?;
        Ok(version.map(|v| v as u64))
    }

    pub(crate) async fn last_event(&self) -> Result<Option<RecordedEvent>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events ORDER BY position DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(decode).transpose()?)
    }

    pub(crate) async fn find_request(
        &self,
        request_id: &str,
    ) -> Result<Option<StoredRequest>, StoreError> {
        let row = sqlx::query(
            "SELECT stream_id, first_version, last_version, first_position, last_position \
             FROM requests WHERE request_id = ?",
        )
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| stored_request(&row, 0)).transpose()?)
    }

    pub(crate) async fn checkpoint(&self, name: &str) -> Result<u64, StoreError> {
        let position: Option<i64> =
            sqlx::query_scalar("SELECT position FROM checkpoints WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(position.unwrap_or(0) as u64)
    }

    pub(crate) async fn save_checkpoint(
        &self,
        name: &str,
        position: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO checkpoints (name, position) VALUES (?, ?) \
             ON CONFLICT (name) DO UPDATE SET position = max(position, excluded.position)",
        )
        .bind(name)
        .bind(position)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn checkpoint_state(
        &self,
        name: &str,
    ) -> Result<Option<(u64, String)>, StoreError> {
        let row: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT position, state FROM checkpoints WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(position, state)| Some((position as u64, state?))))
    }

    pub(crate) async fn save_checkpoint_state(
        &self,
        name: &str,
        position: i64,
        state: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO checkpoints (name, position, state) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position, \
             state = excluded.state WHERE excluded.position >= checkpoints.position",
        )
        .bind(name)
        .bind(position)
        .bind(state)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn save_snapshot(&self, snapshot: &CheckedSnapshot) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO snapshots (stream_id, schema_version, stream_version, state, taken_at, \
             position, chain_hash, state_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (stream_id, schema_version) DO UPDATE SET \
             stream_version = excluded.stream_version, state = excluded.state, \
             taken_at = excluded.taken_at, position = excluded.position, \
             chain_hash = excluded.chain_hash, state_hash = excluded.state_hash",
        )
        .bind(&snapshot.stream_id)
        .bind(snapshot.schema_version)
        .bind(snapshot.stream_version as i64)
        .bind(&snapshot.state)
        .bind(format_time(Utc::now()))
        .bind(snapshot.position as i64)
        .bind(&snapshot.chain_hash)
        .bind(&snapshot.state_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn snapshot_and_events(
        &self,
        stream: &StreamId,
        schema_version: i64,
        limit: usize,
    ) -> Result<(Option<CheckedSnapshot>, Vec<StreamEvent>), StoreError> {
        self.readers
            .snapshot_and_events(stream, schema_version, limit)
            .await
    }

    pub(crate) async fn all_snapshots(&self) -> Result<Vec<CheckedSnapshot>, StoreError> {
        self.readers.all_snapshots().await
    }
}
