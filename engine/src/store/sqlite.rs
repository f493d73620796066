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
use sqlx::{Connection as _, QueryBuilder, Row as _, SqlitePool, TransactionManager as _};
use uuid::Uuid;

use super::merkle::{Frontier, TreeHash, frontier_indexes};
use super::plan::{BatchContext, Guess, Plan, PreparedAppend, Row, StoredRequest, checked, plan};
use super::seal::{Beside, HeadSeal, Ledger, Seal};
use super::snapshot::CheckedSnapshot;
use super::sqlite_reads::Readers;
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

/// `VALUES (…), (…)` of the events table's columns for `rows`.
fn push_rows<'q>(q: &mut QueryBuilder<'q, sqlx::Sqlite>, rows: &'q [Row<'q>]) {
    q.push_values(rows, |mut b, row| {
        b.push_bind(row.position as i64)
            .push_bind(row.event_id.to_string())
            .push_bind(row.stream_id)
            .push_bind(row.stream_type)
            .push_bind(row.stream_version as i64)
            .push_bind(row.event_type)
            .push_bind(i64::from(row.event_version))
            .push_bind(row.payload)
            .push_bind(row.metadata)
            .push_bind(format_time(row.recorded_at))
            .push_bind(&row.prev_hash[..])
            .push_bind(&row.hash[..]);
    });
}

/// Inserts the rows of `requests` in one statement; how many were written.
async fn insert_requests(
    conn: &mut sqlx::SqliteConnection,
    requests: &[(&str, StoredRequest)],
) -> Result<u64, sqlx::Error> {
    let mut q = QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT INTO requests (request_id, stream_id, first_version, last_version, \
         first_position, last_position) ",
    );
    q.push_values(requests, |mut b, (request_id, r)| {
        b.push_bind(*request_id)
            .push_bind(&r.stream_id)
            .push_bind(r.first_version as i64)
            .push_bind(r.last_version as i64)
            .push_bind(r.first_position as i64)
            .push_bind(r.last_position as i64);
    });
    Ok(q.build().execute(conn).await?.rows_affected())
}

/// A request id that is taken is refused by the trigger `requests_insert_new`
/// (migration 0007) before the primary key sees it; as with the key's
/// refusal, nothing was written, which the caller learns as 0 rows.
fn taken_writes_nothing(written: Result<u64, sqlx::Error>) -> Result<u64, sqlx::Error> {
    match written {
        Err(sqlx::Error::Database(e)) if e.message().contains("this request id is taken") => Ok(0),
        written => written,
    }
}

/// Writes what a batch keeps beside its events (tree hashes, seal) in one
/// statement: every value is a number or a hash of our own, written as a
/// literal, so that the rows of both tables go in one hop.
async fn insert_beside(
    conn: &mut sqlx::SqliteConnection,
    beside: &Beside,
) -> Result<(), sqlx::Error> {
    use std::fmt::Write as _;
    let mut sql = String::with_capacity(64 + beside.tree.len() * 80);
    for chunk in beside.tree.chunks(STATEMENT_CHUNK * 4) {
        sql.push_str("INSERT INTO tree_hashes (idx, hash) VALUES ");
        for (n, (idx, hash)) in chunk.iter().enumerate() {
            let comma = if n == 0 { "" } else { ", " };
            let _ = write!(sql, "{comma}({idx}, X'{}')", hex::encode(hash));
        }
        sql.push(';');
    }
    if let Some(seal) = &beside.seal {
        let _ = write!(
            sql,
            "INSERT INTO seals (position, key_id, signature) VALUES ({}, {}, X'{}');",
            seal.position,
            seal.key_id,
            hex::encode(seal.signature)
        );
    }
    if !sql.is_empty() {
        sqlx::query(&sql).execute(conn).await?;
    }
    Ok(())
}

/// The stored tree hashes at `indexes`, as many as exist.
async fn read_tree_hashes(
    conn: &mut sqlx::SqliteConnection,
    indexes: &[u64],
) -> Result<HashMap<u64, TreeHash>, sqlx::Error> {
    if indexes.is_empty() {
        return Ok(HashMap::new());
    }
    let list: Vec<String> = indexes.iter().map(u64::to_string).collect();
    let rows = sqlx::query(&format!(
        "SELECT idx, hash FROM tree_hashes WHERE idx IN ({})",
        list.join(", ")
    ))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<i64, _>(0)? as u64,
                hash32(&row.try_get::<Vec<u8>, _>(1)?),
            ))
        })
        .collect()
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
    /// Held by every write transaction of this process (the log's and the
    /// read models'), so that they queue here instead of meeting SQLite's
    /// busy handler, which sleeps.
    pub(crate) write_lock: Arc<tokio::sync::Mutex<()>>,
    /// The log's appends, always on the same connection: its page cache
    /// stays warm from one batch to the next, where a connection of the
    /// pool would find the pages it held changed by the last batch and
    /// read them again.
    appender: SqlitePool,
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

impl Sqlite {
    /// A second pool on the same file whose commits do not wait for the
    /// disk (`synchronous=NORMAL`): for tables rebuilt from the log, where
    /// a power cut may undo the newest commits but never tears one. The
    /// log's own commits, which do wait, carry everything before them to
    /// the disk.
    pub(crate) async fn relaxed_pool(&self, size: u32) -> Result<SqlitePool, StoreError> {
        let options = (*self.pool.connect_options())
            .clone()
            .synchronous(SqliteSynchronous::Normal);
        Ok(connect(options, size).await?)
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
            // that named them leave the file. Every writing connection on
            // the file (the log's, the appender, the views' relaxed pool)
            // is made from these options.
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
            // On read-only media a WAL log has no -shm file and none can be
            // made; then nobody can be writing it, and it is read as immutable.
            let shm = PathBuf::from(format!("{}-shm", path.display()));
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
            immutable = !shm.exists() && !writable(dir.unwrap_or(Path::new(".")));
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
            let mut migrator = sqlx::migrate!("./migrations/sqlite");
            // Other crates (the read models) keep migrations of their own in
            // the same database.
            migrator.set_ignore_missing(true);
            migrator.run(&pool).await?;
        }
        Ok(Self {
            appender: connect(options, 1).await?,
            pool,
            write_lock: Arc::default(),
            readers: Arc::new(Readers::new(path, immutable)),
        })
    }

    /// Writes a guessed lone append if the log is still as guessed: one
    /// `INSERT … SELECT … WHERE` whose condition reads the head and the
    /// stream (in a transaction with the request id's row when there is
    /// one). `false` when the condition or the request id's uniqueness
    /// failed, with nothing written.
    pub(crate) async fn write_guess(
        &self,
        guess: &Guess<'_>,
        beside: &Beside,
    ) -> Result<bool, StoreError> {
        let _write = self.write_lock.lock().await;
        let rows = &guess.plan.rows;
        let mut q = QueryBuilder::<sqlx::Sqlite>::new(format!(
            "INSERT INTO events ({COLUMNS}) SELECT * FROM ("
        ));
        push_rows(&mut q, rows);
        q.push(") WHERE (SELECT position FROM events ORDER BY position DESC LIMIT 1) IS ")
            .push_bind(guess.head_position)
            .push(
                " AND (SELECT stream_type || ':' || stream_version FROM events WHERE stream_id = ",
            )
            .push_bind(guess.stream_id)
            .push(" ORDER BY stream_version DESC LIMIT 1) IS ")
            .push_bind(guess.stream.as_ref().map(|(t, v)| format!("{t}:{v}")));
        let requests = &guess.plan.requests;
        let mut tx = self.appender.begin_with("BEGIN IMMEDIATE").await?;
        let written = checked(
            q.build().execute(&mut *tx).await.map(|r| r.rows_affected()),
            rows.len(),
        )? && (requests.is_empty()
            || checked(
                taken_writes_nothing(insert_requests(&mut tx, requests).await),
                requests.len(),
            )?);
        if written {
            insert_beside(&mut tx, beside).await?;
            tx.commit().await?;
        }
        Ok(written)
    }

    pub(crate) async fn commit_batch<'a>(
        &self,
        batch: &'a [PreparedAppend],
        ledger: &Ledger,
    ) -> Result<(Plan<'a>, Frontier), StoreError> {
        let _write = self.write_lock.lock().await;
        let mut tx = self.appender.begin_with("BEGIN IMMEDIATE").await?;
        let mut ctx = BatchContext::default();
        // Each statement is a hop to sqlx's SQLite thread: the head, the
        // batch's streams, its request ids and its rows go a chunk per
        // statement. The first statement reads the head (kind 'h': position,
        // hash, time) together with the first streams (kind 's': id, type,
        // version), each by one index step.
        let mut stream_ids: Vec<&str> = batch.iter().map(|a| a.stream_id.as_str()).collect();
        stream_ids.sort_unstable();
        stream_ids.dedup();
        for (n, chunk) in stream_ids.chunks(STATEMENT_CHUNK).enumerate() {
            let mut q = QueryBuilder::<sqlx::Sqlite>::new("");
            let mut parts = 0;
            if n == 0 {
                q.push(
                    "SELECT * FROM (SELECT 'h', NULL, NULL, e.position, e.hash, e.recorded_at, \
                     s.position, s.key_id, s.signature, EXISTS (SELECT 1 FROM seals) \
                     FROM events e LEFT JOIN seals s ON s.position = e.position \
                     ORDER BY e.position DESC LIMIT 1)",
                );
                parts += 1;
            }
            for id in chunk {
                if parts > 0 {
                    q.push(" UNION ALL ");
                }
                parts += 1;
                q.push(
                    "SELECT * FROM (SELECT 's', stream_id, stream_type, stream_version, NULL, NULL, \
                     NULL, NULL, NULL, NULL FROM events WHERE stream_id = ",
                )
                .push_bind(*id)
                .push(" ORDER BY stream_version DESC LIMIT 1)");
            }
            for row in q.build().fetch_all(&mut *tx).await? {
                if row.try_get::<String, _>(0)? == "h" {
                    ctx.head_position = row.try_get::<i64, _>(3)? as u64;
                    ctx.head_hash = hash32(&row.try_get::<Vec<u8>, _>(4)?);
                    ctx.head_recorded_at = Some(parse_time(&row.try_get::<String, _>(5)?));
                    ctx.head_seal = HeadSeal {
                        seal: seal_at(&row, 6)?,
                        any: row.try_get(9)?,
                    };
                } else {
                    ctx.streams.insert(
                        row.try_get(1)?,
                        (row.try_get(2)?, row.try_get::<i64, _>(3)? as u64),
                    );
                }
            }
        }
        let request_ids: Vec<&str> = batch
            .iter()
            .filter_map(|a| a.request_id.as_deref())
            .collect();
        for chunk in request_ids.chunks(STATEMENT_CHUNK) {
            let mut q = QueryBuilder::<sqlx::Sqlite>::new(
                "SELECT request_id, stream_id, first_version, last_version, first_position, \
                 last_position FROM requests WHERE request_id IN (",
            );
            let mut ids = q.separated(", ");
            for id in chunk {
                ids.push_bind(*id);
            }
            ids.push_unseparated(")");
            for row in q.build().fetch_all(&mut *tx).await? {
                ctx.requests
                    .insert(row.try_get(0)?, stored_request(&row, 1)?);
            }
        }
        ledger.check_head(ctx.head_position, &ctx.head_hash, &ctx.head_seal)?;
        let base = match ledger.frontier_at(ctx.head_position) {
            Some(frontier) => frontier,
            None => {
                let indexes = frontier_indexes(ctx.head_position);
                let mut found = read_tree_hashes(&mut tx, &indexes).await?;
                let hashes = indexes
                    .iter()
                    .map(|i| found.remove(i).unwrap_or_default())
                    .collect();
                Frontier::from_stored(ctx.head_position, hashes)?
            }
        };
        let plan = plan(ctx, batch);
        let (beside, frontier) = ledger.beside(base, &plan.rows);
        insert_beside(&mut tx, &beside).await?;
        for chunk in plan.rows.chunks(STATEMENT_CHUNK) {
            let mut q =
                QueryBuilder::<sqlx::Sqlite>::new(format!("INSERT INTO events ({COLUMNS}) "));
            push_rows(&mut q, chunk);
            q.build().execute(&mut *tx).await?;
        }
        for chunk in plan.requests.chunks(STATEMENT_CHUNK) {
            insert_requests(&mut tx, chunk).await?;
        }
        tx.commit().await?;
        Ok((plan, frontier))
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
        use std::fmt::Write as _;
        let _write = self.write_lock.lock().await;
        let mut tx = self.appender.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in rows.chunks(STATEMENT_CHUNK * 4) {
            let mut sql = String::from("INSERT OR IGNORE INTO tree_hashes (idx, hash) VALUES ");
            for (n, (idx, hash)) in chunk.iter().enumerate() {
                let comma = if n == 0 { "" } else { ", " };
                let _ = write!(sql, "{comma}({idx}, X'{}')", hex::encode(hash));
            }
            sqlx::query(&sql).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn tree_hashes(
        &self,
        indexes: &[u64],
    ) -> Result<HashMap<u64, TreeHash>, StoreError> {
        let mut found = HashMap::with_capacity(indexes.len());
        let mut conn = self.pool.acquire().await?;
        for chunk in indexes.chunks(STATEMENT_CHUNK * 4) {
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
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        )
        .bind(name)
        .bind(position)
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
