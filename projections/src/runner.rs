//! The projection runner: applies the log to every view in batches, with
//! the checkpoint in the same transaction as the documents; catches up,
//! then follows; rebuilds beside the serving generation; reports status.
//!
//! On PostgreSQL with several servers, each view is applied by the one
//! process that holds its lease (ADR 0029); the others stand by and take
//! over from the checkpoint once it lapses. Every write checks the lease's
//! token in its transaction, and the checkpoint also moves only from the
//! position a batch started at, so even two appliers could never apply an
//! event twice.

use std::any::Any;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use jejak_engine::store::{EventStore, Lease, RecordedEvent, StoreError};
use serde::Serialize;
use tokio::sync::{Notify, broadcast, watch};
use uuid::Uuid;

use crate::db::{Db, Under};
use crate::projection::{Beside, Docs, Projection, ProjectionError};

/// Where a view stands.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum RunState {
    /// Not started yet.
    Starting,
    /// Another server applies this view; this one serves reads from it.
    Standby,
    /// Applying a backlog.
    CatchingUp,
    /// Caught up; applying new events as they come.
    Following,
    /// Building a new generation from zero while the old one serves.
    Rebuilding,
    /// Stopped at `position` with `error`.
    Failed {
        /// What went wrong.
        error: String,
        /// The event it went wrong on.
        position: u64,
    },
}

/// The status of one view.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    /// The view.
    pub name: String,
    /// The generation it serves.
    pub generation: i64,
    /// The last log position applied.
    pub position: u64,
    /// The log's head as known here.
    pub head: u64,
    /// Events not applied yet.
    pub lag_events: u64,
    /// How old the oldest unapplied event is, in seconds (0 when caught up).
    pub lag_seconds: f64,
    /// Its state.
    pub state: RunState,
    /// During a rebuild, how far the new generation has come.
    pub rebuild_position: Option<u64>,
}

/// Why waiting for a view did not succeed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum WaitError {
    /// No such view.
    #[error("there is no view named {0}")]
    UnknownView(String),
    /// The view did not get there in time.
    #[error(
        "view {view} reached position {reached}, not {wanted}, within {waited_ms} ms; retry shortly"
    )]
    Timeout {
        /// The view.
        view: String,
        /// The position asked for.
        wanted: u64,
        /// The position it reached.
        reached: u64,
        /// How long it was waited for.
        waited_ms: u64,
    },
    /// The view is stopped.
    #[error("view {view} is stopped at position {position}: {error}")]
    Failed {
        /// The view.
        view: String,
        /// Where it stopped.
        position: u64,
        /// Why.
        error: String,
    },
    /// Its database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Tunables of the runner.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// Events read and applied at a time.
    pub batch: usize,
    /// While a view catches up, its documents stay in memory and are written
    /// (with the checkpoint, in one transaction) once this many events were
    /// applied, or sooner when [`RunnerConfig::cached_docs`] of them
    /// changed. A view at the head of the log writes after every batch.
    pub write_every: usize,
    /// Documents a view keeps in memory between batches; as many changed
    /// ones are written at once.
    pub cached_docs: usize,
    /// How often a view looks for appends from other processes when no
    /// notification reaches it, and how often a standby tries to lead.
    pub poll: Duration,
    /// Pause before retrying after a database error.
    pub retry: Duration,
    /// How long a view's lease lasts without renewal (ADR 0029): a server
    /// that hangs stops applying after this, and another takes over
    /// within it and a fifth of it more (a standby tries that often).
    pub lease: Duration,
    /// This server, as the holder of leases. A server that restarts with
    /// the id it had takes its leases back at once instead of waiting for
    /// them to lapse (`jejak serve` keeps it in `DATA_DIR/server-id`).
    pub holder: Uuid,
    /// How long a view's stored checkpoint may stay behind what it has
    /// applied while the batches since changed none of its documents
    /// (ADR 0023): such a batch costs no write, and the checkpoint is
    /// written with the next batch that changes something, after this
    /// long, after [`RunnerConfig::write_every`] events, or when the view
    /// stops. A restart applies those events again, to the same documents.
    pub checkpoint_lag: Duration,
    /// The region's time zone: the register dates its trend by the
    /// region's year (ADR 0035). Changing it asks for `admin rebuild`.
    pub time_zone: chrono_tz::Tz,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            batch: 1_000,
            write_every: 20_000,
            cached_docs: 1_000,
            poll: Duration::from_millis(250),
            retry: Duration::from_secs(1),
            lease: Duration::from_secs(5),
            holder: Uuid::now_v7(),
            checkpoint_lag: Duration::from_secs(1),
            time_zone: chrono_tz::Asia::Jakarta,
        }
    }
}

struct Handle {
    status: watch::Receiver<Status>,
    rebuild: Arc<(AtomicBool, Notify)>,
    /// The view's change feed, a `broadcast::Sender<Arc<Change<P::Doc>>>`.
    feed: Box<dyn Any + Send + Sync>,
}

/// What a view's change feed tells ([`Runner::changes`]): each write this
/// process committed to the generation it serves, or that the view must be
/// read again. A follower of the feed pays for what changed, not for the
/// whole view.
#[derive(Debug)]
pub enum Change<D> {
    /// These documents changed (`None`: removed), in the write that moved
    /// the view to `position`.
    Docs {
        /// The view's checkpoint after the write.
        position: u64,
        /// The changed documents, by key.
        docs: Vec<(String, Option<D>)>,
    },
    /// The view may have changed in ways the feed did not tell (this
    /// process began to apply it, another process moved it, or a rebuilt
    /// generation is served now): read it again.
    Reset,
}

/// Changes a follower of a feed may fall behind by before it is told to
/// read the view again (`RecvError::Lagged`).
const FEED_CAPACITY: usize = 1_024;

/// Runs projections. Create one per server with [`Runner::new`], then
/// [`Runner::spawn`] each projection.
pub struct Runner {
    store: EventStore,
    db: Db,
    config: RunnerConfig,
    handles: Mutex<BTreeMap<&'static str, Handle>>,
    shutdown: watch::Sender<bool>,
    /// Batches read lately or being read, by the position they follow:
    /// views that catch up or rebuild side by side read the log once, not
    /// once each, and the batch after a full one is read while they apply it.
    recent: Mutex<VecDeque<Recent>>,
    /// Where each generation catching up reads, and when it got there.
    cursors: Mutex<HashMap<Reader, (u64, Instant)>>,
    /// Told whenever a cursor moves.
    moved: Notify,
    /// On PostgreSQL: how far each view is, as announced by the server
    /// applying it (ADR 0029), and told whenever an announcement arrives.
    announced: Mutex<HashMap<String, u64>>,
    heard: Notify,
    /// On PostgreSQL: how far the served views this process applies have
    /// moved without a write, for standbys (ADR 0023).
    announcer: Arc<Announcer>,
}

/// Announces to standbys, on PostgreSQL, the positions served views
/// reached with batches that changed none of their documents and so
/// wrote nothing (ADR 0023). What gathered while one announcement was
/// sent goes in the next, one statement for every view, committed
/// without waiting for the disk: it is a hint, and a standby that missed
/// it reads the stored checkpoint, written within
/// [`RunnerConfig::checkpoint_lag`].
#[derive(Debug, Default)]
struct Announcer {
    due: Mutex<BTreeMap<&'static str, u64>>,
    wake: Notify,
}

/// After an announcement, how long the next one gathers: under load the
/// views' quiet batches cost one announcement per this long, not one
/// each; after a quiet spell the first goes out at once.
const ANNOUNCE_GATHER: Duration = Duration::from_millis(5);

/// One announcement of several views' positions, `VIEW:POSITION` each, as
/// a view's write announces its own ([`Db::commit`]).
const ANNOUNCE: &str = "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, n) \
     FROM unnest($2::text[]) AS n";

impl Announcer {
    fn announce(&self, view: &'static str, position: u64) {
        let mut due = self
            .due
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = due.entry(view).or_default();
        *at = (*at).max(position);
        drop(due);
        self.wake.notify_one();
    }

    async fn run(self: Arc<Self>, pool: sqlx::PgPool, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = self.wake.notified() => {}
                _ = shutdown.changed() => return,
            }
            let due = std::mem::take(
                &mut *self
                    .due
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            if due.is_empty() {
                continue;
            }
            let notices: Vec<String> = due
                .iter()
                .map(|(view, position)| format!("{view}:{position}"))
                .collect();
            if let Err(err) = sqlx::query(ANNOUNCE)
                .bind(jejak_engine::store::VIEWS_CHANNEL)
                .bind(&notices)
                .execute(&pool)
                .await
            {
                tracing::debug!(error = %err, "could not announce the views' positions to standbys");
            }
            tokio::select! {
                () = tokio::time::sleep(ANNOUNCE_GATHER) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// One generation of a view reading the log: its name and generation.
type Reader = (&'static str, i64);

/// A read of one batch of the log, shared by every view that wants it.
type BatchRead = Shared<BoxFuture<'static, Result<Arc<Vec<RecordedEvent>>, StoreError>>>;

/// A batch read lately or being read: the position it follows, the head
/// this process knew when the read began (the batch holds at least every
/// event up to it), and the read.
#[derive(Clone)]
struct Recent {
    after: u64,
    head: u64,
    read: BatchRead,
}

/// Batches kept for views behind the one that read them, and read ahead.
const RECENT_BATCHES: usize = 12;

/// Full batches read ahead of a view catching up, side by side: positions
/// have no holes, so the batch after a full one starts where it ends.
const READ_AHEAD: u64 = 3;

/// How many batches a view catching up reads ahead of a slower one close
/// behind (within [`RECENT_BATCHES`]) before it waits for it: the slower one
/// then reuses what it read instead of reading the log again. One further
/// behind (a view rebuilt from zero while the others follow the head) reads
/// for itself and holds nobody back.
const LEAD_BATCHES: u64 = 4;

/// A view whose cursor has not moved for this long (it failed, waits for
/// its database, or stands by) is not waited for.
const STALLED: Duration = Duration::from_secs(1);

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// One generation of a view as this process applies it.
#[derive(Debug)]
struct Gen<D> {
    name: &'static str,
    generation: i64,
    /// The last position written, with the documents, to the database.
    position: u64,
    /// The last position applied to `docs` (at least `position`).
    applied: u64,
    /// How far the database's documents are the view: `position`, or past
    /// it where nothing applied after it changed a document. A batch that
    /// changes no document is not written (ADR 0023): the checkpoint alone
    /// would move, and a restart applies those events again to the same
    /// documents. On PostgreSQL, standbys learn `current` from an
    /// announcement instead of the stored checkpoint.
    current: u64,
    /// Since when the stored checkpoint is behind `current` with nothing
    /// to write: it is written once [`RunnerConfig::checkpoint_lag`] passed.
    lagging_since: Option<Instant>,
    last_recorded_at: Option<DateTime<Utc>>,
    /// The documents applied since `position` and those used lately.
    /// Valid while this process alone applies the view: a failed write of
    /// the checkpoint (another applier moved it) forgets them.
    docs: Docs<D>,
    /// For a generation this process applies from zero: the hashes of the
    /// keys it wrote, so that a document never written is known not to
    /// exist without asking the database. `None` once unknown (something
    /// failed, or more than [`WRITTEN_KEYS`] were written).
    written: Option<HashSet<u64>>,
    /// The write on its way to the database while the view applies on.
    pending: Option<Pending<D>>,
    /// Where the view's committed writes are told, for the generation
    /// served (none for one being rebuilt).
    feed: Option<broadcast::Sender<Arc<Change<D>>>>,
    /// The lease this generation's writes are made under (ADR 0029).
    lease: Option<Lease>,
    /// What the view keeps beside each document (ADR 0033).
    beside: fn(&D) -> Beside,
}

/// A view's write committing in the background: the checkpoint moves to
/// `to` when it lands.
#[derive(Debug)]
struct Pending<D> {
    to: u64,
    /// Hashes of the keys it writes, for [`Gen::written`].
    keys: Vec<u64>,
    /// The documents it writes, for the change feed when it is followed.
    docs: Option<Vec<(String, Option<D>)>>,
    commit: tokio::task::JoinHandle<Result<bool, StoreError>>,
}

/// Keys whose writes a generation applied from zero remembers.
const WRITTEN_KEYS: usize = 1_000_000;

/// A key's hash for [`Gen::written`]: two keys sharing one only cost a
/// needless lookup.
fn key_hash(key: &str) -> u64 {
    use std::hash::{BuildHasher as _, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(key)
}

impl<D: Clone> Gen<D> {
    fn at(name: &'static str, generation: i64, position: u64, beside: fn(&D) -> Beside) -> Self {
        Self {
            beside,
            name,
            generation,
            position,
            applied: position,
            current: position,
            lagging_since: None,
            last_recorded_at: None,
            docs: Docs::default(),
            written: (position == 0).then(HashSet::new),
            pending: None,
            feed: None,
            lease: None,
        }
    }

    /// Drops what was applied and not written.
    fn forget(&mut self) {
        self.docs.clear();
        self.written = None;
        self.applied = self.position;
        self.current = self.position;
        self.lagging_since = None;
    }
}

enum StepError {
    Apply(u64, ProjectionError),
    Store(StoreError),
}

impl From<StoreError> for StepError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

/// The name of a view's lease.
fn lease_name(view: &str) -> String {
    format!("view:{view}")
}

impl Runner {
    /// A runner for the views kept beside `store`'s log (creating their tables).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn new(store: EventStore, config: RunnerConfig) -> Result<Arc<Self>, StoreError> {
        let db = Db::open(&store).await?;
        let (shutdown, _) = watch::channel(false);
        let runner = Arc::new(Self {
            store,
            db,
            config,
            handles: Mutex::new(BTreeMap::new()),
            shutdown,
            recent: Mutex::new(VecDeque::new()),
            cursors: Mutex::new(HashMap::new()),
            moved: Notify::new(),
            announced: Mutex::new(HashMap::new()),
            heard: Notify::new(),
            announcer: Arc::default(),
        });
        if let Db::Postgres(pool) = &runner.db {
            tokio::spawn(
                runner
                    .announcer
                    .clone()
                    .run(pool.clone(), runner.shutdown.subscribe()),
            );
            let mut notices = runner.store.view_notices();
            let runner = Arc::downgrade(&runner);
            tokio::spawn(async move {
                loop {
                    match notices.recv().await {
                        Ok(notice) => {
                            let Some(runner) = runner.upgrade() else {
                                return;
                            };
                            if let Some((view, position)) = notice.rsplit_once(':')
                                && let Ok(position) = position.parse::<u64>()
                            {
                                runner.hear(view, position);
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            });
        }
        Ok(runner)
    }

    /// Another server announced that it wrote view `view` up to `position`.
    fn hear(&self, view: &str, position: u64) {
        let mut announced = self
            .announced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let known = announced.entry(view.to_owned()).or_default();
        *known = (*known).max(position);
        drop(announced);
        self.heard.notify_waiters();
    }

    /// How far view `view` is, as last announced by the server applying it.
    fn announced(&self, view: &str) -> u64 {
        self.announced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(view)
            .copied()
            .unwrap_or(0)
    }

    /// What the runner was started with.
    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// The log.
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Starts applying `projection`; it runs until [`Runner::shutdown`].
    pub fn spawn<P: Projection>(self: &Arc<Self>, projection: P) -> tokio::task::JoinHandle<()> {
        let (status_tx, status_rx) = watch::channel(Status {
            name: P::NAME.to_owned(),
            generation: 0,
            position: 0,
            head: self.store.known_head(),
            lag_events: 0,
            lag_seconds: 0.0,
            state: RunState::Starting,
            rebuild_position: None,
        });
        let rebuild = Arc::new((AtomicBool::new(false), Notify::new()));
        let (feed, _) = broadcast::channel::<Arc<Change<P::Doc>>>(FEED_CAPACITY);
        self.handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                P::NAME,
                Handle {
                    status: status_rx,
                    rebuild: rebuild.clone(),
                    feed: Box::new(feed.clone()),
                },
            );
        let runner = self.clone();
        tokio::spawn(async move { runner.run(projection, status_tx, rebuild, feed).await })
    }

    /// Stops every projection after its current batch.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// The status of every view.
    pub fn statuses(&self) -> Vec<Status> {
        let handles = self
            .handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        handles
            .values()
            .map(|h| h.status.borrow().clone())
            .collect()
    }

    /// Follows the status of view `name`.
    ///
    /// # Errors
    /// [`WaitError::UnknownView`].
    pub fn watch_status(&self, name: &str) -> Result<watch::Receiver<Status>, WaitError> {
        let handles = self
            .handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(handles
            .get(name)
            .ok_or_else(|| WaitError::UnknownView(name.to_owned()))?
            .status
            .clone())
    }

    /// Follows the change feed of view `P` from now on: every write this
    /// process commits to the generation it serves, with the documents it
    /// changed, and a [`Change::Reset`] whenever the view must be read
    /// again. While another process applies the view (standby), the feed
    /// is silent: watch [`Runner::watch_status`] for that. `None` when `P`
    /// was not spawned.
    pub fn changes<P: Projection>(&self) -> Option<broadcast::Receiver<Arc<Change<P::Doc>>>> {
        let handles = self
            .handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        handles
            .get(P::NAME)?
            .feed
            .downcast_ref::<broadcast::Sender<Arc<Change<P::Doc>>>>()
            .map(broadcast::Sender::subscribe)
    }

    /// Every document of the generation view `name` serves, by key, as
    /// stored JSON: for comparing and exporting views.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn documents(&self, name: &str) -> Result<Vec<(String, String)>, StoreError> {
        let generation = self.db.active(name).await?;
        self.db.scan(name, generation).await
    }

    /// The names of the views.
    pub fn names(&self) -> Vec<&'static str> {
        self.handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .copied()
            .collect()
    }

    /// Rebuilds a view from zero beside the one being served, then switches
    /// to it. A failed view restarts this way.
    ///
    /// # Errors
    /// [`WaitError::UnknownView`].
    pub fn rebuild(&self, name: &str) -> Result<(), WaitError> {
        let handles = self
            .handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let handle = handles
            .get(name)
            .ok_or_else(|| WaitError::UnknownView(name.to_owned()))?;
        handle.rebuild.0.store(true, Ordering::SeqCst);
        handle.rebuild.1.notify_one();
        Ok(())
    }

    /// Waits, at most `timeout`, until view `name` has applied `position`.
    ///
    /// # Errors
    /// [`WaitError`] when the view is unknown, failed, or too slow.
    pub async fn wait_for(
        &self,
        name: &str,
        position: u64,
        timeout: Duration,
    ) -> Result<(), WaitError> {
        let mut status = {
            let handles = self
                .handles
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            handles
                .get(name)
                .ok_or_else(|| WaitError::UnknownView(name.to_owned()))?
                .status
                .clone()
        };
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        // Standing by: what the leader announces wakes this (ADR 0029); the
        // database is asked now and then in case an announcement was lost (a
        // listener reconnecting), and first only when nothing was heard of
        // the view yet: right after a write (or for a fresh read) the
        // announcement is what tells, and asking first was two statements
        // per read on every standby (ADR 0041).
        let mut ask = self.announced(name) == 0;
        let mut asked_before_giving_up = false;
        loop {
            let heard = self.heard.notified();
            tokio::pin!(heard);
            heard.as_mut().enable();
            let current = status.borrow_and_update().clone();
            let reached = match current.state {
                RunState::Failed {
                    error,
                    position: at,
                } => {
                    return Err(WaitError::Failed {
                        view: name.to_owned(),
                        position: at,
                        error,
                    });
                }
                // Another process applies it.
                RunState::Standby | RunState::Starting => {
                    let announced = self.announced(name);
                    if announced < position && std::mem::take(&mut ask) {
                        let generation = self.db.active(name).await?;
                        self.db.checkpoint(name, generation).await?.max(announced)
                    } else {
                        announced
                    }
                }
                _ => current.position,
            };
            if reached >= position {
                return Ok(());
            }
            let standby = matches!(current.state, RunState::Standby | RunState::Starting);
            tokio::select! {
                _ = status.changed() => {}
                () = &mut heard, if standby => {}
                () = tokio::time::sleep(self.config.poll), if standby => { ask = true; }
                () = tokio::time::sleep_until(deadline) => {
                    // A lost announcement must not make a standby give up
                    // without asking the database once.
                    if standby && !std::mem::replace(&mut asked_before_giving_up, true) {
                        ask = true;
                        continue;
                    }
                    return Err(WaitError::Timeout {
                        view: name.to_owned(),
                        wanted: position,
                        reached,
                        waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    });
                }
            }
        }
    }

    /// The view stopped reading (it failed, or waits to retry): the others
    /// do not wait for it.
    fn stop_reading(&self, view: &str) {
        self.cursors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(name, _), _| *name != view);
        self.moved.notify_waiters();
    }

    /// Starts reading the batch after `after`, on a task of its own.
    fn start_read(&self, after: u64) -> Recent {
        let head = self.store.known_head();
        let store = self.store.clone();
        let limit = self.config.batch;
        let read = tokio::spawn(async move { store.read_all(after, limit).await.map(Arc::new) });
        let read = async move {
            read.await
                .map_err(|e| StoreError::Internal(format!("reading the log stopped: {e}")))?
        }
        .boxed()
        .shared();
        Recent { after, head, read }
    }

    /// The batch of events after `after`: read once for every view, and
    /// after a full batch, the next one is read while the views apply it.
    /// `seen` is the head the view knew when it looked: a short batch (the
    /// log's end, as it was when the read began) is shared only by views
    /// that knew no later head, so that none misses what woke it.
    async fn read_batch(
        &self,
        reader: Reader,
        after: u64,
        seen: u64,
    ) -> Result<Arc<Vec<RecordedEvent>>, StoreError> {
        let recent = || {
            self.recent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let cursors = || {
            self.cursors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        cursors().insert(reader, (after, Instant::now()));
        self.moved.notify_waiters();
        // Ahead of a view close behind, wait for it first. Not for the
        // other generation of the same view: one task applies both, one
        // batch of each in turn.
        let lead = LEAD_BATCHES * self.config.batch as u64;
        let close = RECENT_BATCHES as u64 * self.config.batch as u64;
        let within_lead = |position: u64| {
            cursors()
                .iter()
                .filter(|((view, _), (_, at))| *view != reader.0 && at.elapsed() < STALLED)
                .all(|(_, (other, _))| position <= other + lead || position > other + close)
        };
        loop {
            let moved = self.moved.notified();
            if within_lead(after) {
                break;
            }
            tokio::select! {
                () = moved => {}
                () = tokio::time::sleep(STALLED / 4) => {}
            }
        }
        let size = self.config.batch;
        let keep = |recent: &mut VecDeque<Recent>, read: Recent| {
            recent.retain(|r| r.after != read.after);
            recent.push_back(read);
            if recent.len() > RECENT_BATCHES {
                recent.pop_front();
            }
        };
        // A read this view may use: not one that failed, nor one that ended
        // at a head older than the one this view knew.
        let usable = |r: &Recent| match r.read.peek() {
            Some(Ok(batch)) => batch.len() == size || r.head >= seen,
            Some(Err(_)) => false,
            None => true,
        };
        let mut read = {
            let mut recent = recent();
            match recent.iter().find(|r| r.after == after && usable(r)) {
                Some(r) => r.clone(),
                None => {
                    let read = self.start_read(after);
                    keep(&mut recent, read.clone());
                    read
                }
            }
        };
        let mut batch = read.read.clone().await;
        if matches!(&batch, Ok(b) if b.len() < size && read.head < seen) {
            // Shared with a view that began reading before this one knew
            // of the newest events: read again.
            read = self.start_read(after);
            keep(&mut recent(), read.clone());
            batch = read.read.clone().await;
        }
        match batch {
            Ok(batch) if batch.len() == size => {
                if let Some(last) = batch.last() {
                    let size = size as u64;
                    let head = self.store.known_head();
                    // The next batch, and those after it the log holds whole.
                    let ahead = (0..READ_AHEAD)
                        .map(|k| last.position + k * size)
                        .take_while(|&at| at == last.position || at + size <= head)
                        .take_while(|&at| within_lead(at));
                    for at in ahead.collect::<Vec<_>>() {
                        let mut recent = recent();
                        let pending_or_full = |r: &Recent| {
                            r.read
                                .peek()
                                .is_none_or(|b| b.as_ref().is_ok_and(|b| b.len() == size as usize))
                        };
                        if !recent.iter().any(|r| r.after == at && pending_or_full(r)) {
                            let next = self.start_read(at);
                            keep(&mut recent, next);
                        }
                    }
                }
                Ok(batch)
            }
            // A short batch ends at the head of the log as it was when it
            // was read; it stays for the views that knew no later head. An
            // error is not kept. The view has caught up (or failed): nobody
            // waits for it.
            other => {
                if other.is_err() {
                    recent().retain(|r| r.after != after);
                }
                cursors().remove(&reader);
                self.moved.notify_waiters();
                other
            }
        }
    }

    /// Takes the view's lease, if no other process holds it.
    async fn lead(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        self.store
            .acquire_lease(&lease_name(name), self.config.holder, self.config.lease)
            .await
    }

    /// Asks the server that applies view `name` to rebuild it, when this
    /// one stands by (ADR 0029). False when nobody holds its lease now.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn request_rebuild(&self, name: &str) -> Result<bool, StoreError> {
        self.store.request_rebuild(&lease_name(name)).await
    }

    /// Every view's lease, as the database holds them (none on SQLite).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn leases(&self) -> Result<Vec<jejak_engine::store::LeaseRow>, StoreError> {
        self.store.leases().await
    }

    /// This process, as the holder of leases (ADR 0029).
    #[must_use]
    pub fn holder(&self) -> Uuid {
        self.config.holder
    }

    /// Applies the next batch to `view`, and writes it when the view is at
    /// the head of the log or has held enough in memory. Returns how many
    /// events were applied.
    async fn step<P: Projection>(
        &self,
        projection: &P,
        view: &mut Gen<P::Doc>,
        seen: u64,
    ) -> Result<usize, StepError> {
        let batch = self
            .read_batch((view.name, view.generation), view.applied, seen)
            .await?;
        let Some(last) = batch.last() else {
            // At the head: anything still held is written now.
            self.write(view, false).await?;
            self.settle(view).await?;
            return Ok(0);
        };
        view.docs.next_batch();
        let mut keys: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for event in batch.iter() {
            for key in projection.keys(event) {
                if !view.docs.touch(&key) && seen.insert(key.clone()) {
                    keys.push(key);
                }
            }
        }
        // Documents this process never wrote to a generation it started
        // from zero do not exist: only the others are looked up.
        let (keys, absent): (Vec<String>, Vec<String>) = match &view.written {
            Some(written) => keys
                .into_iter()
                .partition(|key| written.contains(&key_hash(key))),
            None => (keys, Vec::new()),
        };
        for key in absent {
            view.docs.absent(key);
        }
        for (key, doc) in self.db.load(P::NAME, view.generation, &keys).await? {
            match serde_json::from_str(&doc) {
                Ok(doc) => {
                    let stored = P::beside(&doc);
                    view.docs.loaded(key, doc, stored);
                }
                Err(e) => {
                    self.forget(view).await;
                    return Err(StepError::Apply(
                        view.applied + 1,
                        ProjectionError(format!(
                            "stored document {key} does not decode: {e}; rebuild the view"
                        )),
                    ));
                }
            }
        }
        for key in keys {
            view.docs.absent(key);
        }
        for event in batch.iter() {
            if let Err(e) = projection.apply(event, &mut view.docs) {
                self.forget(view).await;
                return Err(StepError::Apply(event.position, e));
            }
        }
        view.applied = last.position;
        view.last_recorded_at = Some(last.recorded_at);
        let at_head = batch.len() < self.config.batch;
        if at_head {
            self.write(view, false).await?;
            self.settle(view).await?;
        } else if view.applied - view.position >= self.config.write_every as u64
            || view.docs.dirty() >= self.config.cached_docs
        {
            self.write(view, false).await?;
        }
        Ok(batch.len())
    }

    /// Starts writing the documents changed since the view's checkpoint,
    /// moving the checkpoint to what was applied, in one transaction, once
    /// the write before it has landed. The view applies on meanwhile: its
    /// documents stay held until [`Runner::settle`] learns the outcome, so
    /// none is looked up in the database before it is there.
    ///
    /// What applied since the checkpoint changed no document: nothing is
    /// written (ADR 0023) until [`RunnerConfig::checkpoint_lag`] or
    /// [`RunnerConfig::write_every`] events have passed, or `now` (the view
    /// stops); the view answers for those events at once, and on
    /// PostgreSQL its standbys hear of them by an announcement.
    async fn write<D: Clone + serde::Serialize>(
        &self,
        view: &mut Gen<D>,
        now: bool,
    ) -> Result<(), StepError> {
        self.settle(view).await?;
        if view.applied == view.position {
            return Ok(());
        }
        if !now
            && view.docs.dirty() == 0
            && view.applied - view.position < self.config.write_every as u64
            && view
                .lagging_since
                .get_or_insert_with(Instant::now)
                .elapsed()
                < self.config.checkpoint_lag
        {
            if view.current < view.applied {
                view.current = view.applied;
                if view.feed.is_some() && matches!(self.db, Db::Postgres(_)) {
                    self.announcer.announce(view.name, view.current);
                }
            }
            return Ok(());
        }
        view.lagging_since = None;
        let follow = view.feed.as_ref().is_some_and(|f| f.receiver_count() > 0);
        let taken = view.docs.take_writes(follow, view.beside);
        let (writes, counts, docs) = (taken.writes, taken.counts, taken.kept);
        let keys = match view.written {
            Some(_) => writes.iter().map(|w| key_hash(&w.key)).collect(),
            None => Vec::new(),
        };
        let (db, name, generation) = (self.db.clone(), view.name, view.generation);
        let (from, to) = (view.position, view.applied);
        let lease = view.lease.clone();
        let announce = view.feed.is_some();
        let commit = tokio::spawn(async move {
            db.commit(
                name,
                generation,
                &writes,
                &counts,
                i64::try_from(from).unwrap_or(i64::MAX),
                i64::try_from(to).unwrap_or(i64::MAX),
                Under {
                    lease: lease.as_ref(),
                    announce,
                },
            )
            .await
        });
        view.pending = Some(Pending {
            to,
            keys,
            docs: follow.then_some(docs),
            commit,
        });
        Ok(())
    }

    /// Drops what the view applied and did not write, once its write in
    /// flight has landed or failed: it applies again from the checkpoint
    /// that write left.
    async fn forget<D: Clone>(&self, view: &mut Gen<D>) {
        let _ = self.settle(view).await;
        view.forget();
    }

    /// Waits for the view's write in flight, if any, and takes its outcome.
    async fn settle<D: Clone>(&self, view: &mut Gen<D>) -> Result<(), StepError> {
        let Some(pending) = view.pending.take() else {
            return Ok(());
        };
        let written = pending
            .commit
            .await
            .unwrap_or_else(|e| Err(StoreError::Internal(format!("a view's write stopped: {e}"))));
        match written {
            Ok(true) => {
                view.position = pending.to;
                view.current = view.current.max(pending.to);
                if let (Some(feed), Some(docs)) = (&view.feed, pending.docs) {
                    let _ = feed.send(Arc::new(Change::Docs {
                        position: pending.to,
                        docs,
                    }));
                }
                if let Some(written) = &mut view.written {
                    written.extend(pending.keys);
                    if written.len() > WRITTEN_KEYS {
                        view.written = None;
                    }
                }
                view.docs.shrink_to(self.config.cached_docs);
                Ok(())
            }
            Ok(false) => {
                tracing::warn!(
                    view = view.name,
                    "another process moved this view's checkpoint; reloading it"
                );
                view.docs.clear();
                view.written = None;
                if let Some(feed) = &view.feed {
                    let _ = feed.send(Arc::new(Change::Reset));
                }
                view.position = self.db.checkpoint(view.name, view.generation).await?;
                view.applied = view.position;
                view.current = view.position;
                Ok(())
            }
            Err(err) => {
                // Written or not, the documents held are no longer known
                // to match the database.
                view.forget();
                Err(err.into())
            }
        }
    }

    fn publish<D>(
        &self,
        status: &watch::Sender<Status>,
        name: &str,
        live: &Gen<D>,
        building: Option<&Gen<D>>,
        state: RunState,
    ) {
        let head = self.store.known_head().max(live.current);
        let lag_events = head - live.current;
        let lag_seconds = match (lag_events, live.last_recorded_at) {
            (0, _) | (_, None) => 0.0,
            (_, Some(at)) => (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0,
        };
        status.send_replace(Status {
            name: name.to_owned(),
            generation: live.generation,
            position: live.current,
            head,
            lag_events,
            lag_seconds,
            state,
            rebuild_position: building.map(|b| b.current),
        });
    }

    async fn run<P: Projection>(
        self: Arc<Self>,
        projection: P,
        status: watch::Sender<Status>,
        rebuild: Arc<(AtomicBool, Notify)>,
        feed: broadcast::Sender<Arc<Change<P::Doc>>>,
    ) {
        let mut shutdown = self.shutdown.subscribe();
        'lead: loop {
            // Become the one process that applies this view.
            let lead = loop {
                if *shutdown.borrow() {
                    return;
                }
                match self.lead(P::NAME).await {
                    Ok(Some(lead)) => break lead,
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(view = P::NAME, error = %err, "cannot reach the database to lead this view")
                    }
                }
                let mut current = status.borrow().clone();
                let was = std::mem::replace(&mut current.state, RunState::Standby);
                // How far the leader is, as it announced, against the head
                // this server knows (ADR 0029).
                current.position = current.position.max(self.announced(P::NAME));
                current.head = self.store.known_head().max(current.position);
                current.lag_events = current.head - current.position;
                status.send_replace(current);
                if was != RunState::Standby {
                    // Followers of the feed learn of changes from the log's head now.
                    let _ = feed.send(Arc::new(Change::Reset));
                }
                tokio::select! {
                    () = tokio::time::sleep(self.standby_poll()) => {}
                    _ = shutdown.changed() => return,
                }
            };
            let mut lease = lead;
            let (generation, position) = match async {
                let generation = self.db.active(P::NAME).await?;
                Ok::<_, StoreError>((generation, self.db.checkpoint(P::NAME, generation).await?))
            }
            .await
            {
                Ok(found) => found,
                Err(err) => {
                    tracing::warn!(view = P::NAME, error = %err, "cannot read the view's checkpoint; retrying");
                    tokio::time::sleep(self.config.retry).await;
                    continue 'lead;
                }
            };
            let mut live = Gen::at(P::NAME, generation, position, P::beside);
            live.lease = Some(lease.clone());
            // Whatever another process (or an earlier lead) did is not in
            // the feed: its followers read the view again.
            live.feed = Some(feed.clone());
            let _ = feed.send(Arc::new(Change::Reset));
            let mut building: Option<Gen<P::Doc>> = None;
            let mut head = self.store.watch_head();
            'follow: loop {
                if *shutdown.borrow() {
                    break 'follow;
                }
                // Renew the lease in time; stop at once when it is lost or
                // has run out (ADR 0029).
                if lease.due() {
                    match self.store.renew_lease(&mut lease).await {
                        Ok(_) => {
                            if lease.take_request() {
                                // A standby was asked to rebuild it.
                                rebuild.0.store(true, Ordering::SeqCst);
                            }
                        }
                        Err(err) => {
                            tracing::warn!(view = P::NAME, error = %err, "cannot renew this view's lease");
                        }
                    }
                }
                if !lease.live() {
                    tracing::warn!(
                        view = P::NAME,
                        "this view's lease lapsed; another server may apply it now"
                    );
                    self.forget(&mut live).await;
                    self.stop_reading(P::NAME);
                    continue 'lead;
                }
                // The head as known now: what moves it from here on wakes
                // the view again.
                let seen = *head.borrow_and_update();
                if rebuild.0.swap(false, Ordering::SeqCst) {
                    let next = live
                        .generation
                        .max(building.as_ref().map_or(0, |b| b.generation))
                        + 1;
                    if let Some(old) = building.take()
                        && let Err(err) = self.db.drop_generation(P::NAME, old.generation).await
                    {
                        tracing::warn!(view = P::NAME, error = %err, "dropping an unfinished generation failed");
                    }
                    tracing::info!(view = P::NAME, generation = next, "rebuilding from zero");
                    let mut rebuilt = Gen::at(P::NAME, next, 0, P::beside);
                    rebuilt.lease = Some(lease.clone());
                    building = Some(rebuilt);
                }
                let mut worked = 0;
                let mut outcome = Ok(());
                let mut built = false;
                if let Some(b) = building.as_mut() {
                    match self.step(&projection, b, seen).await {
                        Ok(n) => {
                            worked += n;
                            if n == 0 && b.current >= live.current {
                                match self.db.activate(P::NAME, b.generation, Some(&lease)).await {
                                    Ok(()) => {
                                        tracing::info!(
                                            view = P::NAME,
                                            generation = b.generation,
                                            "rebuilt; now serving it"
                                        );
                                        built = true;
                                    }
                                    Err(err) => outcome = Err(StepError::Store(err)),
                                }
                            }
                        }
                        Err(err) => outcome = Err(err),
                    }
                }
                if built && let Some(b) = building.take() {
                    live = b;
                    live.feed = Some(feed.clone());
                    let _ = feed.send(Arc::new(Change::Reset));
                }
                // Whether the log may hold more than what was applied: a
                // full batch was read, or a rebuild goes on (it is served
                // once a read finds nothing more).
                let mut more = building.is_some();
                if outcome.is_ok() {
                    match self.step(&projection, &mut live, seen).await {
                        Ok(n) => {
                            worked += n;
                            more |= n == self.config.batch;
                        }
                        Err(err) => outcome = Err(err),
                    }
                }
                match outcome {
                    Ok(()) => {
                        let state = if building.is_some() {
                            RunState::Rebuilding
                        } else if self.store.known_head().saturating_sub(live.current)
                            > self.config.batch as u64
                        {
                            RunState::CatchingUp
                        } else {
                            RunState::Following
                        };
                        self.publish(&status, P::NAME, &live, building.as_ref(), state);
                    }
                    Err(StepError::Apply(position, err)) => {
                        tracing::error!(view = P::NAME, position, error = %err, "the view stopped");
                        self.stop_reading(P::NAME);
                        self.publish(
                            &status,
                            P::NAME,
                            &live,
                            None,
                            RunState::Failed {
                                error: err.0,
                                position,
                            },
                        );
                        // Wait for a rebuild request (or shutdown), then start
                        // over: the flag is the request, the notification only
                        // wakes (a wake left from a request already served is
                        // not another).
                        loop {
                            tokio::select! {
                                () = rebuild.1.notified() => {}
                                _ = shutdown.changed() => break 'follow,
                            }
                            if rebuild.0.load(Ordering::SeqCst) {
                                break;
                            }
                        }
                        building = None;
                        continue;
                    }
                    Err(StepError::Store(err)) => {
                        tracing::warn!(view = P::NAME, error = %err, "the view's database failed; retrying");
                        self.stop_reading(P::NAME);
                        tokio::select! {
                            () = tokio::time::sleep(self.config.retry) => {}
                            _ = shutdown.changed() => break 'follow,
                        }
                        continue 'lead;
                    }
                }
                if worked > 0 && more {
                    continue;
                }
                // Caught up, with the log's end as it was when the view
                // looked: wait for news. An append since moved the head, and
                // the view looks again at once.
                tokio::select! {
                    _ = head.changed() => {}
                    () = tokio::time::sleep(self.config.poll) => {}
                    // Only wakes: the flag is the request, and a wake left
                    // from a request already taken must not start a second
                    // rebuild.
                    () = rebuild.1.notified() => {}
                    _ = shutdown.changed() => break 'follow,
                }
            }
            // Stopping: let the last write land, with the checkpoint of
            // what changed nothing since, then give the lease up so that
            // another server takes over at once.
            if lease.live() {
                let _ = self.write(&mut live, true).await;
            }
            let _ = self.settle(&mut live).await;
            if let Err(err) = self.store.release_lease(&lease).await {
                tracing::warn!(view = P::NAME, error = %err, "could not give this view's lease up; it lapses by itself");
            }
            return;
        }
    }

    /// How often a standby tries to take a view's lease: a fifth of its
    /// length on a shared log; on SQLite this process takes it at once.
    fn standby_poll(&self) -> Duration {
        match self.db {
            Db::Postgres(_) => self.config.lease / 5,
            Db::Sqlite(..) => self.config.poll,
        }
    }
}
