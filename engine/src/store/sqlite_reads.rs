//! Batch reads of the SQLite log on connections of their own.
//!
//! sqlx hands SQLite rows from its worker thread to the async task one at a
//! time, copying every value; reading the whole log that way spent most of
//! its time switching threads and allocating. Here a batch is read on a
//! blocking thread straight from SQLite's row buffers, and crosses to the
//! async side once, as a `Vec`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _};
use uuid::Uuid;

use super::hash::StoredBytes;
use super::snapshot::CheckedSnapshot;
use super::sqlite::COLUMNS;
use super::verify::Link;
use super::{RecordedEvent, StoreError, StreamEvent, StreamId};

/// Idle connections kept for the next read.
const IDLE: usize = 8;

#[derive(Debug)]
pub(crate) struct Readers {
    uri: String,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Readers of the log file at `path`; `immutable` for a file on
    /// read-only media that nobody can be writing.
    pub(crate) fn new(path: PathBuf, immutable: bool) -> Self {
        let mut uri = format!(
            "file:{}?mode=ro",
            path.display()
                .to_string()
                .replace('%', "%25")
                .replace('?', "%3f")
                .replace('#', "%23")
        );
        if immutable {
            uri.push_str("&immutable=1");
        }
        Self {
            uri,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Result<Connection, rusqlite::Error> {
        if let Some(conn) = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
        {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        Ok(conn)
    }

    fn put(&self, conn: Connection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < IDLE {
            idle.push(conn);
        }
    }

    /// Runs `read` on a connection of its own, on a blocking thread.
    async fn on_connection<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let read = read(&conn);
            // A connection that failed is not kept.
            if read.is_ok() {
                readers.put(conn);
            }
            Ok::<_, StoreError>(read?)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("a log read stopped: {e}")))?
    }

    /// Runs `sql` with `bind` on a blocking thread and decodes every row.
    async fn events(
        self: &Arc<Self>,
        sql: String,
        bind: impl rusqlite::Params + Send + 'static,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.on_connection(move |conn| rows(conn, &sql, bind, decode))
            .await
    }

    /// Up to `limit` events after log position `after`.
    pub(crate) async fn read_all(
        self: &Arc<Self>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.events(
            READ_ALL.clone(),
            (after, i64::try_from(limit).unwrap_or(i64::MAX)),
        )
        .await
    }

    /// Up to `limit` events after log position `after` as verify walks
    /// them: each hashed from the bytes of its row where it is read, the
    /// bytes never copied out (ADR 0019).
    pub(crate) async fn read_links(
        self: &Arc<Self>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Link>, StoreError> {
        let bind = (after, i64::try_from(limit).unwrap_or(i64::MAX));
        self.on_connection(move |conn| rows(conn, &READ_ALL, bind, link))
            .await
    }

    /// Up to `limit` events `actor` caused after log position `after`
    /// (the expression is the one `events_by_actor` indexes).
    pub(crate) async fn read_by_actor(
        self: &Arc<Self>,
        actor: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.events(
            format!(
                "SELECT {COLUMNS} FROM events WHERE json_extract(metadata, '$.actor_id') = ?1 \
                 AND position > ?2 ORDER BY position ASC LIMIT ?3"
            ),
            (
                actor.to_owned(),
                after,
                i64::try_from(limit).unwrap_or(i64::MAX),
            ),
        )
        .await
    }

    /// Up to `limit` events of `stream`: forward, those at versions `from`
    /// to `from + limit - 1`, oldest first; backward, the newest at or below
    /// `from`, newest first.
    pub(crate) async fn read_stream(
        self: &Arc<Self>,
        stream: &StreamId,
        forward: bool,
        from: i64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = if forward {
            FORWARD.clone()
        } else {
            format!(
                "SELECT {COLUMNS} FROM events WHERE stream_id = ?1 AND stream_version <= ?2 \
                 ORDER BY stream_version DESC LIMIT ?3"
            )
        };
        self.events(sql, (stream.as_str().to_owned(), from, limit))
            .await
    }

    /// A stream's snapshot for `schema_version` where the stream has
    /// reached its version ([`SNAPSHOT`]), and up to `limit` of its events
    /// after it, oldest first and as far as loading needs them ([`LOAD`]):
    /// both on one connection, in one hop to a blocking thread. After a
    /// snapshot that fails its check (`CheckedSnapshot::fault`) the events
    /// come from the first.
    pub(crate) async fn snapshot_and_events(
        self: &Arc<Self>,
        stream: &StreamId,
        schema_version: i64,
        limit: usize,
    ) -> Result<(Option<CheckedSnapshot>, Vec<StreamEvent>), StoreError> {
        let stream = stream.as_str().to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.on_connection(move |conn| {
            let snapshot = conn
                .prepare_cached(&SNAPSHOT)?
                .query_row((&stream, schema_version), |row| {
                    checked_snapshot(row, stream.clone(), schema_version)
                })
                .optional()?;
            let after = snapshot
                .as_ref()
                .filter(|s| s.fault().is_none())
                .map_or(0, |s| s.stream_version as i64);
            let events = rows(conn, LOAD, (stream, after + 1, limit), stream_event)?;
            Ok((snapshot, events))
        })
        .await
    }

    /// Every snapshot, beside the event at its version.
    pub(crate) async fn all_snapshots(
        self: &Arc<Self>,
    ) -> Result<Vec<CheckedSnapshot>, StoreError> {
        self.on_connection(move |conn| {
            rows(conn, &ALL_SNAPSHOTS, (), |row| {
                let stream: String = row.get(7)?;
                let schema_version: i64 = row.get(8)?;
                checked_snapshot(row, stream, schema_version)
            })
        })
        .await
    }
}

/// The columns of a snapshot row and of the event at its version, for
/// [`checked_snapshot`].
const SNAPSHOT_COLUMNS: &str = "s.stream_version, s.state, s.position, s.chain_hash, \
     s.state_hash, e.position, e.hash";

/// A stream's snapshot for a schema version, where the stream has reached
/// the version it was taken at (one newer than the stream is stale), beside
/// the event at that version.
static SNAPSHOT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {SNAPSHOT_COLUMNS} FROM snapshots s \
         JOIN events e ON e.stream_id = s.stream_id AND e.stream_version = s.stream_version \
         WHERE s.stream_id = ?1 AND s.schema_version = ?2 AND s.stream_version > 0"
    )
});

/// Every snapshot, beside the event at its version where there is one.
static ALL_SNAPSHOTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {SNAPSHOT_COLUMNS}, s.stream_id, s.schema_version FROM snapshots s \
         LEFT JOIN events e ON e.stream_id = s.stream_id AND e.stream_version = s.stream_version \
         ORDER BY s.stream_id, s.schema_version"
    )
});

/// A row of [`SNAPSHOT_COLUMNS`].
fn checked_snapshot(
    row: &rusqlite::Row<'_>,
    stream_id: String,
    schema_version: i64,
) -> rusqlite::Result<CheckedSnapshot> {
    let event_position: Option<i64> = row.get(5)?;
    let event_hash: Option<Vec<u8>> = row.get(6)?;
    Ok(CheckedSnapshot {
        stream_id,
        schema_version,
        stream_version: row.get::<_, i64>(0)? as u64,
        state: row.get(1)?,
        position: row.get::<_, i64>(2)? as u64,
        chain_hash: row.get(3)?,
        state_hash: row.get(4)?,
        event: event_position.zip(event_hash).map(|(p, h)| (p as u64, h)),
    })
}

/// A stream's events at versions `?2 <= v < ?2 + ?3`, oldest first: a
/// range, as on PostgreSQL (see `STREAM_RANGE` there).
/// The log after a position, in position order ([`Readers::read_all`]).
static READ_ALL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {COLUMNS} FROM events WHERE position > ?1 ORDER BY position ASC LIMIT ?2")
});

static FORWARD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM events WHERE stream_id = ?1 \
         AND stream_version >= ?2 AND stream_version < ?2 + ?3 ORDER BY stream_version ASC"
    )
});

/// As [`FORWARD`], of each event only what loading needs ([`StreamEvent`]).
const LOAD: &str = "SELECT position, stream_version, event_type, event_version, payload \
     FROM events WHERE stream_id = ?1 \
     AND stream_version >= ?2 AND stream_version < ?2 + ?3 ORDER BY stream_version ASC";

/// Every row of `sql` with `bind`, decoded by `decode`.
fn rows<T>(
    conn: &Connection,
    sql: &str,
    bind: impl rusqlite::Params,
    decode: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(bind, decode)?;
    rows.collect()
}

/// A row of [`LOAD`].
fn stream_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<StreamEvent> {
    Ok(StreamEvent {
        position: row.get::<_, i64>(0)? as u64,
        stream_version: row.get::<_, i64>(1)? as u64,
        event_type: row.get(2)?,
        event_version: row.get::<_, i64>(3)? as u32,
        payload: row.get(4)?,
    })
}

fn decode(row: &rusqlite::Row<'_>) -> Result<RecordedEvent, rusqlite::Error> {
    let text = |i: usize| -> Result<&str, rusqlite::Error> {
        row.get_ref(i)?.as_str().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    let hash = |i: usize| -> Result<[u8; 32], rusqlite::Error> {
        let blob = row.get_ref(i)?.as_blob().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, Box::new(e))
        })?;
        Ok(blob.try_into().unwrap_or([0; 32]))
    };
    Ok(RecordedEvent {
        position: row.get::<_, i64>(0)? as u64,
        event_id: Uuid::parse_str(text(1)?).unwrap_or_default(),
        stream_id: StreamId::from_stored(text(2)?.to_owned()),
        stream_type: text(3)?.to_owned(),
        stream_version: row.get::<_, i64>(4)? as u64,
        event_type: text(5)?.to_owned(),
        event_version: row.get::<_, i64>(6)? as u32,
        payload: text(7)?.to_owned(),
        metadata: text(8)?.to_owned(),
        recorded_at: super::sqlite::parse_time(text(9)?),
        prev_hash: hash(10)?,
        hash: hash(11)?,
    })
}

/// A row of [`READ_ALL`] as verify walks it ([`Link`]).
fn link(row: &rusqlite::Row<'_>) -> Result<Link, rusqlite::Error> {
    let bytes = |i: usize| -> Result<&[u8], rusqlite::Error> {
        row.get_ref(i)?.as_bytes().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    let hash = |i: usize| -> Result<[u8; 32], rusqlite::Error> {
        Ok(bytes(i)?.try_into().unwrap_or([0; 32]))
    };
    let recorded_at = super::sqlite::parse_time(std::str::from_utf8(bytes(9)?).unwrap_or_default());
    let stored = StoredBytes {
        position: row.get::<_, i64>(0)? as u64,
        event_id: Uuid::try_parse_ascii(bytes(1)?).unwrap_or_default(),
        stream_id: bytes(2)?,
        stream_type: bytes(3)?,
        stream_version: row.get::<_, i64>(4)? as u64,
        event_type: bytes(5)?,
        event_version: row.get::<_, i64>(6)? as u32,
        recorded_at_micros: recorded_at.timestamp_micros(),
        payload: bytes(7)?,
        metadata: bytes(8)?,
    };
    Ok(Link::of_stored(&stored, recorded_at, hash(10)?, hash(11)?))
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match &err {
            rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
                C::DatabaseBusy | C::DatabaseLocked => {
                    Self::Unavailable("the database is busy; retry".into())
                }
                C::DiskFull => {
                    tracing::error!(error = %err, "database error");
                    Self::Unavailable("the database disk is full; free space and retry".into())
                }
                C::ReadOnly => Self::Unavailable(
                    "the database is read-only; it can be read but takes no writes".into(),
                ),
                C::CannotOpen | C::SystemIoFailure | C::PermissionDenied => {
                    tracing::warn!(error = %err, "cannot read the log file");
                    Self::Unavailable(
                        "cannot read the database file; check that it is there".into(),
                    )
                }
                _ => {
                    tracing::error!(error = %err, "database error");
                    match &err {
                        rusqlite::Error::SqliteFailure(_, Some(m)) if m.contains("append-only") => {
                            Self::Internal("the event log is append-only".into())
                        }
                        _ => Self::Internal("a database statement failed".into()),
                    }
                }
            },
            _ => {
                tracing::error!(error = %err, "database failure");
                Self::Internal("a database operation failed".into())
            }
        }
    }
}
