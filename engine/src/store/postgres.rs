//! The log on PostgreSQL, shared by several servers. Appends take a
//! transaction-scoped advisory lock first, so positions commit in order; a
//! whole group-commit batch costs a fixed number of round trips (the rows go
//! in as arrays through `UNNEST`), a lone append one (ADR 0007). Each
//! process announces its new head with NOTIFY after its commits, so that
//! subscribers in other processes wake at once.

use std::collections::HashMap;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions, PgRow};
use sqlx::{Connection as _, PgPool, Row as _};
use tokio::sync::watch;
use uuid::Uuid;

use super::merkle::{Frontier, TreeHash, TreeRead, frontier_indexes};
use super::plan::{
    BatchContext, Guess, Guessed, Plan, PreparedAppend, Row, StoredRequest, checked, plan,
};
use super::seal::{Beside, HeadSeal, Ledger, Seal};
use super::snapshot::CheckedSnapshot;
use super::{Direction, RecordedEvent, StoreConfig, StoreError, StreamEvent, StreamId};

/// Key of the advisory lock that serializes appends ("jejaklog").
pub(crate) const APPEND_LOCK: i64 = 0x6a65_6a61_6b6c_6f67;
/// Channel on which the log announces its new head position.
pub(crate) const CHANNEL: &str = "jejak_log";

/// Where the server applying a view announces each write of it (ADR 0029),
/// `VIEW:POSITION`: standbys learn how far it is without asking.
pub const VIEWS_CHANNEL: &str = "jejak_views";

/// Where each process names the streams it wrote, beside its head on
/// [`CHANNEL`]: `ORIGIN` and the stream ids, a line each (`*` for all,
/// when they do not fit a notification), so that every other process
/// forgets the states it kept of them (ADR 0041).
const STREAMS_CHANNEL: &str = "jejak_streams";

/// The longest payload PostgreSQL sends (8,000 bytes), less room to spare.
const MAX_PAYLOAD: usize = 7_900;

/// The streams this process wrote since its last announcement.
#[derive(Debug, Default)]
pub(crate) struct Written(std::sync::Mutex<std::collections::BTreeSet<String>>);

impl Written {
    pub(crate) fn add<'a>(&self, streams: impl IntoIterator<Item = &'a str>) {
        let mut written = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for stream in streams {
            if !written.contains(stream) {
                written.insert(stream.to_owned());
            }
        }
    }

    /// `origin`'s announcement of what was written, which empties it.
    fn take(&self, origin: &str) -> String {
        let written = std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut payload = origin.to_owned();
        for stream in &written {
            if payload.len() + 1 + stream.len() > MAX_PAYLOAD {
                return format!("{origin}\n*");
            }
            payload.push('\n');
            payload.push_str(stream);
        }
        payload
    }
}

const COLUMNS: &str = "position, event_id, stream_id, stream_type, stream_version, event_type, \
     event_version, payload, metadata, recorded_at, prev_hash, hash";

fn hash32(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().unwrap_or([0; 32])
}

/// An event from a row of [`COLUMNS`], read by column index (a name is
/// looked up in a map for every column of every row) and with the hashes
/// borrowed from the row. The columns' types are the log's own
/// ([`ROW_TYPES`], made by its migrations), so they are not checked again
/// for every value of every row: a value that does not decode is still an
/// error. Reads turn each row into an event as it arrives (`try_map`), not
/// after the whole batch has come: 25–30 % faster over a million rows, the
/// row's bytes being fresh in the cache (ADR 0013).
fn decode(row: &PgRow) -> Result<RecordedEvent, sqlx::Error> {
    Ok(RecordedEvent {
        position: row.try_get_unchecked::<i64, _>(0)? as u64,
        event_id: row.try_get_unchecked::<Uuid, _>(1)?,
        stream_id: StreamId::from_stored(row.try_get_unchecked(2)?),
        stream_type: row.try_get_unchecked(3)?,
        stream_version: row.try_get_unchecked::<i64, _>(4)? as u64,
        event_type: row.try_get_unchecked(5)?,
        event_version: row.try_get_unchecked::<i32, _>(6)? as u32,
        payload: row.try_get_unchecked(7)?,
        metadata: row.try_get_unchecked(8)?,
        recorded_at: row.try_get_unchecked::<DateTime<Utc>, _>(9)?,
        prev_hash: hash32(row.try_get_unchecked::<&[u8], _>(10)?),
        hash: hash32(row.try_get_unchecked::<&[u8], _>(11)?),
    })
}

/// The verify walk's link of a row of [`COLUMNS`], hashed from the row's
/// own bytes: nothing is decoded into an event that the walk would drop
/// (as SQLite's `read_links` does, ADR 0019).
fn link(row: &PgRow) -> Result<super::verify::Link, sqlx::Error> {
    use super::hash::StoredBytes;
    let text = |i: usize| row.try_get_unchecked::<&str, _>(i).map(str::as_bytes);
    let recorded_at = row.try_get_unchecked::<DateTime<Utc>, _>(9)?;
    let stored = StoredBytes {
        position: row.try_get_unchecked::<i64, _>(0)? as u64,
        event_id: row.try_get_unchecked::<Uuid, _>(1)?,
        stream_id: text(2)?,
        stream_type: text(3)?,
        stream_version: row.try_get_unchecked::<i64, _>(4)? as u64,
        event_type: text(5)?,
        event_version: row.try_get_unchecked::<i32, _>(6)? as u32,
        recorded_at_micros: recorded_at.timestamp_micros(),
        payload: text(7)?,
        metadata: text(8)?,
    };
    Ok(super::verify::Link::of_stored(
        &stored,
        recorded_at,
        hash32(row.try_get_unchecked::<&[u8], _>(10)?),
        hash32(row.try_get_unchecked::<&[u8], _>(11)?),
    ))
}

/// A `requests` row whose `stream_id` is column `at` and the four numbers follow it.
fn stored_request(row: &PgRow, at: usize) -> Result<StoredRequest, sqlx::Error> {
    Ok(StoredRequest {
        stream_id: row.try_get(at)?,
        first_version: row.try_get::<i64, _>(at + 1)? as u64,
        last_version: row.try_get::<i64, _>(at + 2)? as u64,
        first_position: row.try_get::<i64, _>(at + 3)? as u64,
        last_position: row.try_get::<i64, _>(at + 4)? as u64,
    })
}

/// The types of the events table's columns, in [`COLUMNS`] order.
const ROW_TYPES: [&str; 12] = [
    "bigint",
    "uuid",
    "text",
    "text",
    "bigint",
    "text",
    "int",
    "text",
    "text",
    "timestamptz",
    "bytea",
    "bytea",
];

const REQUEST_COLUMNS: &str =
    "request_id, stream_id, first_version, last_version, first_position, last_position";

/// The types of the requests table's columns, in [`REQUEST_COLUMNS`] order.
const REQUEST_TYPES: [&str; 6] = ["text", "text", "bigint", "bigint", "bigint", "bigint"];

/// `UNNEST($from::type[], …)`: one array parameter per column.
fn unnest(types: &[&str], from: usize) -> String {
    let arrays: Vec<String> = (from..)
        .zip(types)
        .map(|(n, t)| format!("${n}::{t}[]"))
        .collect();
    format!("UNNEST({})", arrays.join(", "))
}

/// Binds `rows` as the twelve arrays of [`ROW_TYPES`].
fn bind_rows<'q, Q: Bind<'q>>(q: Q, rows: &'q [Row<'q>]) -> Q {
    q.bind(rows.iter().map(|r| r.position as i64).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.event_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.stream_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.stream_type).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.stream_version as i64)
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.event_type).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.event_version as i32)
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.payload).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.metadata).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.recorded_at).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.prev_hash.to_vec())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.hash.to_vec()).collect::<Vec<_>>())
}

/// Binds `requests` as the six arrays of [`REQUEST_TYPES`].
fn bind_requests<'q, Q: Bind<'q>>(q: Q, requests: &'q [(&'q str, StoredRequest)]) -> Q {
    q.bind(requests.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .bind(
            requests
                .iter()
                .map(|(_, r)| r.stream_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            requests
                .iter()
                .map(|(_, r)| r.first_version as i64)
                .collect::<Vec<_>>(),
        )
        .bind(
            requests
                .iter()
                .map(|(_, r)| r.last_version as i64)
                .collect::<Vec<_>>(),
        )
        .bind(
            requests
                .iter()
                .map(|(_, r)| r.first_position as i64)
                .collect::<Vec<_>>(),
        )
        .bind(
            requests
                .iter()
                .map(|(_, r)| r.last_position as i64)
                .collect::<Vec<_>>(),
        )
}

/// A query that takes bound values: `query` and `query_scalar` alike.
trait Bind<'q>: Sized {
    fn bind<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>;
}

impl<'q> Bind<'q> for sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    fn bind<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        sqlx::query::Query::bind(self, value)
    }
}

impl<'q, O> Bind<'q>
    for sqlx::query::QueryScalar<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>
{
    fn bind<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        sqlx::query::QueryScalar::bind(self, value)
    }
}

/// Common table expressions that insert a batch's tree hashes and seal
/// (parameters `$from..$from+4`: indexes, hashes, seal position, key id,
/// signature), each row only `condition`.
fn beside_ctes(from: usize, condition: &str) -> String {
    format!(
        "tree AS (INSERT INTO tree_hashes (idx, hash) \
             SELECT * FROM UNNEST(${}::bigint[], ${}::bytea[]) {condition}), \
         sealed AS (INSERT INTO seals (position, key_id, signature) \
             SELECT ${}::bigint, ${}::bigint, ${}::bytea {condition} {} ${}::bigint IS NOT NULL)",
        from,
        from + 1,
        from + 2,
        from + 3,
        from + 4,
        if condition.is_empty() { "WHERE" } else { "AND" },
        from + 2,
    )
}

/// Binds what a batch keeps beside its events, for [`beside_ctes`].
fn bind_beside<'q, Q: Bind<'q>>(q: Q, beside: &'q Beside) -> Q {
    q.bind(
        beside
            .tree
            .iter()
            .map(|(i, _)| *i as i64)
            .collect::<Vec<_>>(),
    )
    .bind(
        beside
            .tree
            .iter()
            .map(|(_, h)| h.to_vec())
            .collect::<Vec<_>>(),
    )
    .bind(beside.seal.map(|s| s.position as i64))
    .bind(beside.seal.map(|s| i64::from(s.key_id)))
    .bind(beside.seal.map(|s| s.signature.to_vec()))
}

/// The tree's hashes at `indexes`, as many as exist: read from
/// `tree_hashes`, or computed from the events' chain hashes below the
/// stored levels ([`TreeRead`]), in one statement.
async fn read_tree_hashes(
    conn: &mut sqlx::PgConnection,
    indexes: &[u64],
) -> Result<HashMap<u64, TreeHash>, sqlx::Error> {
    let read = TreeRead::new(indexes);
    let signed = |values: &[u64]| values.iter().map(|i| *i as i64).collect::<Vec<_>>();
    let rows = sqlx::query(
        "SELECT false, idx, hash FROM tree_hashes WHERE idx = ANY($1) \
         UNION ALL SELECT true, position, hash FROM events WHERE position = ANY($2)",
    )
    .bind(signed(&read.stored))
    .bind(signed(&read.positions))
    .fetch_all(conn)
    .await?;
    let (mut stored, mut chain) = (HashMap::new(), HashMap::new());
    for row in &rows {
        let at = row.try_get::<i64, _>(1)? as u64;
        let hash = hash32(row.try_get::<&[u8], _>(2)?);
        if row.try_get::<bool, _>(0)? {
            chain.insert(at, hash);
        } else {
            stored.insert(at, hash);
        }
    }
    Ok(read.finish(stored, &chain))
}

/// The checked statement of a guessed lone append, built once: $1–$12 the
/// rows, $13–$18 the request, $19–$22 lock and check, $23–$27 the tree
/// hashes and the seal.
///
/// The append lock is only *tried*: a statement reads the log as it was
/// when the statement began, so one that waited for the lock while another
/// server appended would check a head that is no longer the head, and
/// fail on a unique key. When the lock is held (another server, or another
/// process, appends now), the guess writes nothing and the batch path
/// takes the lock in a statement of its own and reads the head under it.
static GUESS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH locked AS MATERIALIZED (SELECT pg_try_advisory_xact_lock($19) AS got), \
             still AS MATERIALIZED (SELECT 1 FROM locked WHERE got AND \
                 (SELECT position FROM events ORDER BY position DESC LIMIT 1) \
                     IS NOT DISTINCT FROM $20 \
                 AND (SELECT stream_type || ':' || stream_version FROM events \
                     WHERE stream_id = $21 ORDER BY stream_version DESC LIMIT 1) \
                     IS NOT DISTINCT FROM $22), \
             written AS (INSERT INTO events ({COLUMNS}) \
                 SELECT e.* FROM still, {} AS e RETURNING 1), \
             requested AS (INSERT INTO requests ({REQUEST_COLUMNS}) \
                 SELECT r.* FROM {} AS r WHERE EXISTS (SELECT 1 FROM written)), \
             {} \
             SELECT count(*) FROM written",
        unnest(&ROW_TYPES, 1),
        unnest(&REQUEST_TYPES, 13),
        beside_ctes(23, "WHERE EXISTS (SELECT 1 FROM written)"),
    )
});

/// A batch's events, tree hashes, seal and request ids in one statement:
/// $1–$12 the rows, $13–$17 the tree hashes and the seal, $18–$23 the
/// request ids (empty arrays when there are none).
static BATCH_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH {}, requested AS (INSERT INTO requests ({REQUEST_COLUMNS}) SELECT * FROM {}) \
         INSERT INTO events ({COLUMNS}) SELECT * FROM {}",
        beside_ctes(13, ""),
        unnest(&REQUEST_TYPES, 18),
        unnest(&ROW_TYPES, 1)
    )
});

/// What a batch reads under the append lock, in one statement, a row
/// each: the head and its seal (`h`: position, hash, recorded_at, the
/// seal's position, key id and signature, whether any seal exists), each
/// of the streams `$1` at its newest event (`s`: stream, type, version,
/// found by one backward index step: a DISTINCT ON over `stream_id =
/// ANY($1)` read every version of every stream and, once the prepared
/// statement went generic, took 100 ms a batch on a log of 600k events),
/// and the request ids of `$2` already used (`r`: id, then the stored
/// request), and the hashes of the events after position `$3` (`x`:
/// position, hash; at most [`CATCH_UP`] of them), the frontier this writer
/// knows, so that the Merkle tree's right edge is brought up to the head
/// from them when other servers appended meanwhile, without a read of the
/// tree's hashes after this one (ADR 0041). The lock itself is taken by the
/// statement before: a statement reads the log as it was when it began
/// (ADR 0029).
const UNDER_LOCK_SQL: &str = "\
    SELECT 'h', e.position, e.hash, e.recorded_at, s.position, s.key_id, s.signature, \
           EXISTS (SELECT 1 FROM seals), NULL::text, NULL::text, NULL::bigint, NULL::bigint, \
           NULL::bigint, NULL::bigint \
      FROM (SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1) e \
      LEFT JOIN seals s ON s.position = e.position \
    UNION ALL \
    SELECT 's', NULL, NULL, NULL, NULL, NULL, NULL, NULL, s.stream_id, e.stream_type, \
           e.stream_version, NULL, NULL, NULL \
      FROM UNNEST($1::text[]) AS s(stream_id) \
      CROSS JOIN LATERAL (SELECT stream_type, stream_version FROM events \
          WHERE events.stream_id = s.stream_id ORDER BY stream_version DESC LIMIT 1) e \
    UNION ALL \
    SELECT 'r', NULL, NULL, NULL, NULL, NULL, NULL, NULL, request_id, stream_id, first_version, \
           last_version, first_position, last_position \
      FROM requests WHERE request_id = ANY($2) \
    UNION ALL \
    (SELECT 'x', position, hash, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
           NULL \
      FROM events WHERE position > $3 ORDER BY position LIMIT $4)";

/// A transaction begun by a statement of our own: a `BEGIN` and what rides
/// in its round trip (the append lock, a setting; ADR 0041). sqlx's own
/// transaction rolls back only after its BEGIN succeeded: a statement that
/// failed in the same round trip (a lock wait past `lock_timeout`), or a
/// future dropped meanwhile, would return the connection to the pool
/// inside the transaction, holding what it took. This one closes its
/// connection (which ends the transaction on the server) unless it was
/// committed or rolled back.
#[derive(Debug)]
pub struct Begun {
    conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    open: bool,
}

impl Begun {
    /// Runs `statement` (which must begin the transaction) on a connection
    /// of `pool`.
    ///
    /// # Errors
    /// The database's; the connection is then closed.
    pub async fn begin(pool: &PgPool, statement: &'static str) -> Result<Self, sqlx::Error> {
        let mut begun = Self {
            conn: pool.acquire().await?,
            open: true,
        };
        sqlx::Executor::execute(&mut *begun.conn, statement).await?;
        Ok(begun)
    }

    /// # Errors
    /// The database's; the connection is then closed.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        sqlx::Executor::execute(&mut *self.conn, "COMMIT").await?;
        self.open = false;
        Ok(())
    }

    /// # Errors
    /// The database's; the connection is then closed.
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        sqlx::Executor::execute(&mut *self.conn, "ROLLBACK").await?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Begun {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl std::ops::DerefMut for Begun {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

impl Drop for Begun {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

/// A transaction that holds the append lock from its first round trip.
static LOCKED_BEGIN: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("BEGIN; SELECT pg_advisory_xact_lock({APPEND_LOCK})"));

/// The most events of other servers a batch brings its Merkle frontier up
/// over; further behind, it reads the tree's stored right edge.
const CATCH_UP: i64 = 1_000;

/// A seal from a row's columns `at..at+3` (position, key id, signature).
fn seal_at(row: &PgRow, at: usize) -> Result<Option<Seal>, sqlx::Error> {
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

/// A stream's events at versions `$2 <= v < $3`, in no order: versions
/// have no holes, so the range stands in for `ORDER BY … LIMIT`, and the
/// rows are sorted by the caller ([`by_version`]). Asked to order them, a
/// PostgreSQL whose log has no statistics (never analyzed), or whose streams'
/// rows lie apart in the table, gathers the rows in a bitmap and sorts them
/// on the server: 0.66 ms for 1,000 events where the walk of the stream's
/// index takes 0.2.
static STREAM_RANGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM events \
         WHERE stream_id = $1 AND stream_version >= $2 AND stream_version < $3"
    )
});

/// A stream's snapshot for a schema version ($2) and the events of the $3
/// versions after it, in one round trip and, as in [`STREAM_RANGE`], in no
/// order; of each event only what loading needs ([`StreamEvent`]). The
/// snapshot is usable only where the stream has reached the version it was
/// taken at; it comes as a row of its own, marked 0 in a sixth column, with
/// its version and state where an event's `stream_version` and `payload` are,
/// its recorded position where the position is, and in four more columns
/// its chain hash and state hash and the position and hash of the event at
/// its version. After a snapshot that fails its check the events are read
/// again from the first (`EventStore::read_from_snapshot`).
const SNAPSHOT_AND_EVENTS: &str = "WITH snap AS (SELECT s.stream_version, s.state, \
         s.position, s.chain_hash, s.state_hash, e.position AS event_position, e.hash \
         FROM snapshots s JOIN events e \
             ON e.stream_id = s.stream_id AND e.stream_version = s.stream_version \
         WHERE s.stream_id = $1 AND s.schema_version = $2 AND s.stream_version > 0), \
     since AS (SELECT COALESCE(MAX(stream_version), 0) AS v FROM snap) \
     SELECT position, stream_version, NULL::text, NULL::int, state, 0, \
         chain_hash, state_hash, event_position, hash FROM snap \
     UNION ALL \
     SELECT position, stream_version, event_type, event_version, payload, 1, \
         NULL::bytea, NULL::bytea, NULL::bigint, NULL::bytea \
         FROM events WHERE stream_id = $1 \
         AND stream_version > (SELECT v FROM since) \
         AND stream_version <= (SELECT v FROM since) + $3";

/// Every snapshot, beside the event at its version where there is one.
const ALL_SNAPSHOTS: &str = "SELECT s.stream_id, s.schema_version, s.stream_version, s.state, \
         s.position, s.chain_hash, s.state_hash, e.position, e.hash \
     FROM snapshots s LEFT JOIN events e \
         ON e.stream_id = s.stream_id AND e.stream_version = s.stream_version \
     ORDER BY s.stream_id, s.schema_version";

/// A row of [`SNAPSHOT_AND_EVENTS`].
enum LoadRow {
    Snapshot(CheckedSnapshot),
    Event(StreamEvent),
}

/// Events of one stream, oldest first.
fn by_version<E>(mut events: Vec<E>, version: impl Fn(&E) -> u64) -> Vec<E> {
    // Mostly in order already (as appended, or as the index gives them),
    // which the standard sort finds and keeps in linear time.
    events.sort_by_key(version);
    events
}

#[derive(Clone, Debug)]
pub(crate) struct Postgres {
    pub(crate) pool: PgPool,
    /// This process's name in its announcements of the streams it wrote,
    /// random at each start.
    origin: Arc<str>,
}

/// How long a pooled connection may sit idle and still be used unchecked.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

/// What the database enforces on every session of a server (ADR 0029), so
/// that a server that hangs or is cut off holds nothing others wait for:
/// a transaction left open (a server stopped while it held the append
/// lock) is ended after 5 s, and what it had not committed is not in the
/// log, so it was never acknowledged; a statement waits at most 15 s for a
/// lock, instead of forever behind such a holder; and the database probes
/// an idle connection after 10 s of silence, every 5 s, dropping it (and
/// its locks) after 3 unanswered probes: a server cut off by the network
/// loses its sessions within 25 s instead of the system's two hours.
const SESSION_LIMITS: [(&str, &str); 5] = [
    ("idle_in_transaction_session_timeout", "5s"),
    ("lock_timeout", "15s"),
    ("tcp_keepalives_idle", "10"),
    ("tcp_keepalives_interval", "5"),
    ("tcp_keepalives_count", "3"),
];

/// The shortest time between two announcements of this process's head.
const ANNOUNCE_EVERY: Duration = Duration::from_millis(5);

impl Postgres {
    pub(crate) async fn open(url: &str, config: &StoreConfig) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::invalid("database_url", e.to_string()))?
            .application_name("jejak")
            .options(SESSION_LIMITS);
        let pool = PgPoolOptions::new()
            .max_connections(config.pool_size.max(2))
            .acquire_timeout(Duration::from_secs(5))
            // sqlx checks every connection on release (a ping that closes
            // one the server dropped) and by default again on acquire: a
            // round trip before every statement. Only a connection idle long
            // enough to have lost its server meanwhile (a restart, an idle
            // timeout) is checked again before use.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= CHECK_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        if !config.read_only {
            // The server role finds the schema migrated by its owner.
            super::roles::migrate_postgres(&super::roles::postgres_migrator(), &pool).await?;
        }
        Ok(Self {
            pool,
            origin: Uuid::now_v7().simple().to_string().into(),
        })
    }

    /// Tells every process following this database of this process's new
    /// head after its commits, and of the streams it wrote: off the
    /// writer's path, at most one announcement per [`ANNOUNCE_EVERY`].
    pub(crate) fn spawn_announcer(
        &self,
        mut committed: watch::Receiver<u64>,
        written: Arc<Written>,
    ) {
        let pool = self.pool.clone();
        let origin = self.origin.clone();
        tokio::spawn(async move {
            while committed.changed().await.is_ok() {
                let position = *committed.borrow_and_update();
                if let Err(err) = sqlx::query("SELECT pg_notify($1, $2), pg_notify($3, $4)")
                    .bind(CHANNEL)
                    .bind(position.to_string())
                    .bind(STREAMS_CHANNEL)
                    .bind(written.take(&origin))
                    .execute(&pool)
                    .await
                {
                    tracing::debug!(error = %err, "cannot announce the new head; followers will poll");
                    // The streams it named are told as "all" next time.
                    written.add(["*"]);
                }
                // At most one NOTIFY per ANNOUNCE_EVERY: under load the
                // commits in between are announced together.
                tokio::time::sleep(ANNOUNCE_EVERY).await;
            }
        });
    }

    /// Follows NOTIFY from every process writing to this database and moves
    /// `head` forward. Reconnects after a lost connection.
    ///
    /// Streams other processes wrote go to `elsewhere`, one line each (a
    /// line `*` for every stream: more than a notification holds, or
    /// notifications missed while the connection was lost).
    pub(crate) fn spawn_listener(
        &self,
        head: Arc<watch::Sender<u64>>,
        notices: tokio::sync::broadcast::Sender<Arc<str>>,
        elsewhere: tokio::sync::broadcast::Sender<Arc<str>>,
    ) -> tokio::task::AbortHandle {
        let pool = self.pool.clone();
        let origin = self.origin.clone();
        tokio::spawn(async move {
            let mut first = true;
            loop {
                match PgListener::connect_with(&pool).await {
                    Ok(mut listener) => {
                        if listener
                            .listen_all([CHANNEL, VIEWS_CHANNEL, STREAMS_CHANNEL])
                            .await
                            .is_ok()
                        {
                            if !std::mem::take(&mut first) {
                                let _ = elsewhere.send(Arc::from("*"));
                            }
                            // `try_recv` tells of a lost connection (`None`),
                            // which `recv` would mend in silence: the
                            // notifications sent meanwhile are lost, and every
                            // state kept may be stale.
                            loop {
                                let n = match listener.try_recv().await {
                                    Ok(Some(n)) => n,
                                    Ok(None) => {
                                        let _ = elsewhere.send(Arc::from("*"));
                                        continue;
                                    }
                                    Err(_) => break,
                                };
                                if n.channel() == VIEWS_CHANNEL {
                                    let _ = notices.send(Arc::from(n.payload()));
                                } else if n.channel() == STREAMS_CHANNEL {
                                    if let Some((from, streams)) = n.payload().split_once('\n')
                                        && from != &*origin
                                    {
                                        let _ = elsewhere.send(Arc::from(streams));
                                    }
                                } else if let Ok(position) = n.payload().parse::<u64>() {
                                    head.send_if_modified(|known| {
                                        let moved = position > *known;
                                        if moved {
                                            *known = position;
                                        }
                                        moved
                                    });
                                }
                            }
                        }
                    }
                    Err(err) => tracing::debug!(error = %err, "log listener cannot connect"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
        .abort_handle()
    }

    pub(crate) async fn commit_batch<'a>(
        &self,
        batch: &'a [PreparedAppend],
        ledger: &Ledger,
    ) -> Result<(Plan<'a>, Frontier), StoreError> {
        // The lock rides in the BEGIN's round trip (ADR 0041); the head is
        // read by the next statement, which begins after it is held.
        let mut tx = Begun::begin(&self.pool, LOCKED_BEGIN.as_str()).await?;
        let mut ctx = BatchContext::default();
        let mut stream_ids: Vec<&str> = batch.iter().map(|a| a.stream_id.as_str()).collect();
        stream_ids.sort_unstable();
        stream_ids.dedup();
        let request_ids: Vec<&str> = batch
            .iter()
            .filter_map(|a| a.request_id.as_deref())
            .collect();
        // Everything the batch needs in one round trip under the lock.
        let known_size = ledger.frontier_size();
        let mut after_known = Vec::new();
        for row in sqlx::query(UNDER_LOCK_SQL)
            .bind(&stream_ids)
            .bind(&request_ids)
            // No frontier known: no event hashes wanted.
            .bind(known_size.map_or(i64::MAX, |size| size as i64))
            .bind(CATCH_UP)
            .fetch_all(&mut *tx)
            .await?
        {
            match row.try_get::<&str, _>(0)? {
                "h" => {
                    ctx.head_position = row.try_get::<i64, _>(1)? as u64;
                    ctx.head_hash = hash32(row.try_get::<&[u8], _>(2)?);
                    ctx.head_recorded_at = Some(row.try_get(3)?);
                    ctx.head_seal = HeadSeal {
                        seal: seal_at(&row, 4)?,
                        any: row.try_get(7)?,
                    };
                }
                "x" => after_known.push((
                    row.try_get::<i64, _>(1)? as u64,
                    hash32(row.try_get::<&[u8], _>(2)?),
                )),
                "s" => {
                    ctx.streams.insert(
                        row.try_get(8)?,
                        (row.try_get(9)?, row.try_get::<i64, _>(10)? as u64),
                    );
                }
                _ => {
                    ctx.requests
                        .insert(row.try_get(8)?, stored_request(&row, 9)?);
                }
            }
        }
        ledger.check_head(ctx.head_position, &ctx.head_hash, &ctx.head_seal)?;
        let base = match ledger
            .frontier_at(ctx.head_position)
            .or_else(|| ledger.frontier_over(ctx.head_position, &ctx.head_hash, &mut after_known))
        {
            Some(frontier) => frontier,
            None => Frontier::from_found(
                ctx.head_position,
                read_tree_hashes(&mut tx, &frontier_indexes(ctx.head_position)).await?,
            )?,
        };
        let plan = plan(ctx, batch);
        let (beside, frontier) = ledger.beside(base, &plan.rows);
        if !plan.rows.is_empty() {
            let query = bind_beside(bind_rows(sqlx::query(&BATCH_SQL), &plan.rows), &beside);
            bind_requests(query, &plan.requests)
                .execute(&mut *tx)
                .await?;
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
            "SELECT position, key_id, signature FROM seals WHERE position > $1 \
             ORDER BY position LIMIT $2",
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
        sqlx::query(
            "INSERT INTO tree_hashes (idx, hash) SELECT * FROM UNNEST($1::bigint[], $2::bytea[]) \
             ON CONFLICT (idx) DO NOTHING",
        )
        .bind(rows.iter().map(|(i, _)| *i as i64).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, h)| h.to_vec()).collect::<Vec<_>>())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn tree_hashes(
        &self,
        indexes: &[u64],
    ) -> Result<HashMap<u64, TreeHash>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(read_tree_hashes(&mut conn, indexes).await?)
    }

    /// Writes a guessed lone append if the log is still as guessed, in one
    /// statement that is its own transaction: it takes the append lock,
    /// checks the head and the stream, and inserts the events and the
    /// request id's row. `false` when the check or a unique key (the log
    /// moved under a stale snapshot, or the request id was used) held it
    /// back, with nothing written.
    pub(crate) async fn write_guess(
        &self,
        guess: &Guess<'_>,
        beside: &Beside,
    ) -> Result<Guessed, StoreError> {
        let query = bind_rows(sqlx::query_scalar(GUESS_SQL.as_str()), &guess.plan.rows);
        let query = bind_requests(query, &guess.plan.requests)
            .bind(APPEND_LOCK)
            .bind(guess.head_position)
            .bind(guess.stream_id)
            .bind(guess.stream.as_ref().map(|(t, v)| format!("{t}:{v}")));
        let written = bind_beside(query, beside)
            .fetch_one(&self.pool)
            .await
            .map(|n: i64| n as u64);
        checked(written, guess.plan.rows.len())
    }

    pub(crate) async fn read_stream(
        &self,
        stream: &StreamId,
        direction: Direction,
        from: Option<i64>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let limit = limit as i64;
        match direction {
            Direction::Forward => {
                let from = from.unwrap_or(1);
                let events = sqlx::query(&STREAM_RANGE)
                    .bind(stream.as_str())
                    .bind(from)
                    .bind(from.saturating_add(limit))
                    .try_map(|row: PgRow| decode(&row))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(by_version(events, |e| e.stream_version))
            }
            Direction::Backward => Ok(sqlx::query(&format!(
                "SELECT {COLUMNS} FROM events WHERE stream_id = $1 AND stream_version <= $2 \
                     ORDER BY stream_version DESC LIMIT $3"
            ))
            .bind(stream.as_str())
            .bind(from.unwrap_or(i64::MAX))
            .bind(limit)
            .try_map(|row: PgRow| decode(&row))
            .fetch_all(&self.pool)
            .await?),
        }
    }

    pub(crate) async fn read_all(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        Ok(sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position ASC LIMIT $2"
        ))
        .bind(after)
        .bind(limit as i64)
        .try_map(|row: PgRow| decode(&row))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Up to `limit` events after `after` as the verify walk's links,
    /// hashed on a blocking thread from the rows' bytes.
    pub(crate) async fn read_links(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<super::verify::Link>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position ASC LIMIT $2"
        ))
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        tokio::task::spawn_blocking(move || rows.iter().map(link).collect::<Result<Vec<_>, _>>())
            .await
            .map_err(|e| StoreError::Internal(format!("hashing a batch failed: {e}")))?
            .map_err(StoreError::from)
    }

    pub(crate) async fn read_by_actor(
        &self,
        actor: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        // The expression is the one `events_by_actor` indexes. Planned
        // anew each time: a plan kept from while the log was small could
        // walk the log in position order looking for the actor's events
        // (the trap ADR 0009 tells of for the views' lookups).
        Ok(sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events WHERE ((metadata::jsonb) ->> 'actor_id') = $1 \
             AND position > $2 ORDER BY position ASC LIMIT $3"
        ))
        .persistent(false)
        .bind(actor)
        .bind(after)
        .bind(limit as i64)
        .try_map(|row: PgRow| decode(&row))
        .fetch_all(&self.pool)
        .await?)
    }

    pub(crate) async fn stream_version(
        &self,
        stream: &StreamId,
    ) -> Result<Option<u64>, StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(stream_version) FROM events WHERE stream_id = $1")
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
             FROM requests WHERE request_id = $1",
        )
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| stored_request(&row, 0)).transpose()?)
    }

    pub(crate) async fn checkpoint(&self, name: &str) -> Result<u64, StoreError> {
        let position: Option<i64> =
            sqlx::query_scalar("SELECT position FROM checkpoints WHERE name = $1")
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
            "INSERT INTO checkpoints (name, position) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET \
             position = GREATEST(checkpoints.position, excluded.position)",
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
            sqlx::query_as("SELECT position, state FROM checkpoints WHERE name = $1")
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
            "INSERT INTO checkpoints (name, position, state) VALUES ($1, $2, $3) \
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
             position, chain_hash, state_hash) VALUES ($1, $2, $3, $4, now(), $5, $6, $7) \
             ON CONFLICT (stream_id, schema_version) DO UPDATE SET \
             stream_version = excluded.stream_version, state = excluded.state, \
             taken_at = excluded.taken_at, position = excluded.position, \
             chain_hash = excluded.chain_hash, state_hash = excluded.state_hash",
        )
        .bind(&snapshot.stream_id)
        .bind(snapshot.schema_version)
        .bind(snapshot.stream_version as i64)
        .bind(&snapshot.state)
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
        // Each row is turned into what it holds as it arrives, while its
        // bytes are fresh, rather than after all of them have come.
        let stream_id = stream.as_str();
        let mut rows = sqlx::query(SNAPSHOT_AND_EVENTS)
            .bind(stream_id)
            .bind(schema_version)
            .bind(limit as i64)
            .try_map(|row: PgRow| {
                let stream_version = row.try_get_unchecked::<i64, _>(1)? as u64;
                Ok(if row.try_get_unchecked::<i32, _>(5)? == 0 {
                    LoadRow::Snapshot(CheckedSnapshot {
                        stream_id: stream_id.to_owned(),
                        schema_version,
                        stream_version,
                        state: row.try_get_unchecked(4)?,
                        position: row.try_get_unchecked::<i64, _>(0)? as u64,
                        chain_hash: row.try_get_unchecked(6)?,
                        state_hash: row.try_get_unchecked(7)?,
                        event: Some((
                            row.try_get_unchecked::<i64, _>(8)? as u64,
                            row.try_get_unchecked(9)?,
                        )),
                    })
                } else {
                    LoadRow::Event(StreamEvent {
                        position: row.try_get_unchecked::<i64, _>(0)? as u64,
                        stream_version,
                        event_type: row.try_get_unchecked(2)?,
                        event_version: row.try_get_unchecked::<i32, _>(3)? as u32,
                        payload: row.try_get_unchecked(4)?,
                    })
                })
            })
            .fetch(&self.pool);
        let (mut snapshot, mut events) = (None, Vec::new());
        while let Some(row) = rows.try_next().await? {
            match row {
                LoadRow::Event(event) => events.push(event),
                LoadRow::Snapshot(stored) => snapshot = Some(stored),
            }
        }
        Ok((snapshot, by_version(events, |e| e.stream_version)))
    }

    pub(crate) async fn all_snapshots(&self) -> Result<Vec<CheckedSnapshot>, StoreError> {
        let rows = sqlx::query(ALL_SNAPSHOTS).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let event_position: Option<i64> = row.try_get(7)?;
                let event_hash: Option<Vec<u8>> = row.try_get(8)?;
                Ok(CheckedSnapshot {
                    stream_id: row.try_get(0)?,
                    schema_version: row.try_get(1)?,
                    stream_version: row.try_get::<i64, _>(2)? as u64,
                    state: row.try_get(3)?,
                    position: row.try_get::<i64, _>(4)? as u64,
                    chain_hash: row.try_get(5)?,
                    state_hash: row.try_get(6)?,
                    event: event_position.zip(event_hash).map(|(p, h)| (p as u64, h)),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}
