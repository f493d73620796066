//! The append-only, hash-chained event log.
//!
//! [`EventStore`] is the only way anything in jejak writes history. It runs
//! on SQLite (a file; the embedded default) or PostgreSQL (shared by several
//! servers), chosen by URL, with the same behaviour on both:
//!
//! - one table of events in one total order: positions 1, 2, 3, … without holes;
//! - appends are serialized (SQLite `BEGIN IMMEDIATE`, PostgreSQL a
//!   transaction-scoped advisory lock) and group-committed: one writer task
//!   takes every append that is waiting and writes them in one transaction,
//!   rejecting alone an append whose expected version does not hold;
//! - a request id makes an append idempotent, also across restarts;
//! - triggers in the database refuse UPDATE, DELETE (and TRUNCATE);
//! - each event's hash chains over the previous one, so [`EventStore::verify`]
//!   finds the first position where the log was changed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), jejak_engine::store::StoreError> {
//! use jejak_engine::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent, StoreConfig, StreamId};
//! let store = EventStore::open("sqlite://data/jejak.db", StoreConfig::default()).await?;
//! let stream = StreamId::parse("cohort-pka-2026-3")?;
//! let written = store
//!     .append(
//!         AppendRequest::new(stream, "cohort", ExpectedVersion::NoStream)
//!             .event(NewEvent::new("CohortOpened", serde_json::json!({"level": "PKA"})))
//!             .request_id("open-pka-2026-3"),
//!     )
//!     .await?;
//! assert_eq!(written.stream_version, 1);
//! # Ok(()) }
//! ```

/// Runs `$sql` (written with `$1`, `$2`… placeholders) on either backend,
/// with `$binds`, as `$run` (`fetch_all`, …; a `write` is `execute`d and
/// yields the rows it affected). On SQLite the placeholders become `?1`,
/// `?2`… and writes take the write lock.
macro_rules! on_backend {
    ($store:expr, $query:ident $(::<$ty:ty>)?, $sql:expr, [$($bind:expr),* $(,)?], $run:ident, write) => {
        match &$store.inner.backend {
            Backend::Sqlite(s) => {
                let _write = s.write_lock.lock().await;
                let sql = $sql.replace('$', "?");
                sqlx::$query$(::<_, $ty>)?(&sql)$(.bind($bind))*.$run(&s.pool).await?.rows_affected()
            }
            Backend::Postgres(p) => sqlx::$query$(::<_, $ty>)?($sql)$(.bind($bind))*.$run(&p.pool).await?.rows_affected(),
        }
    };
    ($store:expr, $query:ident $(::<$ty:ty>)?, $sql:expr, [$($bind:expr),* $(,)?], $run:ident) => {
        match &$store.inner.backend {
            Backend::Sqlite(s) => {
                let sql = $sql.replace('$', "?");
                sqlx::$query$(::<_, $ty>)?(&sql)$(.bind($bind))*.$run(&s.pool).await?
            }
            Backend::Postgres(p) => sqlx::$query$(::<_, $ty>)?($sql)$(.bind($bind))*.$run(&p.pool).await?,
        }
    };
}

/// A time as the tables beside the log keep it: microseconds since the
/// epoch, on both backends.
fn micros(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_micros()
}

/// The time [`micros`] kept.
fn time(us: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default()
}

mod checkpoint;
mod copy;
mod error;
mod hash;
mod lease;
pub mod merkle;
mod migrations;
mod outbox;
mod people;
mod plan;
mod portal;
mod postgres;
mod roles;
pub mod seal;
mod snapshot;
mod sqlite;
mod sqlite_reads;
mod sqlite_writer;
mod subscription;
mod types;
mod verified;
mod verify;
mod verify_order;
mod verify_sealed;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::Instrument as _;

pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use error::StoreError;
pub use hash::{HashedFields, chain_hash};
pub use lease::{Lease, LeaseRow, fence};
pub use migrations::{EmbeddedMigrations, embedded_migrator};
pub use outbox::{
    Claim, ContactRow, MessageStatus, NewMessage, OutboxFilter, OutboxRow, OutboxSummary, Settle,
};
pub use portal::{GrantRow, SessionRow};
pub use postgres::{Begun, VIEWS_CHANNEL};
pub use sqlite::views_file;
pub use sqlite_writer::blocking;

/// View notices kept for a slow reader before it misses some.
const NOTICES: usize = 256;
pub use roles::{
    ERASABLE_TABLES, InitDb, MUTABLE_TABLES, PERSONAL_TABLES, migrate_postgres, postgres_migrator,
};
pub use seal::{Seal, SealKey, VerifierKey};
pub use snapshot::{BadSnapshot, SnapshotFault};
pub use subscription::Subscription;
pub use types::{
    AppendResult, Digest, Direction, ExpectedVersion, MAX_NAME_LEN, MAX_STREAM_ID_LEN, Metadata,
    NewEvent, RecordedEvent, StreamEvent, StreamId, occurred_at,
};
pub use verify::{Break, BreakKind, VerifyReport};

use plan::{Guessed, Head, Known, Plan, PreparedAppend, PreparedEvent};
use seal::Ledger;
use types::check_name;

/// The most events one read returns.
pub const MAX_READ_LIMIT: usize = 10_000;

/// Tunables of the store. The defaults suit a server.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Largest payload of one event, in bytes of JSON (default 1 MiB).
    pub max_payload_bytes: usize,
    /// Largest metadata of one event, in bytes of JSON (default 16 KiB).
    pub max_metadata_bytes: usize,
    /// Most events in one append (default 1,000).
    pub max_events_per_append: usize,
    /// Most appends the writer commits in one transaction (default 512).
    pub max_batch_appends: usize,
    /// Connections in the pool (default 8).
    pub pool_size: u32,
    /// How often a subscription looks for appends made by other processes
    /// when no notification reaches it (default 250 ms).
    pub poll_interval: Duration,
    /// Open for reading only: no migrations, no writer; appends are refused.
    /// For auditors handed a copy of the database or a read-only login.
    pub read_only: bool,
    /// The deployment's key: seals every committed batch and signs
    /// checkpoints. Without one, appends are not sealed (tests, tools).
    pub seal_key: Option<SealKey>,
    /// The key `verify` checks seals with; default: the seal key's own.
    /// Without either, seals are not checked.
    pub verifier_key: Option<VerifierKey>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            max_payload_bytes: 1024 * 1024,
            max_metadata_bytes: 16 * 1024,
            max_events_per_append: 1_000,
            max_batch_appends: 512,
            pool_size: 8,
            poll_interval: Duration::from_millis(250),
            read_only: false,
            seal_key: None,
            verifier_key: None,
        }
    }
}

/// One append: events for one stream, with an expectation and optionally a
/// request id that makes it idempotent.
#[derive(Clone, Debug)]
pub struct AppendRequest {
    stream_id: StreamId,
    stream_type: String,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    request_id: Option<String>,
}

impl AppendRequest {
    /// An append to `stream_id` (of kind `stream_type`) expecting `expected`.
    pub fn new(
        stream_id: StreamId,
        stream_type: impl Into<String>,
        expected: ExpectedVersion,
    ) -> Self {
        Self {
            stream_id,
            stream_type: stream_type.into(),
            expected,
            events: Vec::new(),
            request_id: None,
        }
    }

    /// Adds one event.
    #[must_use]
    pub fn event(mut self, event: NewEvent) -> Self {
        self.events.push(event);
        self
    }

    /// Adds events.
    #[must_use]
    pub fn events(mut self, events: impl IntoIterator<Item = NewEvent>) -> Self {
        self.events.extend(events);
        self
    }

    /// Makes the append idempotent: the same id again returns the first
    /// result and writes nothing.
    #[must_use]
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    fn prepare(self, config: &StoreConfig) -> Result<PreparedAppend, StoreError> {
        check_name("stream_type", &self.stream_type, MAX_NAME_LEN)?;
        if let Some(id) = &self.request_id {
            check_name("request_id", id, MAX_NAME_LEN)?;
        }
        if self.events.is_empty() {
            return Err(StoreError::invalid(
                "events",
                "an append needs at least one event",
            ));
        }
        if self.events.len() > config.max_events_per_append {
            return Err(StoreError::invalid(
                "events",
                format!(
                    "{} events in one append; the limit is {}",
                    self.events.len(),
                    config.max_events_per_append
                ),
            ));
        }
        if let ExpectedVersion::Exact(v) = self.expected {
            check_i64("expected_version", v)?;
        }
        let request_id = self.request_id;
        let events = self
            .events
            .into_iter()
            .map(|event| {
                check_name("event_type", &event.event_type, MAX_NAME_LEN)?;
                if event.event_version == 0 {
                    return Err(StoreError::invalid("event_version", "starts at 1"));
                }
                let payload = serde_json::to_string(&event.payload)
                    .map_err(|e| StoreError::invalid("payload", e.to_string()))?;
                if payload.len() > config.max_payload_bytes {
                    return Err(StoreError::invalid(
                        "payload",
                        format!(
                            "is {} bytes of JSON; the limit is {} bytes",
                            payload.len(),
                            config.max_payload_bytes
                        ),
                    ));
                }
                let mut metadata = event.metadata;
                if metadata.request_id.is_none() {
                    metadata.request_id.clone_from(&request_id);
                }
                let metadata = serde_json::to_string(&metadata)
                    .map_err(|e| StoreError::invalid("metadata", e.to_string()))?;
                if metadata.len() > config.max_metadata_bytes {
                    return Err(StoreError::invalid(
                        "metadata",
                        format!(
                            "is {} bytes of JSON; the limit is {} bytes",
                            metadata.len(),
                            config.max_metadata_bytes
                        ),
                    ));
                }
                Ok(PreparedEvent {
                    event_id: uuid::Uuid::now_v7(),
                    event_type: event.event_type,
                    event_version: event.event_version,
                    payload,
                    metadata,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PreparedAppend {
            stream_id: self.stream_id,
            stream_type: self.stream_type,
            expected: self.expected,
            request_id,
            events,
        })
    }
}

fn check_i64(field: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| {
        StoreError::invalid(
            field,
            format!("{value} is out of range (at most {})", i64::MAX),
        )
    })
}

fn check_limit(limit: usize) -> Result<(), StoreError> {
    if limit == 0 || limit > MAX_READ_LIMIT {
        return Err(StoreError::invalid(
            "limit",
            format!("{limit} is out of range; ask for 1 to {MAX_READ_LIMIT} events"),
        ));
    }
    Ok(())
}

/// The two databases the log can live in.
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// A snapshot as stored: the state's JSON at a stream version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSnapshot {
    /// Stream version the state reflects.
    pub stream_version: u64,
    /// The state as JSON.
    pub state: String,
}

/// Batches of the log read ahead ([`EventStore::read_all_ahead`]).
#[derive(Debug)]
pub struct ReadAhead<T = RecordedEvent> {
    rx: mpsc::Receiver<Result<Vec<T>, StoreError>>,
}

impl<T> ReadAhead<T> {
    /// The next batch, oldest first; empty once the log has ended.
    ///
    /// # Errors
    /// Storage failures of the read.
    pub async fn next(&mut self) -> Result<Vec<T>, StoreError> {
        self.rx.recv().await.unwrap_or_else(|| Ok(Vec::new()))
    }
}

/// Something read from the log in position order.
trait AtPosition {
    fn position(&self) -> u64;
}

impl AtPosition for RecordedEvent {
    fn position(&self) -> u64 {
        self.position
    }
}

impl AtPosition for verify::Link {
    fn position(&self) -> u64 {
        self.position
    }
}

/// Batches of up to `limit` items after `after`, each from `read(after)`,
/// by a task that stays up to two batches ahead of the caller and reads two
/// at once: the next one from where it starts in a log without holes
/// (positions are contiguous unless the log was tampered with). Where the
/// batch before ends elsewhere, that read is dropped and the next batch read
/// again from where it did end.
fn read_ahead<T, F, R>(after: u64, limit: usize, read: R) -> ReadAhead<T>
where
    T: AtPosition + Send + 'static,
    F: Future<Output = Result<Vec<T>, StoreError>> + Send + 'static,
    R: Fn(u64) -> F + Send + 'static,
{
    let (tx, rx) = mpsc::channel(2);
    let step = limit as u64;
    tokio::spawn(async move {
        let read = move |after: u64| tokio::spawn(read(after));
        let mut after = after;
        let mut current = read(after);
        let mut ahead = read(after.saturating_add(step));
        loop {
            let batch = current.await.unwrap_or_else(|e| {
                Err(StoreError::Internal(format!(
                    "reading the log ahead failed: {e}"
                )))
            });
            let next = match &batch {
                Ok(items) if items.len() == limit => items.last().map(AtPosition::position),
                _ => None,
            };
            if tx.send(batch).await.is_err() {
                ahead.abort();
                return;
            }
            let Some(last) = next else {
                ahead.abort();
                return;
            };
            if last == after.saturating_add(step) {
                current = ahead;
            } else {
                ahead.abort();
                current = read(last);
            }
            after = last;
            ahead = read(after.saturating_add(step));
        }
    });
    ReadAhead { rx }
}

macro_rules! dispatch {
    ($self:expr, $b:ident => $body:expr) => {
        match $self {
            Backend::Sqlite($b) => $body,
            Backend::Postgres($b) => $body,
        }
    };
}

impl Backend {
    /// Commits a batch: a lone append that [`Known`] can decide by one
    /// checked write (ADR 0007), anything else after reading what it needs
    /// under the append lock.
    async fn commit_batch<'a>(
        &self,
        batch: &'a [PreparedAppend],
        known: &mut Known,
        ledger: &mut Ledger,
    ) -> Result<Plan<'a>, StoreError> {
        if let Some(guess) = known.guess(batch)
            && let Some(base) = ledger.frontier_at(known.position().unwrap_or(0))
        {
            let (beside, frontier) = ledger.beside(base, &guess.plan.rows);
            match dispatch!(self, b => b.write_guess(&guess, &beside).await) {
                Ok(Guessed::Written) => {
                    known.learn(&guess.plan);
                    ledger.frontier = Some(frontier);
                    return Ok(guess.plan);
                }
                Ok(Guessed::Moved) => {
                    tracing::debug!("the log moved; reading it");
                    known.guess_missed();
                }
                // A repeated command: its first result is read under the
                // lock; what this writer knows of the log still holds.
                Ok(Guessed::RequestUsed) => {}
                Err(err) => {
                    known.forget();
                    ledger.frontier = None;
                    return Err(err);
                }
            }
        }
        match dispatch!(self, b => b.commit_batch(batch, ledger).await) {
            Ok((plan, frontier)) => {
                known.learn(&plan);
                ledger.frontier = Some(frontier);
                Ok(plan)
            }
            Err(err) => {
                known.forget();
                ledger.frontier = None;
                Err(err)
            }
        }
    }
    async fn read_stream(
        &self,
        stream: &StreamId,
        direction: Direction,
        from: Option<i64>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self, b => b.read_stream(stream, direction, from, limit).await)
    }
    async fn read_all(&self, after: i64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self, b => b.read_all(after, limit).await)
    }
    async fn read_by_actor(
        &self,
        actor: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        dispatch!(self, b => b.read_by_actor(actor, after, limit).await)
    }
    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>, StoreError> {
        dispatch!(self, b => b.stream_version(stream).await)
    }
    async fn last_event(&self) -> Result<Option<RecordedEvent>, StoreError> {
        dispatch!(self, b => b.last_event().await)
    }
    async fn find_request(
        &self,
        request_id: &str,
    ) -> Result<Option<plan::StoredRequest>, StoreError> {
        dispatch!(self, b => b.find_request(request_id).await)
    }
    async fn checkpoint(&self, name: &str) -> Result<u64, StoreError> {
        dispatch!(self, b => b.checkpoint(name).await)
    }
    async fn save_checkpoint(&self, name: &str, position: i64) -> Result<(), StoreError> {
        dispatch!(self, b => b.save_checkpoint(name, position).await)
    }
    async fn checkpoint_state(&self, name: &str) -> Result<Option<(u64, String)>, StoreError> {
        dispatch!(self, b => b.checkpoint_state(name).await)
    }
    async fn save_checkpoint_state(
        &self,
        name: &str,
        position: i64,
        state: &str,
    ) -> Result<(), StoreError> {
        dispatch!(self, b => b.save_checkpoint_state(name, position, state).await)
    }
    async fn save_snapshot(&self, snapshot: &snapshot::CheckedSnapshot) -> Result<(), StoreError> {
        dispatch!(self, b => b.save_snapshot(snapshot).await)
    }
    async fn snapshot_and_events(
        &self,
        stream: &StreamId,
        schema_version: i64,
        limit: usize,
    ) -> Result<(Option<snapshot::CheckedSnapshot>, Vec<StreamEvent>), StoreError> {
        dispatch!(self, b => b.snapshot_and_events(stream, schema_version, limit).await)
    }
    async fn all_snapshots(&self) -> Result<Vec<snapshot::CheckedSnapshot>, StoreError> {
        dispatch!(self, b => b.all_snapshots().await)
    }
}

/// Whether a forward read of a stream's versions below `until`, whose last
/// event is at version `last`, came to its end, so that the stream may go
/// on after it.
fn reached(last: Option<u64>, until: u64) -> bool {
    last.is_some_and(|version| version + 1 == until)
}

/// What the writer tells the announcer after a commit on PostgreSQL.
struct Announce {
    committed: watch::Sender<u64>,
    written: Arc<postgres::Written>,
}

struct Pending {
    append: PreparedAppend,
    reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

struct Inner {
    backend: Backend,
    config: StoreConfig,
    writer: Option<mpsc::Sender<Pending>>,
    head: Arc<watch::Sender<u64>>,
    /// What the servers applying views announce (ADR 0029).
    notices: broadcast::Sender<Arc<str>>,
    /// The streams other processes on the same database wrote (ADR 0041).
    elsewhere: broadcast::Sender<Arc<str>>,
    listener: Option<tokio::task::AbortHandle>,
    /// Snapshots found unusable and ignored while loading.
    bad_snapshots: std::sync::atomic::AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

/// The event log. Cheap to clone; every clone shares one writer.
#[derive(Clone)]
pub struct EventStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("backend", &self.backend_name())
            .field("read_only", &self.inner.config.read_only)
            .finish()
    }
}

impl EventStore {
    /// Opens (and, unless read-only, migrates) the log at `url`:
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a URL of another kind;
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    pub async fn open(url: &str, config: StoreConfig) -> Result<Self, StoreError> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite(sqlite::Sqlite::open(url, &config).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(postgres::Postgres::open(url, &config).await?)
        } else {
            return Err(StoreError::invalid(
                "database_url",
                "must start with sqlite:// (a file) or postgres:// (a server)",
            ));
        };
        let last = backend.last_event().await?;
        let head_position = last.as_ref().map_or(0, |e| e.position);
        let known = Known::at(last.map_or_else(Head::default, |e| Head {
            position: e.position,
            hash: e.hash,
            recorded_at: Some(e.recorded_at),
        }));
        if !config.read_only {
            backend.complete_tree(head_position).await?;
        }
        let (head_tx, _) = watch::channel(head_position);
        let head = Arc::new(head_tx);
        let ledger = Ledger::new(config.seal_key.clone());
        let writer = if config.read_only {
            None
        } else {
            let (tx, rx) = mpsc::channel(config.max_batch_appends * 4);
            // On PostgreSQL other processes hear of each commit.
            let announce = match &backend {
                Backend::Postgres(pg) => {
                    let (committed, follow) = watch::channel(head_position);
                    let written = Arc::new(postgres::Written::default());
                    pg.spawn_announcer(follow, written.clone());
                    Some(Announce { committed, written })
                }
                Backend::Sqlite(_) => None,
            };
            let writer = run_writer(
                backend.clone(),
                rx,
                head.clone(),
                announce,
                known,
                ledger,
                config.max_batch_appends,
            )
            .instrument(tracing::info_span!("log_writer"));
            match &backend {
                Backend::Sqlite(_) => spawn_appender(writer)?,
                Backend::Postgres(_) => drop(tokio::spawn(writer)),
            }
            Some(tx)
        };
        let (notices, _) = broadcast::channel(NOTICES);
        let (elsewhere, _) = broadcast::channel(NOTICES);
        let listener = match &backend {
            Backend::Postgres(pg) => {
                Some(pg.spawn_listener(head.clone(), notices.clone(), elsewhere.clone()))
            }
            Backend::Sqlite(_) => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                backend,
                config,
                writer,
                head,
                notices,
                elsewhere,
                listener,
                bad_snapshots: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.inner.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// The SQLite pool on the log's file, for crates that keep tables of
    /// the log's own beside it (the people index, the outbox); the read
    /// models have a file of their own ([`EventStore::sqlite_views_pool`]).
    /// `None` on PostgreSQL.
    pub fn sqlite_pool(&self) -> Option<&sqlx::SqlitePool> {
        match &self.inner.backend {
            Backend::Sqlite(s) => Some(&s.pool),
            Backend::Postgres(_) => None,
        }
    }

    /// On SQLite, the lock every write transaction on the log's file holds:
    /// crates that write tables of their own in that file take it too, so
    /// that writers queue instead of meeting SQLite's busy handler. (The
    /// read models' file has a lock of its own, ADR 0039.) `None` on
    /// PostgreSQL.
    pub fn sqlite_write_lock(&self) -> Option<Arc<tokio::sync::Mutex<()>>> {
        match &self.inner.backend {
            Backend::Sqlite(s) => Some(s.write_lock.clone()),
            Backend::Postgres(_) => None,
        }
    }

    /// On SQLite, a pool of `size` connections on the read models' own
    /// file beside the log's ([`views_file`], ADR 0039), whose commits do
    /// not wait for the disk: for tables that are rebuilt from the log.
    /// `None` on PostgreSQL, where they are tables beside the log's.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened or made;
    /// [`StoreError::InvalidInput`] when a read-only log has none beside it.
    pub async fn sqlite_views_pool(
        &self,
        size: u32,
    ) -> Result<Option<sqlx::SqlitePool>, StoreError> {
        match &self.inner.backend {
            Backend::Sqlite(s) => Ok(Some(s.views_pool(size).await?)),
            Backend::Postgres(_) => Ok(None),
        }
    }

    /// On SQLite, a connection of its own on the read models' file, made as
    /// [`EventStore::sqlite_views_pool`]'s are, for a crate that writes
    /// whole batches of its tables in one call, with prepared statements
    /// kept, instead of a hop to sqlx's thread per statement (ADR 0019,
    /// ADR 0023). Use it inside [`blocking`], one writer at a time. `None`
    /// on PostgreSQL.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened.
    pub fn sqlite_views_connection(&self) -> Result<Option<rusqlite::Connection>, StoreError> {
        match &self.inner.backend {
            Backend::Sqlite(s) => Ok(Some(s.views_connection()?)),
            Backend::Postgres(_) => Ok(None),
        }
    }

    /// The PostgreSQL pool, for crates that keep their own tables beside the
    /// log (read models). `None` on SQLite.
    pub fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        match &self.inner.backend {
            Backend::Postgres(p) => Some(&p.pool),
            Backend::Sqlite(_) => None,
        }
    }

    /// Appends events to one stream, atomically, after checking the
    /// expectation. Concurrent appends are group-committed.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for bad input;
    /// [`StoreError::WrongExpectedVersion`] with the actual version;
    /// [`StoreError::StreamTypeMismatch`], [`StoreError::RequestIdReused`];
    /// [`StoreError::Unavailable`] or [`StoreError::Internal`] when the
    /// database failed. Whatever the error, nothing of the append was written.
    pub async fn append(&self, request: AppendRequest) -> Result<AppendResult, StoreError> {
        let Some(writer) = &self.inner.writer else {
            return Err(StoreError::Unavailable(
                "the log was opened read-only; it takes no writes".into(),
            ));
        };
        let append = request.prepare(&self.inner.config)?;
        let (reply, answer) = oneshot::channel();
        writer
            .send(Pending { append, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Reads up to `limit` events of one stream. A forward read is the
    /// events at versions `from` (default 1) to `from + limit - 1`; a
    /// backward read, the `limit` newest at or below `from` (default: the
    /// newest). A stream's versions have no holes, so either is `limit`
    /// consecutive events where the stream has them.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a version or limit out of range;
    /// storage failures.
    pub async fn read_stream(
        &self,
        stream: &StreamId,
        direction: Direction,
        from: Option<u64>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        check_limit(limit)?;
        let from = match from {
            Some(0) => {
                return Err(StoreError::invalid("from_version", "versions start at 1"));
            }
            Some(v) => Some(check_i64("from_version", v)?),
            None => None,
        };
        self.inner
            .backend
            .read_stream(stream, direction, from, limit)
            .await
    }

    /// Reads every event of a stream, oldest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn read_stream_to_end(
        &self,
        stream: &StreamId,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_stream_after(stream, 0).await
    }

    /// Reads every event of a stream newer than version `after`, oldest first.
    ///
    /// # Errors
    /// Storage failures; a version out of range.
    pub async fn read_stream_after(
        &self,
        stream: &StreamId,
        after: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = Vec::new();
        let mut next = after + 1;
        loop {
            let batch = self
                .read_stream(stream, Direction::Forward, Some(next), MAX_READ_LIMIT)
                .await?;
            next += MAX_READ_LIMIT as u64;
            let done = !reached(batch.last().map(|e| e.stream_version), next);
            if events.is_empty() {
                events = batch;
            } else {
                events.extend(batch);
            }
            if done {
                return Ok(events);
            }
        }
    }

    /// Reads up to `limit` events of the whole log with position greater
    /// than `after` (0: from the first), in position order.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a position or limit out of range; storage failures.
    pub async fn read_all(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        check_limit(limit)?;
        let after = check_i64("after_position", after)?;
        self.inner.backend.read_all(after, limit).await
    }

    /// The whole log after `after`, in batches of `limit`, read by a task of
    /// its own that stays up to two batches ahead of the caller and reads
    /// two batches at once, so that reading the log and what the caller
    /// does with each batch (export) run side by side. The task stops when
    /// the log ends, on the first error, or when the [`ReadAhead`] is
    /// dropped.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a position or limit out of range.
    pub fn read_all_ahead(&self, after: u64, limit: usize) -> Result<ReadAhead, StoreError> {
        check_limit(limit)?;
        check_i64("after_position", after)?;
        let store = self.clone();
        Ok(read_ahead(after, limit, move |after| {
            let store = store.clone();
            async move { store.read_all(after, limit).await }
        }))
    }

    /// [`EventStore::read_all_ahead`] for verify: each event as the walk
    /// needs it, hashed by the reading task (on SQLite, straight from the
    /// row as it is read; the two batches read at once are hashed side by
    /// side).
    pub(crate) fn read_links_ahead(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<ReadAhead<verify::Link>, StoreError> {
        check_limit(limit)?;
        check_i64("after_position", after)?;
        let store = self.clone();
        Ok(read_ahead(after, limit, move |after| {
            let store = store.clone();
            async move {
                let after = i64::try_from(after).unwrap_or(i64::MAX);
                match &store.inner.backend {
                    Backend::Sqlite(b) => b.read_links(after, limit).await,
                    Backend::Postgres(b) => b.read_links(after, limit).await,
                }
            }
        }))
    }

    /// Reads up to `limit` events that `actor` caused (the `actor_id` of
    /// their metadata), with position greater than `after`, in position
    /// order: the activity trail, read from the log by its index on the
    /// actor.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a position or limit out of range; storage failures.
    pub async fn read_by_actor(
        &self,
        actor: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        check_limit(limit)?;
        let after = check_i64("after_position", after)?;
        self.inner.backend.read_by_actor(actor, after, limit).await
    }

    /// The stream's current version, `None` when it has no events.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>, StoreError> {
        self.inner.backend.stream_version(stream).await
    }

    /// The digest of the log: position and hash of its newest event.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn digest(&self) -> Result<Digest, StoreError> {
        Ok(self
            .inner
            .backend
            .last_event()
            .await?
            .map_or(Digest::EMPTY, |e| Digest {
                position: e.position,
                hash: e.hash,
            }))
    }

    /// The newest position this process knows of (written here, or
    /// announced by another process on PostgreSQL). Cheap; no I/O.
    pub fn known_head(&self) -> u64 {
        *self.inner.head.borrow()
    }

    /// What the servers applying views on this PostgreSQL database
    /// announce after each write of a served view, `VIEW:POSITION` (sent
    /// on [`VIEWS_CHANNEL`], ADR 0029): how a standby learns how far a
    /// view is without asking. Nothing on SQLite, where one process
    /// applies every view.
    pub fn view_notices(&self) -> broadcast::Receiver<Arc<str>> {
        self.inner.notices.subscribe()
    }

    /// The streams other processes on this PostgreSQL database wrote, a
    /// line each, as they announce them (a line `*` stands for every
    /// stream: more than one notification holds, or some were missed), so
    /// that states kept of them are dropped before they are used (ADR
    /// 0041). Nothing on SQLite, where one process writes.
    pub fn written_elsewhere(&self) -> broadcast::Receiver<Arc<str>> {
        self.inner.elsewhere.subscribe()
    }

    /// A receiver that changes whenever the known head moves.
    pub fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.head.subscribe()
    }

    /// What the append with `request_id` wrote, if one was made.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn find_request(&self, request_id: &str) -> Result<Option<AppendResult>, StoreError> {
        Ok(self
            .inner
            .backend
            .find_request(request_id)
            .await?
            .map(|r| AppendResult {
                stream_id: StreamId::from_stored(r.stream_id),
                first_version: r.first_version,
                stream_version: r.last_version,
                first_position: r.first_position,
                position: r.last_position,
                duplicate: true,
            }))
    }

    /// The position a named reader (process manager) has handled, 0 at first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn checkpoint(&self, name: &str) -> Result<u64, StoreError> {
        self.inner.backend.checkpoint(name).await
    }

    /// Records the position a named reader has handled. A checkpoint never
    /// moves back: saving a position before the one recorded (a slower
    /// server's reader, on a log shared by several) leaves it where it is.
    ///
    /// # Errors
    /// Storage failures; a position out of range.
    pub async fn save_checkpoint(&self, name: &str, position: u64) -> Result<(), StoreError> {
        let position = check_i64("position", position)?;
        self.inner.backend.save_checkpoint(name, position).await
    }

    /// A named reader's checkpoint with the state it saved there (what it
    /// folded of the log up to that position), if it saved one.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn checkpoint_state(&self, name: &str) -> Result<Option<(u64, String)>, StoreError> {
        self.inner.backend.checkpoint_state(name).await
    }

    /// Records a named reader's position with the state it folded up to
    /// it; like the position alone, it never replaces a later one.
    ///
    /// # Errors
    /// Storage failures; a position out of range.
    pub async fn save_checkpoint_state(
        &self,
        name: &str,
        position: u64,
        state: &str,
    ) -> Result<(), StoreError> {
        let position = check_i64("position", position)?;
        self.inner
            .backend
            .save_checkpoint_state(name, position, state)
            .await
    }

    /// Saves a snapshot of a stream's state. Snapshots are a cache: saving
    /// replaces the previous one of the same schema version. The snapshot
    /// records the position and chain hash of the stream's event at its
    /// version and the hash of its own bytes, which loading checks.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a version out of range or one the
    /// stream has not reached; storage failures.
    pub async fn save_snapshot(
        &self,
        stream: &StreamId,
        schema_version: u32,
        snapshot: &StoredSnapshot,
    ) -> Result<(), StoreError> {
        check_i64("stream_version", snapshot.stream_version)?;
        let Some(event) = self
            .read_stream(
                stream,
                Direction::Forward,
                Some(snapshot.stream_version.max(1)),
                1,
            )
            .await?
            .pop()
            .filter(|e| e.stream_version == snapshot.stream_version)
        else {
            return Err(StoreError::invalid(
                "stream_version",
                format!(
                    "{stream} has no event at version {}; a snapshot reflects an event of its stream",
                    snapshot.stream_version
                ),
            ));
        };
        let schema_version = i64::from(schema_version);
        let state_hash = snapshot::state_hash(
            stream.as_str(),
            schema_version,
            snapshot.stream_version,
            event.position,
            &event.hash,
            &snapshot.state,
        );
        self.inner
            .backend
            .save_snapshot(&snapshot::CheckedSnapshot {
                stream_id: stream.as_str().to_owned(),
                schema_version,
                stream_version: snapshot.stream_version,
                state: snapshot.state.clone(),
                position: event.position,
                chain_hash: event.hash.to_vec(),
                state_hash: state_hash.to_vec(),
                event: None,
            })
            .await
    }

    /// A stream's snapshot for `schema_version`, decoded, and every event
    /// after it, oldest first, as far as loading the stream needs them
    /// ([`StreamEvent`]): read in one round trip on PostgreSQL. A missing
    /// snapshot, one of another schema version, one newer than the stream
    /// (stale) or one that does not decode is `None`, and then the events
    /// are all of the stream's. So is a snapshot that fails its check
    /// against the log (another event at its version, or bytes that no
    /// longer match its hash): it is logged and counted
    /// ([`EventStore::bad_snapshots_ignored`]).
    ///
    /// # Errors
    /// Storage failures only.
    pub async fn read_from_snapshot<S: serde::de::DeserializeOwned>(
        &self,
        stream: &StreamId,
        schema_version: u32,
    ) -> Result<(Option<(u64, S)>, Vec<StreamEvent>), StoreError> {
        let (stored, mut events) = self
            .inner
            .backend
            .snapshot_and_events(stream, i64::from(schema_version), MAX_READ_LIMIT)
            .await?;
        let stored = match stored.as_ref().map(|s| (s, s.fault())) {
            Some((s, Some(fault))) => {
                self.inner
                    .bad_snapshots
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(
                    %stream,
                    stream_version = s.stream_version,
                    %fault,
                    "ignoring a snapshot that does not match the log; folding the events instead"
                );
                if events.first().is_none_or(|e| e.stream_version != 1) {
                    // On PostgreSQL the events came after the snapshot's version.
                    let all = self.read_stream_after(stream, 0).await?;
                    return Ok((None, all.into_iter().map(StreamEvent::from).collect()));
                }
                None
            }
            _ => stored,
        };
        let since = stored.as_ref().map_or(0, |s| s.stream_version);
        let snapshot = match stored.map(|s| (s.stream_version, serde_json::from_str(&s.state))) {
            None => None,
            Some((version, Ok(state))) => Some((version, state)),
            Some((_, Err(err))) => {
                tracing::warn!(%stream, error = %err, "ignoring a snapshot that does not decode");
                let events = self.read_stream_after(stream, 0).await?;
                return Ok((None, events.into_iter().map(StreamEvent::from).collect()));
            }
        };
        let read_to = since + MAX_READ_LIMIT as u64;
        if reached(events.last().map(|e| e.stream_version), read_to + 1) {
            let rest = self.read_stream_after(stream, read_to).await?;
            events.extend(rest.into_iter().map(StreamEvent::from));
        }
        Ok((snapshot, events))
    }

    /// The events of a stream recorded at or before `at`, oldest first:
    /// what the stream was at that moment.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn read_stream_as_of(
        &self,
        stream: &StreamId,
        at: DateTime<Utc>,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = self.read_stream_to_end(stream).await?;
        events.retain(|e| e.recorded_at <= at);
        Ok(events)
    }

    /// The events of a stream whose facts happened by `at` (their
    /// effective time, [`RecordedEvent::occurred_at`], ADR 0030), in the
    /// log's order.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn read_stream_effective_as_of(
        &self,
        stream: &StreamId,
        at: DateTime<Utc>,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = self.read_stream_to_end(stream).await?;
        events.retain(|e| e.occurred_at() <= at);
        Ok(events)
    }
}

/// Runs the SQLite log's writer on a thread of its own, with a runtime of
/// its own that has only this task: its batches block on the disk inline
/// (see [`sqlite_writer::blocking`]) instead of handing the worker's core to
/// another thread at every batch, and an append wakes one parked thread
/// (ADR 0042). The thread ends when the last [`EventStore`] clone is gone.
fn spawn_appender(writer: impl Future<Output = ()> + Send + 'static) -> Result<(), StoreError> {
    let failed =
        |e: std::io::Error| StoreError::Unavailable(format!("the log's writer did not start: {e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(failed)?;
    std::thread::Builder::new()
        .name("jejak-appender".into())
        .spawn(move || runtime.block_on(writer))
        .map_err(failed)?;
    Ok(())
}

async fn run_writer(
    backend: Backend,
    mut rx: mpsc::Receiver<Pending>,
    head: Arc<watch::Sender<u64>>,
    announce: Option<Announce>,
    mut known: Known,
    mut ledger: Ledger,
    max_batch: usize,
) {
    let mut pending = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut pending, max_batch).await > 0 {
        let (appends, replies): (Vec<_>, Vec<_>) =
            pending.drain(..).map(|p| (p.append, p.reply)).unzip();
        // Another process's commits, heard of on PostgreSQL, make what this
        // writer knows stale.
        if known.position().is_some_and(|p| *head.borrow() > p) {
            known.forget();
        }
        match backend
            .commit_batch(&appends, &mut known, &mut ledger)
            .await
        {
            Ok(Plan {
                outcomes,
                head_position: new_head,
                rows,
                ..
            }) => {
                if let Some(announce) = &announce {
                    announce.written.add(rows.iter().map(|row| row.stream_id));
                    announce.committed.send_replace(new_head);
                }
                head.send_if_modified(|known| {
                    let moved = new_head > *known;
                    if moved {
                        *known = new_head;
                    }
                    moved
                });
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(err) => {
                tracing::error!(error = %err, appends = appends.len(), "append batch failed");
                for reply in replies {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }
}
