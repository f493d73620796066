//! Command handling: load a stream (snapshot plus newer events), decide,
//! append with the expected version; on a conflict decide again on the
//! fresh state, a bounded number of times. Idempotent by request id. Also
//! time travel (a stream as of a version or a moment) and the persistent
//! registry of workflow definitions.

use std::sync::Arc;

use tokio::sync::broadcast;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod preview;

use crate::clock::{Clock, SystemClock};
use crate::codec::{DecodeError, decode, decode_with, encode, encode_with};
use crate::domain::{Actor, Aggregate, Command, DomainError};
use crate::privacy::fields::{Keyring, Unready, open_tree, seal_tree};
use crate::privacy::{MasterKey, Privacy};
use crate::states::States;
use crate::store::{
    AppendRequest, AppendResult, Direction, EventStore, ExpectedVersion, Metadata, StoreError,
    StoredSnapshot, StreamId,
};
use crate::turns::Turns;
use crate::workflow::{Workflow, WorkflowError, WorkflowKind, WorkflowRef, WorkflowRegistry};

/// One event of a stream as [`Engine::history`] reads it: what it says,
/// who wrote it and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded<E> {
    /// Its version in the stream.
    pub version: u64,
    /// Its position in the log.
    pub position: u64,
    /// When the log recorded it.
    pub recorded_at: DateTime<Utc>,
    /// When the fact happened: `recorded_at` unless the command was
    /// backdated (ADR 0030).
    pub occurred_at: DateTime<Utc>,
    /// Who acted (a person id or user id), when a person did.
    pub actor_id: Option<String>,
    /// In which role.
    pub actor_role: Option<String>,
    /// The event.
    pub event: E,
}

/// The stream that records every registered workflow definition.
pub const WORKFLOW_STREAM: &str = "workflows";

/// Why a command did not go through.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The domain refused it.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store failed or refused the append.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A workflow definition is invalid, unknown or changed.
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// A stored event could not be read back.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The request id was used before for another command (another kind
    /// of command, or other arguments).
    #[error(
        "request id {request_id} already used for another command; send a new request id for a new command"
    )]
    RequestIdReused {
        /// The request id, as the caller sent it.
        request_id: String,
    },
    /// Other writers kept changing the stream.
    #[error(
        "stream {stream} kept changing under {attempts} attempts; retry the command with the same request id"
    )]
    Contention {
        /// The stream.
        stream: StreamId,
        /// Attempts made.
        attempts: usize,
    },
}

impl From<Unready> for CommandError {
    fn from(err: Unready) -> Self {
        match err {
            Unready::Erased(_) => DomainError::invalid("participant", err.to_string()).into(),
            Unready::NoKey(_) | Unready::Damaged(_) | Unready::NoOwner => {
                StoreError::Internal(err.to_string()).into()
            }
        }
    }
}

/// Who issues a command, under which request id, and why.
#[derive(Clone, Debug)]
pub struct Context {
    /// Who acts.
    pub actor: Actor,
    /// Makes the command idempotent.
    pub request_id: String,
    /// Groups the events of one user action across streams.
    pub correlation_id: Option<String>,
    /// The event that caused this command (process managers).
    pub causation_id: Option<String>,
    /// What the command is (a hash of its kind and arguments): a request
    /// id repeated with another fingerprint is refused, not answered as a
    /// repeat. `None`: not checked.
    pub fingerprint: Option<String>,
    /// The stream version the caller saw (a form edited at version N);
    /// another version refuses the command instead of deciding it anew.
    pub expected_version: Option<u64>,
    /// When the fact happened, for a command written after the fact (a
    /// history, an import; ADR 0030): the command's time (the deciders'
    /// "today") and the events' [`Metadata::occurred_at`]. Never in the
    /// future; the log's own time (`recorded_at`) is never backdated.
    /// `None`: now.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl Context {
    /// A person's command.
    pub fn new(actor: Actor, request_id: impl Into<String>) -> Self {
        Self {
            actor,
            request_id: request_id.into(),
            correlation_id: None,
            causation_id: None,
            fingerprint: None,
            expected_version: None,
            occurred_at: None,
        }
    }

    /// The same command, backdated: it happened at `at` (see
    /// [`Context::occurred_at`]). Only trusted callers backdate: the
    /// demo and imports in process, and through a server a token that
    /// carries the backdating claim (ADR 0030).
    #[must_use]
    pub fn occurred_at(mut self, at: DateTime<Utc>) -> Self {
        self.occurred_at = Some(at);
        self
    }

    /// The command's fingerprint (see [`Context::fingerprint`]).
    #[must_use]
    pub fn with_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = Some(fingerprint.into());
        self
    }

    /// The stream version the caller expects (see [`Context::expected_version`]).
    #[must_use]
    pub fn expecting(mut self, version: Option<u64>) -> Self {
        self.expected_version = version;
        self
    }

    /// The request id as the caller sent it: without the `actor:` prefix
    /// that the server namespaces it with.
    fn caller_request_id(&self) -> &str {
        self.request_id
            .strip_prefix(self.actor.id.as_str())
            .and_then(|rest| rest.strip_prefix(':'))
            .unwrap_or(&self.request_id)
    }

    pub(crate) fn metadata(&self) -> Metadata {
        Metadata {
            actor_id: Some(self.actor.id.clone()),
            actor_role: Some(self.actor.role.as_str().to_owned()),
            correlation_id: Some(
                self.correlation_id
                    .clone()
                    .unwrap_or_else(|| self.request_id.clone()),
            ),
            causation_id: self.causation_id.clone(),
            request_id: Some(self.request_id.clone()),
            command: self.fingerprint.clone(),
            occurred_at: self.occurred_at,
        }
    }
}

/// How one attempt at a command ended.
enum Attempt<S> {
    /// Written (or answered as a repeat by the append).
    Written(Outcome),
    /// The stream moved since the state decided on.
    Conflict,
    /// Nothing to write: a refusal or nothing to do, decided on this state.
    Unwritten(Result<Outcome, CommandError>, Loaded<S>),
}

/// What a command wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The stream.
    pub stream_id: StreamId,
    /// Its version after the command.
    pub stream_version: u64,
    /// The log position to wait for to read this write.
    pub position: u64,
    /// Event types written (empty: nothing to do, or a repeated request).
    pub events: Vec<String>,
    /// True when the request id had been handled before.
    pub duplicate: bool,
}

/// A stream folded into its state.
#[derive(Clone, Debug)]
pub struct Loaded<S> {
    /// The state.
    pub state: S,
    /// The stream version it reflects (0: no stream).
    pub version: u64,
    /// Position of its newest event (0: unknown or none).
    pub position: u64,
    /// Version of the snapshot the fold started from (0: none).
    pub snapshot_version: u64,
}

/// Tunables of command handling.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// How often a command is decided again after a version conflict.
    pub max_attempts: usize,
    /// A snapshot is saved when a stream grew this much past the last one.
    pub snapshot_every: u64,
    /// The region this deployment serves, for innovations registered from
    /// adopted change projects (e.g. "Kota Cilegon").
    pub region: String,
    /// The key every person's data key is wrapped under. `None`: a random
    /// one for this process only (tests, tools): what it sealed cannot be
    /// opened after a restart.
    pub master_key: Option<MasterKey>,
    /// How many recently used streams' states are kept in memory, so that
    /// a command on one decides without reading it (ADR 0023); 0 keeps
    /// none. A change project's state is a few KiB.
    pub cached_states: usize,
    /// The region's time zone (WIB Asia/Jakarta, WITA Asia/Makassar, WIT
    /// Asia/Jayapura): "today" of every command, the due dates the overdue
    /// timer compares and the day a phase starts are days there.
    pub time_zone: chrono_tz::Tz,
    /// The day of the week organizers get their cohorts' weekly summary
    /// (at 07:00 in `time_zone`).
    pub summary_day: chrono::Weekday,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_attempts: 16,
            snapshot_every: 100,
            region: "Kota Cilegon".into(),
            master_key: None,
            cached_states: DEFAULT_CACHED_STATES,
            time_zone: chrono_tz::Asia::Jakarta,
            summary_day: chrono::Weekday::Mon,
        }
    }
}

/// States kept in memory by default ([`EngineConfig::cached_states`]).
pub const DEFAULT_CACHED_STATES: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum RegistryEvent {
    WorkflowRegistered {
        name: String,
        version: u32,
        kind: WorkflowKind,
        hash: String,
        file: String,
        source: String,
        /// The provider that owns the definition; absent: global.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
    },
}

/// The stream id of aggregate `A` with id `id`: `KIND-id`.
///
/// # Errors
/// [`StoreError::InvalidInput`] when the id makes an invalid stream id.
pub fn stream_of<A: Aggregate>(id: &str) -> Result<StreamId, StoreError> {
    StreamId::parse(format!("{}-{id}", A::KIND))
}

fn with_id(err: DomainError, id: &str) -> DomainError {
    match err {
        DomainError::NotFound { what, id: empty } if empty.is_empty() => DomainError::NotFound {
            what,
            id: id.to_owned(),
        },
        DomainError::AlreadyExists { what, id: empty } if empty.is_empty() => {
            DomainError::AlreadyExists {
                what,
                id: id.to_owned(),
            }
        }
        other => other,
    }
}

/// The answer to a repeated request: what its first run wrote.
fn repeat(first: AppendResult) -> Outcome {
    Outcome {
        stream_id: first.stream_id,
        stream_version: first.stream_version,
        position: first.position,
        events: vec![],
        duplicate: true,
    }
}

impl Outcome {
    /// What an append of one event of type `event` wrote (nothing, when
    /// its request id had been handled before).
    pub(crate) fn of_one(written: AppendResult, event: &str) -> Self {
        Self {
            stream_id: written.stream_id,
            stream_version: written.stream_version,
            position: written.position,
            events: if written.duplicate {
                vec![]
            } else {
                vec![event.to_owned()]
            },
            duplicate: written.duplicate,
        }
    }
}

/// Runs commands against the log. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Engine {
    store: EventStore,
    workflows: Arc<WorkflowRegistry>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    turns: Arc<Turns>,
    states: Arc<States>,
    privacy: Privacy,
}

impl Engine {
    /// An engine on `store` with the system clock. Loads every registered
    /// workflow from the log and records the shipped defaults there the
    /// first time.
    ///
    /// # Errors
    /// [`CommandError`] when the log cannot be read or a shipped default
    /// changed without a new version.
    pub async fn open(store: EventStore) -> Result<Self, CommandError> {
        Self::open_with(store, Arc::new(SystemClock), EngineConfig::default()).await
    }

    /// As [`Engine::open`], with a clock and configuration.
    ///
    /// # Errors
    /// As [`Engine::open`].
    pub async fn open_with(
        store: EventStore,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Result<Self, CommandError> {
        // Read-only without the master key (an auditor's copy): personal
        // fields read as withheld.
        let privacy = match config.master_key.clone() {
            Some(master) => Privacy::new(store.clone(), master),
            None if store.config().read_only => Privacy::withheld(store.clone()),
            None => {
                tracing::warn!(
                    "no master key configured: personal data is sealed under a key of this process only"
                );
                Privacy::new(store.clone(), MasterKey::generate())
            }
        };
        let engine = Self {
            privacy,
            store,
            workflows: Arc::new(WorkflowRegistry::new()),
            clock,
            states: Arc::new(States::new(config.cached_states)),
            config,
            turns: Arc::default(),
        };
        engine.forget_what_others_write();
        engine.reload_workflows().await?;
        if !engine.store.config().read_only {
            for workflow in WorkflowRegistry::defaults()? {
                match engine.workflows.get(&workflow.name, workflow.version) {
                    Some(known) if known.hash == workflow.hash => {}
                    Some(_) => {
                        return Err(WorkflowError {
                            file: workflow.name.clone(),
                            place: "version".into(),
                            problem: format!(
                                "the shipped definition v{} differs from the one in the log; give the change a new version",
                                workflow.version
                            ),
                        }
                        .into());
                    }
                    None => {
                        engine
                            .record_workflow(
                                &Context::new(
                                    Actor::system("defaults"),
                                    format!("workflow-{}-v{}", workflow.name, workflow.version),
                                ),
                                &workflow,
                            )
                            .await?;
                        engine.workflows.insert(workflow)?;
                    }
                }
            }
        }
        Ok(engine)
    }

    /// The log.
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Personal data: sealing, opening, the keys.
    pub fn privacy(&self) -> &Privacy {
        &self.privacy
    }

    /// The workflow registry.
    pub fn workflows(&self) -> &WorkflowRegistry {
        &self.workflows
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Drops every stream state kept in memory (after an erasure: no
    /// state decided on keeps what the erased key opened).
    pub(crate) fn forget_states(&self) {
        self.states.clear();
    }

    /// How many streams' states are kept in memory now.
    pub fn cached_states(&self) -> usize {
        self.states.len()
    }

    async fn reload_workflows(&self) -> Result<(), CommandError> {
        let stream = StreamId::parse(WORKFLOW_STREAM)?;
        for recorded in self.store.read_stream_to_end(&stream).await? {
            let RegistryEvent::WorkflowRegistered {
                file,
                source,
                owner,
                ..
            } = decode(&recorded)?;
            self.workflows
                .insert(Workflow::parse(&file, &source)?.owned_by(owner))?;
        }
        Ok(())
    }

    async fn record_workflow(
        &self,
        ctx: &Context,
        workflow: &Workflow,
    ) -> Result<Outcome, CommandError> {
        let event = RegistryEvent::WorkflowRegistered {
            name: workflow.name.clone(),
            version: workflow.version,
            kind: workflow.kind,
            hash: workflow.hash.clone(),
            file: format!("{}.toml", workflow.name),
            source: workflow.source.clone(),
            owner: workflow.owner.clone(),
        };
        let stream = StreamId::parse(WORKFLOW_STREAM)?;
        let written = self
            .store
            .append(
                AppendRequest::new(stream.clone(), "workflow_registry", ExpectedVersion::Any)
                    .event(encode(&event, ctx.metadata()))
                    .request_id(ctx.request_id.clone()),
            )
            .await?;
        if written.duplicate {
            self.same_command(&written, ctx).await?;
        }
        Ok(Outcome {
            stream_id: stream,
            stream_version: written.stream_version,
            position: written.position,
            events: vec!["WorkflowRegistered".into()],
            duplicate: written.duplicate,
        })
    }

    /// Registers a new workflow version at run time. A definition has an
    /// owner, fixed by its first version: global (shipped, or registered by
    /// an operator; BRIDA officers also keep the global innovation
    /// workflows) or one training provider (registered by an organizer
    /// acting for it, under a name of its own). Only the owner registers
    /// further versions. The same content again is a no-op; a version that
    /// exists with other content, or one not above the newest, is refused.
    ///
    /// # Errors
    /// [`CommandError::Workflow`] naming the file, place and problem;
    /// [`DomainError::Forbidden`] for other roles, an organizer whose token
    /// names no provider, and anyone but the definition's owner.
    pub async fn register_workflow(
        &self,
        ctx: &Context,
        file: &str,
        source: &str,
    ) -> Result<(Arc<Workflow>, Outcome), CommandError> {
        let workflow = Workflow::parse(file, source)?;
        let owner = crate::rules::registering_owner(&ctx.actor, workflow.kind)?;
        self.reload_workflows().await?;
        crate::rules::may_register(&self.workflows, &workflow, owner.as_deref())?;
        let workflow = workflow.owned_by(owner);
        if let Some(existing) = self.workflows.get(&workflow.name, workflow.version) {
            if existing.hash != workflow.hash {
                // The registry's refusal names the next free version.
                self.workflows.insert(workflow)?;
            }
            let outcome = Outcome {
                stream_id: StreamId::parse(WORKFLOW_STREAM)?,
                stream_version: 0,
                position: self.store.digest().await?.position,
                events: vec![],
                duplicate: true,
            };
            return Ok((existing, outcome));
        }
        if let Some(latest) = self.workflows.latest(&workflow.name)
            && latest.version > workflow.version
        {
            return Err(WorkflowError {
                file: file.to_owned(),
                place: "version".into(),
                problem: format!(
                    "version {} is below the newest registered version {}; register it as version {}",
                    workflow.version,
                    latest.version,
                    latest.version + 1
                ),
            }
            .into());
        }
        let outcome = self.record_workflow(ctx, &workflow).await?;
        if outcome.duplicate {
            // The request id wrote an earlier registration of the same
            // command: the log, not this call, says what it registered.
            self.reload_workflows().await?;
            if let Some(registered) = self.workflows.get(&workflow.name, workflow.version) {
                return Ok((registered, outcome));
            }
        }
        let registered = self.workflows.insert(workflow)?;
        Ok((registered, outcome))
    }

    /// Resolves the definition a stream runs under, checking its content hash.
    ///
    /// # Errors
    /// [`CommandError::Workflow`] when it is unknown or its content differs.
    pub async fn resolve(&self, reference: &WorkflowRef) -> Result<Arc<Workflow>, CommandError> {
        if self
            .workflows
            .get(&reference.name, reference.version)
            .is_none()
        {
            // Perhaps another server registered it.
            self.reload_workflows().await?;
        }
        let workflow = self
            .workflows
            .get(&reference.name, reference.version)
            .ok_or_else(|| WorkflowError {
                file: reference.name.clone(),
                place: format!("version {}", reference.version),
                problem: "the stream runs under this definition, which is not registered".into(),
            })?;
        if workflow.hash != reference.hash {
            return Err(WorkflowError {
                file: reference.name.clone(),
                place: format!("version {}", reference.version),
                problem: "the registered content differs from the one the stream started under"
                    .into(),
            }
            .into());
        }
        Ok(workflow)
    }

    /// Checks that `name` is a registered workflow of `kind` (for example
    /// before a cohort names it for its projects).
    ///
    /// # Errors
    /// [`CommandError::Workflow`] when it is unknown or of another kind.
    pub async fn ensure_workflow(
        &self,
        name: &str,
        kind: WorkflowKind,
    ) -> Result<(), CommandError> {
        let workflow = self.newest(name).await?;
        if workflow.kind != kind {
            return Err(WorkflowError {
                file: name.to_owned(),
                place: "kind".into(),
                problem: format!(
                    "is a {} workflow, not a {} one",
                    workflow.kind.as_str(),
                    kind.as_str()
                ),
            }
            .into());
        }
        Ok(())
    }

    /// Version `version` of `name`, or its newest when `None`.
    async fn pinned(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<Arc<Workflow>, CommandError> {
        let Some(version) = version else {
            return self.newest(name).await;
        };
        if self.workflows.get(name, version).is_none() {
            self.reload_workflows().await?;
        }
        self.workflows.get(name, version).ok_or_else(|| {
            WorkflowError {
                file: name.to_owned(),
                place: format!("version {version}"),
                problem: "no such version is registered".into(),
            }
            .into()
        })
    }

    async fn newest(&self, name: &str) -> Result<Arc<Workflow>, CommandError> {
        if self.workflows.latest(name).is_none() {
            self.reload_workflows().await?;
        }
        self.workflows.latest(name).ok_or_else(|| {
            WorkflowError {
                file: name.to_owned(),
                place: "name".into(),
                problem: "no workflow of this name is registered".into(),
            }
            .into()
        })
    }

    /// The region's offset from UTC at moment `at` (its time zone, ADR 0028).
    pub fn utc_offset(&self, at: DateTime<Utc>) -> chrono::FixedOffset {
        use chrono::Offset as _;
        at.with_timezone(&self.config.time_zone).offset().fix()
    }

    /// Today where the region is (its time zone, ADR 0028), by the clock.
    pub fn today(&self) -> chrono::NaiveDate {
        let now = self.clock.now();
        now.with_timezone(&self.config.time_zone).date_naive()
    }

    /// Folds a stream: snapshot plus newer events.
    ///
    /// # Errors
    /// Storage failures; an event that cannot be read.
    pub async fn load<A: Aggregate>(
        &self,
        stream: &StreamId,
    ) -> Result<Loaded<A::State>, CommandError> {
        if A::PERSONAL {
            return self.load_personal::<A>(stream).await;
        }
        let (snapshot, events) = self
            .store
            .read_from_snapshot::<A::State>(stream, A::SNAPSHOT_VERSION)
            .await?;
        let (version, state) = snapshot.unwrap_or_default();
        let mut loaded = Loaded {
            state,
            version,
            position: 0,
            snapshot_version: version,
        };
        for recorded in events {
            loaded.state = A::evolve(loaded.state, &decode::<A::Event>(&recorded)?);
            loaded.version = recorded.stream_version;
            loaded.position = recorded.position;
        }
        Ok(loaded)
    }

    /// [`Engine::load`] of a stream whose events carry personal fields
    /// (ADR 0022): snapshot and events are opened with the persons' keys,
    /// fetched into the cache first when it lacks them.
    async fn load_personal<A: Aggregate>(
        &self,
        stream: &StreamId,
    ) -> Result<Loaded<A::State>, CommandError> {
        let (snapshot, events) = self
            .store
            .read_from_snapshot::<serde_json::Value>(stream, A::SNAPSHOT_VERSION)
            .await?;
        let opened = self
            .privacy
            .with_keys(false, |keys| {
                let state = match &snapshot {
                    None => None,
                    Some((version, state)) => {
                        let mut state = state.clone();
                        open_tree(&mut state, keys)?;
                        serde_json::from_value::<A::State>(state)
                            .ok()
                            .map(|s| (*version, s))
                    }
                };
                let events = events
                    .iter()
                    .map(|e| decode_with::<A::Event>(e, keys).map(|d| (d, e)))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, CommandError>((state, events))
            })
            .await??;
        let (state, events) = opened;
        let Some((version, state)) =
            state.or_else(|| snapshot.is_none().then_some((0, A::State::default())))
        else {
            // A snapshot that does not open or decode is only a cache: fold every event.
            tracing::warn!(%stream, "ignoring a snapshot that does not open; folding the events instead");
            let (state, version, position) = self.fold_all::<A>(stream).await?;
            return Ok(Loaded {
                state,
                version,
                position,
                snapshot_version: 0,
            });
        };
        let mut loaded = Loaded {
            state,
            version,
            position: 0,
            snapshot_version: version,
        };
        for (event, recorded) in events {
            loaded.state = A::evolve(loaded.state, &event);
            loaded.version = recorded.stream_version;
            loaded.position = recorded.position;
        }
        Ok(loaded)
    }

    /// Decodes `events` of aggregate `A`, opening personal fields when
    /// `A` has any.
    async fn decode_all<A: Aggregate>(
        &self,
        events: &[crate::store::RecordedEvent],
    ) -> Result<Vec<A::Event>, CommandError> {
        if !A::PERSONAL {
            return Ok(events
                .iter()
                .map(decode::<A::Event>)
                .collect::<Result<_, _>>()?);
        }
        Ok(self
            .privacy
            .with_keys(false, |keys| {
                events
                    .iter()
                    .map(|e| decode_with::<A::Event>(e, keys))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await??)
    }

    /// Every event of `stream` folded, with the version and position of
    /// the last.
    async fn fold_all<A: Aggregate>(
        &self,
        stream: &StreamId,
    ) -> Result<(A::State, u64, u64), CommandError> {
        let mut state = A::State::default();
        let (mut version, mut position) = (0, 0);
        loop {
            let batch = self
                .store
                .read_stream(
                    stream,
                    Direction::Forward,
                    Some(version + 1),
                    crate::store::MAX_READ_LIMIT,
                )
                .await?;
            let Some(last) = batch.last() else { break };
            (version, position) = (last.stream_version, last.position);
            for event in self.decode_all::<A>(&batch).await? {
                state = A::evolve(state, &event);
            }
        }
        Ok((state, version, position))
    }

    /// Loads aggregate `A` with id `id`; `None` when it does not exist.
    ///
    /// # Errors
    /// As [`Engine::load`].
    pub async fn get<A: Aggregate>(
        &self,
        id: &str,
    ) -> Result<Option<Loaded<A::State>>, CommandError> {
        let loaded = self.load::<A>(&stream_of::<A>(id)?).await?;
        Ok((loaded.version > 0).then_some(loaded))
    }

    /// The change project `given` names: a project id as it is, or a short
    /// code (`pka-2026-9/017`, ADR 0020) looked up in its cohort, so a code
    /// works as soon as the enrolment is written.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] for a malformed id or code;
    /// [`DomainError::NotFound`] naming the code for a code nobody has;
    /// storage failures.
    pub async fn project_id(
        &self,
        given: &str,
    ) -> Result<crate::domain::values::ProjectId, CommandError> {
        use crate::domain::cohort::Cohort;
        use crate::domain::values::{ProjectCode, ProjectId};
        if !ProjectCode::looks_like(given) {
            return Ok(ProjectId::parse(given)?);
        }
        let code = ProjectCode::parse(given)?;
        let (cohort_id, ordinal) = code.parts();
        let cohort = self.get::<Cohort>(cohort_id).await?;
        cohort
            .and_then(|cohort| {
                let facts = cohort.state.facts.as_ref()?;
                let enrollment = cohort
                    .state
                    .enrollments
                    .values()
                    .find(|e| e.ordinal == ordinal)?;
                Some(ProjectId::for_participant(
                    &facts.cohort_id,
                    &enrollment.participant.person,
                ))
            })
            .ok_or_else(|| {
                DomainError::NotFound {
                    what: crate::domain::change_project::ChangeProject::LABEL,
                    id: code.to_string(),
                }
                .into()
            })
    }

    /// The stream `given` names: a stream id as it is, or a change
    /// project's code, bare or as `change_project-CODE`, resolved by
    /// [`Engine::project_id`].
    ///
    /// # Errors
    /// As [`Engine::project_id`]; a malformed stream id.
    pub async fn stream_named(&self, given: &str) -> Result<StreamId, CommandError> {
        use crate::domain::change_project::ChangeProject;
        use crate::domain::values::ProjectCode;
        let given = given.trim();
        let code = given
            .strip_prefix(ChangeProject::KIND)
            .and_then(|rest| rest.strip_prefix('-'))
            .unwrap_or(given);
        if ProjectCode::looks_like(code) {
            let id = self.project_id(code).await?;
            return Ok(stream_of::<ChangeProject>(id.as_str())?);
        }
        Ok(StreamId::parse(given.to_owned())?)
    }

    /// Every event of aggregate `A`'s stream `id`, oldest first, decoded
    /// (personal fields opened, `[dihapus]` once erased) with who wrote
    /// it and when: what a page of the whole story of one stream folds
    /// (a project's detail). Empty when the stream does not exist.
    ///
    /// # Errors
    /// Storage failures; an event that cannot be read.
    pub async fn history<A: Aggregate>(
        &self,
        id: &str,
    ) -> Result<Vec<Recorded<A::Event>>, CommandError> {
        let stream = stream_of::<A>(id)?;
        let mut out = Vec::new();
        let mut next = 1;
        loop {
            let batch = self
                .store
                .read_stream(
                    &stream,
                    Direction::Forward,
                    Some(next),
                    crate::store::MAX_READ_LIMIT,
                )
                .await?;
            let Some(last) = batch.last() else { break };
            next = last.stream_version + 1;
            let events = self.decode_all::<A>(&batch).await?;
            for (recorded, event) in batch.iter().zip(events) {
                let metadata = recorded.decoded_metadata();
                out.push(Recorded {
                    version: recorded.stream_version,
                    position: recorded.position,
                    recorded_at: recorded.recorded_at,
                    occurred_at: metadata.occurred_at.unwrap_or(recorded.recorded_at),
                    actor_id: metadata.actor_id,
                    actor_role: metadata.actor_role,
                    event,
                });
            }
        }
        Ok(out)
    }

    /// The events of a stream up to and including `version`, folded.
    ///
    /// # Errors
    /// Storage failures; an event that cannot be read.
    pub async fn state_at_version<A: Aggregate>(
        &self,
        stream: &StreamId,
        version: u64,
    ) -> Result<A::State, CommandError> {
        let mut state = A::State::default();
        let mut next = 1;
        while next <= version {
            let limit =
                usize::try_from((version - next + 1).min(crate::store::MAX_READ_LIMIT as u64))
                    .unwrap_or(1);
            let batch = self
                .store
                .read_stream(stream, Direction::Forward, Some(next), limit)
                .await?;
            let Some(last) = batch.last() else { break };
            next = last.stream_version + 1;
            for event in self.decode_all::<A>(&batch).await? {
                state = A::evolve(state, &event);
            }
        }
        Ok(state)
    }

    /// The state of a stream as it was at moment `at`, and its version then.
    ///
    /// # Errors
    /// Storage failures; an event that cannot be read.
    pub async fn state_at_time<A: Aggregate>(
        &self,
        stream: &StreamId,
        at: DateTime<Utc>,
    ) -> Result<(A::State, u64), CommandError> {
        let events = self.store.read_stream_as_of(stream, at).await?;
        let version = events.last().map_or(0, |e| e.stream_version);
        let mut state = A::State::default();
        for event in self.decode_all::<A>(&events).await? {
            state = A::evolve(state, &event);
        }
        Ok((state, version))
    }

    /// The state of a stream as it was at moment `at` by when its facts
    /// happened (their effective time, ADR 0030), and the version of the
    /// newest event folded. A backdated history folds as it happened;
    /// a stream never backdated folds as [`Engine::state_at_time`] does.
    ///
    /// # Errors
    /// Storage failures; an event that cannot be read.
    pub async fn state_at_effective_time<A: Aggregate>(
        &self,
        stream: &StreamId,
        at: DateTime<Utc>,
    ) -> Result<(A::State, u64), CommandError> {
        let events = self.store.read_stream_effective_as_of(stream, at).await?;
        let version = events.last().map_or(0, |e| e.stream_version);
        let mut state = A::State::default();
        for event in self.decode_all::<A>(&events).await? {
            state = A::evolve(state, &event);
        }
        Ok((state, version))
    }

    /// Runs a command on aggregate `A` with id `id`.
    ///
    /// The command waits for its stream's turn in this process, decides on
    /// the stream's state (kept in memory from the last command on it, or
    /// read from the log) and appends with that version expected; the
    /// append is its one durable write, and answers a request id sent
    /// before with the first result (ADR 0023).
    ///
    /// # Errors
    /// [`CommandError::Domain`] when the domain refuses (with the id filled
    /// in); store, workflow and decode failures; contention.
    pub async fn execute<A: Aggregate>(
        &self,
        id: &str,
        ctx: &Context,
        body: A::Command,
    ) -> Result<Outcome, CommandError> {
        let stream = stream_of::<A>(id)?;
        // Commands on one stream take turns in this process (see `turns`).
        let turn = self.turns.take(stream.as_str()).await;
        if turn.waited {
            tracing::trace!(%stream, "waited for the turn of another command on the stream");
        }
        let now = self.clock.now();
        if let Some(at) = ctx.occurred_at
            && at > now
        {
            return Err(DomainError::invalid(
                "occurred_at",
                format!(
                    "{at} is in the future (now is {now}); a command is backdated, never dated ahead"
                ),
            )
            .into());
        }
        let mut cached = self.states.take::<A::State>(stream.as_str());
        let mut command = Command {
            actor: ctx.actor.clone(),
            at: self.clock.now(),
            utc_offset: self.utc_offset(self.clock.now()),
            request_id: ctx.request_id.clone(),
            workflow: None,
            body,
        };
        for _ in 0..self.config.max_attempts {
            let from_cache = cached.is_some();
            let loaded = match cached.take() {
                Some(loaded) => loaded,
                None => self.load::<A>(&stream).await?,
            };
            command.at = ctx.occurred_at.unwrap_or_else(|| self.clock.now());
            command.utc_offset = self.utc_offset(command.at);
            let unwritten = match self
                .attempt::<A>(id, &stream, ctx, &mut command, loaded)
                .await?
            {
                Attempt::Written(outcome) => return Ok(outcome),
                Attempt::Conflict => {
                    tracing::debug!(%stream, "version conflict; deciding again");
                    continue;
                }
                Attempt::Unwritten(answer, loaded) => {
                    if from_cache {
                        // Only the log as read may refuse or pass a command.
                        continue;
                    }
                    self.states.put(stream.as_str(), loaded);
                    answer
                }
            };
            // Another request with this id may have written: then this is
            // a repeat (or the id's reuse for another command), not an answer.
            if let Some(outcome) = self.replayed(&stream, ctx).await? {
                return Ok(outcome);
            }
            return unwritten;
        }
        drop(turn);
        Err(CommandError::Contention {
            stream,
            attempts: self.config.max_attempts,
        })
    }

    /// On a database other servers write too, drops the states of the
    /// streams they announce having written (ADR 0041): a state kept of
    /// such a stream would decide a command whose append is then refused
    /// for its version, and decided again after a read, at twice the cost.
    fn forget_what_others_write(&self) {
        if self.store.postgres_pool().is_none() || self.config.cached_states == 0 {
            return;
        }
        let mut written = self.store.written_elsewhere();
        let states = Arc::downgrade(&self.states);
        tokio::spawn(async move {
            loop {
                let streams = written.recv().await;
                let Some(states) = states.upgrade() else {
                    return;
                };
                match streams {
                    Ok(streams) if !streams.lines().any(|s| s == "*") => {
                        streams.lines().for_each(|stream| states.forget(stream));
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => states.clear(),
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    /// Decides `command` on `loaded` and appends what it decided.
    async fn attempt<A: Aggregate>(
        &self,
        id: &str,
        stream: &StreamId,
        ctx: &Context,
        command: &mut Command<A::Command>,
        loaded: Loaded<A::State>,
    ) -> Result<Attempt<A::State>, CommandError> {
        if loaded.version > 0 && !A::concerns(&loaded.state, &ctx.actor) {
            // Exactly what the decider answers for a stream that does not exist.
            let refusal = DomainError::NotFound {
                what: A::LABEL,
                id: id.to_owned(),
            };
            return Ok(Attempt::Unwritten(Err(refusal.into()), loaded));
        }
        if let Some(expected) = ctx.expected_version
            && expected != loaded.version
        {
            let refusal = StoreError::WrongExpectedVersion {
                stream_id: stream.clone(),
                expected: ExpectedVersion::Exact(expected),
                actual: (loaded.version > 0).then_some(loaded.version),
            };
            return Ok(Attempt::Unwritten(Err(refusal.into()), loaded));
        }
        command.workflow = match A::workflow_of(&loaded.state) {
            Some(reference) => Some(self.resolve(reference).await?),
            None => match A::workflow_for_new(&command.body) {
                Some(pin) => Some(self.pinned(&pin.name, pin.version).await?),
                None => None,
            },
        };
        let events = match A::decide(&loaded.state, command) {
            Ok(events) if events.is_empty() => {
                let position = if loaded.position > 0 {
                    loaded.position
                } else {
                    self.store.known_head()
                };
                let nothing = Outcome {
                    stream_id: stream.clone(),
                    stream_version: loaded.version,
                    position,
                    events: vec![],
                    duplicate: false,
                };
                return Ok(Attempt::Unwritten(Ok(nothing), loaded));
            }
            Ok(events) => events,
            Err(err) => return Ok(Attempt::Unwritten(Err(with_id(err, id).into()), loaded)),
        };
        let expected = if loaded.version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(loaded.version)
        };
        let metadata = ctx.metadata();
        let encoded: Vec<_> = if A::PERSONAL {
            let owner = A::personal_owner(&loaded.state);
            self.privacy
                .with_keys(true, |keys| {
                    events
                        .iter()
                        .map(|e| encode_with(e, metadata.clone(), keys, owner))
                        .collect::<Result<Vec<_>, _>>()
                })
                .await??
        } else {
            events.iter().map(|e| encode(e, metadata.clone())).collect()
        };
        let names = encoded.iter().map(|e| e.event_type.clone()).collect();
        let append = AppendRequest::new(stream.clone(), A::KIND, expected)
            .events(encoded)
            .request_id(ctx.request_id.clone());
        match self.store.append(append).await {
            Ok(written) if written.duplicate => {
                // The request id wrote before; what the stream is now is
                // not known here, so its state is not kept.
                self.same_command(&written, ctx).await?;
                Ok(Attempt::Written(repeat(written)))
            }
            Ok(written) => {
                let snapshot_version = loaded.snapshot_version;
                let mut now = Loaded {
                    state: events.iter().fold(loaded.state, A::evolve),
                    version: written.stream_version,
                    position: written.position,
                    snapshot_version,
                };
                if self.maybe_snapshot::<A>(stream, &now).await {
                    now.snapshot_version = now.version;
                }
                self.states.put(stream.as_str(), now);
                Ok(Attempt::Written(Outcome {
                    stream_id: stream.clone(),
                    stream_version: written.stream_version,
                    position: written.position,
                    events: names,
                    duplicate: false,
                }))
            }
            Err(StoreError::WrongExpectedVersion { .. }) => Ok(Attempt::Conflict),
            Err(err) => Err(err.into()),
        }
    }

    /// The first result of `ctx`'s request id, when it was used before on
    /// `stream` for the same command.
    ///
    /// # Errors
    /// [`StoreError::RequestIdReused`] when it was used on another stream,
    /// [`CommandError::RequestIdReused`] for another command.
    async fn replayed(
        &self,
        stream: &StreamId,
        ctx: &Context,
    ) -> Result<Option<Outcome>, CommandError> {
        let Some(first) = self.store.find_request(&ctx.request_id).await? else {
            return Ok(None);
        };
        if first.stream_id != *stream {
            return Err(StoreError::RequestIdReused {
                request_id: ctx.caller_request_id().to_owned(),
                first_stream: first.stream_id,
            }
            .into());
        }
        self.same_command(&first, ctx).await?;
        Ok(Some(repeat(first)))
    }

    /// Checks that the request that wrote `first` had `ctx`'s fingerprint
    /// (events written before fingerprints were kept pass).
    pub(crate) async fn same_command(
        &self,
        first: &AppendResult,
        ctx: &Context,
    ) -> Result<(), CommandError> {
        let Some(fingerprint) = &ctx.fingerprint else {
            return Ok(());
        };
        let written = self
            .store
            .read_all(first.first_position.saturating_sub(1), 1)
            .await?;
        let recorded = written.first().and_then(|e| e.decoded_metadata().command);
        match recorded {
            Some(recorded) if recorded != *fingerprint => Err(CommandError::RequestIdReused {
                request_id: ctx.caller_request_id().to_owned(),
            }),
            _ => Ok(()),
        }
    }

    /// Seals the personal fields of a state for its snapshot, with the keys
    /// already cached.
    fn seal_snapshot(&self, state: &mut serde_json::Value) -> Result<(), Unready> {
        struct Cached<'a>(&'a Privacy);
        impl Keyring for Cached<'_> {
            fn seal(
                &self,
                person: &str,
                purpose: &str,
                fields: &serde_json::Value,
            ) -> Result<crate::privacy::Sealed, Unready> {
                self.0.seal_cached(person, purpose, fields)
            }
            fn open(
                &self,
                sealed: &crate::privacy::Sealed,
                _: &str,
            ) -> Result<crate::privacy::Opened, Unready> {
                Err(Unready::NoKey(sealed.person.clone()))
            }
        }
        seal_tree(state, &Cached(&self.privacy), None)
    }

    /// Saves a snapshot of `loaded` when its stream grew
    /// [`EngineConfig::snapshot_every`] past the last one; true when it did.
    async fn maybe_snapshot<A: Aggregate>(
        &self,
        stream: &StreamId,
        loaded: &Loaded<A::State>,
    ) -> bool {
        if loaded.version - loaded.snapshot_version < self.config.snapshot_every {
            return false;
        }
        let state = if A::PERSONAL {
            // Sealed as in the events, from the keys the fold just used; an
            // erased person's fields ("[dihapus]") are not sealed again, and a
            // snapshot is only a cache: without every key, none is taken.
            match serde_json::to_value(&loaded.state) {
                Ok(mut state) => {
                    if self.seal_snapshot(&mut state).is_err() {
                        return false;
                    }
                    serde_json::to_string(&state)
                }
                Err(err) => Err(err),
            }
        } else {
            serde_json::to_string(&loaded.state)
        };
        let state = match state {
            Ok(state) => state,
            Err(err) => {
                tracing::warn!(%stream, error = %err, "a state did not serialize for its snapshot");
                return false;
            }
        };
        let saved = self
            .store
            .save_snapshot(
                stream,
                A::SNAPSHOT_VERSION,
                &StoredSnapshot {
                    stream_version: loaded.version,
                    state,
                },
            )
            .await;
        if let Err(err) = &saved {
            tracing::warn!(%stream, error = %err, "saving a snapshot failed; it is only a cache");
        }
        saved.is_ok()
    }
}
