//! Process managers: reactions to the log that issue commands of their own.
//!
//! - Adopting a change project registers its innovation (source: change
//!   project) and links the project to it; the innovation carries the
//!   project's data and starts at *penerapan*.
//! - Replicating an innovation registers the adopter's own innovation,
//!   linked to the original; an innovation that came from a change
//!   project marks the project replicated, and a change project's
//!   replication is recorded on its innovation (each once, ADR 0027).
//! - Reassigning a participant's mentor, coach or examiners on the cohort
//!   makes their project follow (`StaffAssigned`; the command handler
//!   writes it first, this repeats it after a crash, ADR 0027); an
//!   amendment of the enrolment likewise (`ParticipantAmended`, ADR 0031).
//! - A milestone past its due date without approval gets one
//!   `MilestoneOverdue`, as of the injected clock.
//!
//! The timer keeps an index of the open milestones, folded from the log; it
//! saves the index with its position (`TIMER_CHECKPOINT`) every
//! `SAVE_TIMER_EVERY` events and when it stops, so that a start reads only
//! the log after it.
//!
//! Each reaction is a command with a request id derived from the event that
//! caused it, so handling an event again (after a crash between reading it
//! and writing the reaction, or before the checkpoint was saved) writes
//! nothing new: the effects happen exactly once.
//!
//! - The notifications manager ([`Notifier`], ADR 0032) puts the messages
//!   people should hear of in the outbox, after each pass and on each tick
//!   of the timers (reminders, weekly summaries).
//!
//! On a log shared by several servers, one of them runs the managers: the
//! holder of the lease [`LEASE`], whose checkpoint writes are fenced by it
//! (ADR 0029); the others stand by and take over once it lapses.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::codec::decode;
use crate::domain::change_project::{
    ChangeProject, ProjectCommand, ProjectEvent, Replication, Staff,
};
use crate::domain::cohort::{Cohort, CohortEvent};
use crate::domain::innovation::{
    Form, Innovation, InnovationCommand, InnovationEvent, Origin, Profile, Source,
};
use crate::domain::values::{CohortId, InnovationId, MilestoneId, ProjectId};
use crate::domain::{Actor, Aggregate, DomainError};
use crate::engine::{CommandError, Context, Engine};
use crate::notifications::Notifier;
use crate::store::{Lease, RecordedEvent, StoreError};

/// The innovation stage (penerapan) a change project's adoption starts
/// its innovation at.
const ADOPTED: &str = "adopted";

/// The checkpoint name of the reactions.
pub const CHECKPOINT: &str = "process_managers";

/// The lease under which one server of a deployment runs the managers.
pub const LEASE: &str = "process-managers";

/// How long the managers' lease lasts without renewal.
const LEASE_TTL: Duration = Duration::from_secs(5);

/// The checkpoint name of the overdue timer's index.
pub const TIMER_CHECKPOINT: &str = "overdue_timer";

const BATCH: usize = 1_000;
/// The timer saves its index after reading this many events since it last
/// did: a start after a crash reads at most that much of the log again.
const SAVE_TIMER_EVERY: u64 = 100_000;
/// How long the managers let appends gather after a pass that found
/// events, before they read the log again: under load a pass then reads a
/// batch and saves its checkpoint once, instead of once per commit, and
/// leaves the cores and the disk to the commands (ADR 0023).
const PACE: Duration = Duration::from_millis(50);

#[derive(Debug, Default, Serialize, Deserialize)]
struct OverdueIndex {
    /// How far the index has read the log (kept beside it, in its checkpoint).
    #[serde(skip)]
    position: u64,
    /// The position of the index last saved or loaded.
    #[serde(skip)]
    saved: u64,
    /// Whether the saved index was looked for.
    #[serde(skip)]
    loaded: bool,
    /// (project, milestone) → due date, for milestones not approved and not flagged.
    #[serde(with = "open_milestones")]
    open: BTreeMap<(String, MilestoneId), NaiveDate>,
    /// Projects that left the training.
    closed: BTreeSet<String>,
}

/// The open milestones as a list: JSON keys are strings, not pairs.
mod open_milestones {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;
    use serde::{Deserialize as _, Deserializer, Serialize as _, Serializer};

    use crate::domain::values::MilestoneId;

    type Open = BTreeMap<(String, MilestoneId), NaiveDate>;

    pub fn serialize<S: Serializer>(open: &Open, s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<(&str, &MilestoneId, &NaiveDate)> = open
            .iter()
            .map(|((project, milestone), due)| (project.as_str(), milestone, due))
            .collect();
        list.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Open, D::Error> {
        let list = Vec::<(String, MilestoneId, NaiveDate)>::deserialize(d)?;
        Ok(list
            .into_iter()
            .map(|(project, milestone, due)| ((project, milestone), due))
            .collect())
    }
}

impl OverdueIndex {
    fn apply(&mut self, project: &str, event: &ProjectEvent) {
        let plan =
            |index: &mut Self, milestones: &[crate::domain::change_project::MilestonePlan]| {
                index.open.retain(|(p, _), _| p != project);
                for m in milestones {
                    index.open.insert((project.to_owned(), m.id.clone()), m.due);
                }
            };
        match event {
            ProjectEvent::ProjectProposed { proposal, .. }
            | ProjectEvent::ProposalRevised { proposal } => plan(self, &proposal.milestones),
            // Approved or flagged milestones come back into the index; the
            // project's decider flags nothing twice and no approved one.
            ProjectEvent::PlanChangeApproved { milestones, .. } => plan(self, milestones),
            ProjectEvent::MilestoneApproved { milestone_id, .. }
            | ProjectEvent::MilestoneOverdue { milestone_id, .. } => {
                self.open
                    .remove(&(project.to_owned(), milestone_id.clone()));
            }
            ProjectEvent::StateChanged { to, .. } if to == "withdrawn" => {
                self.closed.insert(project.to_owned());
            }
            _ => {}
        }
    }
}

/// Runs the reactions and timers of one server.
#[derive(Debug)]
pub struct ProcessManagers {
    engine: Engine,
    overdue: Mutex<OverdueIndex>,
    /// What people hear of (ADR 0032).
    notifier: Notifier,
    /// This server, as the holder of the managers' lease.
    holder: uuid::Uuid,
}

fn id_of<A: Aggregate>(event: &RecordedEvent) -> Option<&str> {
    event
        .stream_id
        .as_str()
        .strip_prefix(A::KIND)?
        .strip_prefix('-')
}

fn caused_by(event: &RecordedEvent, what: &str) -> Context {
    let mut ctx = Context::new(Actor::system(what), format!("{what}-{}", event.event_id));
    ctx.correlation_id = event.decoded_metadata().correlation_id;
    ctx.causation_id = Some(event.event_id.to_string());
    // An effect of a backdated fact happened when its cause did (ADR 0030).
    ctx.occurred_at = crate::store::occurred_at(&event.metadata);
    ctx
}

impl ProcessManagers {
    /// Process managers over `engine`.
    pub fn new(engine: Engine) -> Self {
        Self {
            holder: uuid::Uuid::now_v7(),
            notifier: Notifier::new(engine.clone()),
            engine,
            overdue: Mutex::new(OverdueIndex::default()),
        }
    }

    /// Holds the managers' lease as `holder` (the server's id): a server
    /// restarted with its id takes the lease back at once.
    #[must_use]
    pub fn with_holder(mut self, holder: uuid::Uuid) -> Self {
        self.holder = holder;
        self
    }

    /// The notifications manager, which [`ProcessManagers::run`] runs
    /// beside the reactions and timers.
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// One round of everything the managers do, at once: the reactions,
    /// the overdue timer, then the notifications of both and their timer
    /// (reminders, weekly summaries). Returns how many events the
    /// reactions read.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn run_all_once(&self) -> Result<usize, CommandError> {
        let read = self.run_once().await?;
        self.tick_timers().await?;
        self.run_once().await?;
        self.notifier.tick().await?;
        Ok(read)
    }

    /// Handles every event after the checkpoint that is in the log now,
    /// saving the checkpoint after each batch. Returns how many events were read.
    ///
    /// # Errors
    /// Storage failures (the events are handled again next time).
    pub async fn run_once(&self) -> Result<usize, CommandError> {
        self.pass(None).await
    }

    /// [`ProcessManagers::run_once`], saving the checkpoint only while
    /// `lease` holds.
    async fn pass(&self, lease: Option<&Lease>) -> Result<usize, CommandError> {
        let store = self.engine.store();
        let mut after = store.checkpoint(CHECKPOINT).await?;
        let mut read = 0;
        loop {
            let batch = store.read_all(after, BATCH).await?;
            let Some(last) = batch.last().map(|e| e.position) else {
                break;
            };
            for event in &batch {
                self.react(event).await?;
            }
            read += batch.len();
            after = last;
            match lease {
                Some(lease) => {
                    store
                        .save_checkpoint_under(CHECKPOINT, after, lease)
                        .await?
                }
                None => store.save_checkpoint(CHECKPOINT, after).await?,
            }
        }
        Ok(read)
    }

    async fn react(&self, event: &RecordedEvent) -> Result<(), CommandError> {
        let result = match (event.stream_type.as_str(), event.event_type.as_str()) {
            (ChangeProject::KIND, "StateChanged") => match decode::<ProjectEvent>(event)? {
                ProjectEvent::StateChanged { to, .. } if to == "adopted" => {
                    self.on_adopted(event).await
                }
                _ => Ok(()),
            },
            (Innovation::KIND, "ReplicationRecorded") => self.on_replicated(event).await,
            (ChangeProject::KIND, "ReplicationRecorded") => self.on_project_replicated(event).await,
            (Cohort::KIND, "StaffReassigned") => self.on_reassigned(event).await,
            (Cohort::KIND, "EnrolmentAmended") => self.on_amended(event).await,
            _ => Ok(()),
        };
        match result {
            // The domain said no: the reaction cannot ever succeed; say so and go on.
            Err(CommandError::Domain(err)) => {
                tracing::warn!(position = event.position, error = %err, "a reaction was refused");
                Ok(())
            }
            other => other,
        }
    }

    async fn on_adopted(&self, event: &RecordedEvent) -> Result<(), CommandError> {
        let Some(project_id) = id_of::<ChangeProject>(event) else {
            return Ok(());
        };
        let Some(project) = self.engine.get::<ChangeProject>(project_id).await? else {
            return Ok(());
        };
        let state = project.state;
        let (Some(proposal), Some(enrollment)) = (&state.proposal, &state.enrollment) else {
            return Ok(());
        };
        let project_id = ProjectId::parse(project_id)?;
        let innovation_id = InnovationId::from_project(&project_id);
        let benefit = if proposal.goals.medium_term.trim().is_empty() {
            &proposal.goals.short_term
        } else {
            &proposal.goals.medium_term
        };
        let profile = Profile {
            name: proposal.title.clone(),
            opd: enrollment.participant.opd.clone(),
            unit: None,
            region: self.engine.config().region.clone(),
            source: Source::ChangeProject,
            initiator_type: "ASN (leadership-training participant)".into(),
            form: Form::Governance,
            digital: false,
            sector: proposal.change_area.clone(),
            sdgs: BTreeSet::new(),
            goal: proposal.goals.short_term.clone(),
            benefit: benefit.clone(),
            budget: None,
            legal_basis: None,
        };
        let register = InnovationCommand::Register {
            innovation_id: innovation_id.clone(),
            profile,
            origin: Some(Origin::ChangeProject(project_id.clone())),
        };
        match self
            .engine
            .execute::<Innovation>(
                innovation_id.as_str(),
                &caused_by(event, "adoption"),
                register,
            )
            .await
        {
            Ok(_) | Err(CommandError::Domain(DomainError::AlreadyExists { .. })) => {}
            Err(err) => return Err(err),
        }
        self.engine
            .execute::<ChangeProject>(
                project_id.as_str(),
                &caused_by(event, "link"),
                ProjectCommand::LinkInnovation {
                    innovation_id: innovation_id.clone(),
                },
            )
            .await?;
        // An adopted change project is implemented (penerapan), not an
        // initiative: the innovation starts where the project is.
        self.engine
            .execute::<Innovation>(
                innovation_id.as_str(),
                &caused_by(event, "stage"),
                InnovationCommand::CarryProjectStage {
                    stage: ADOPTED.to_owned(),
                    on: event.occurred_at().date_naive(),
                },
            )
            .await?;
        Ok(())
    }

    /// A change project's replication is the replication of the innovation
    /// it became: recorded there too, which registers the adopter's own
    /// innovation (ADR 0027).
    async fn on_project_replicated(&self, event: &RecordedEvent) -> Result<(), CommandError> {
        let Some(project_id) = id_of::<ChangeProject>(event) else {
            return Ok(());
        };
        let ProjectEvent::ReplicationRecorded { replication, .. } = decode::<ProjectEvent>(event)?
        else {
            return Ok(());
        };
        let Some(project) = self.engine.get::<ChangeProject>(project_id).await? else {
            return Ok(());
        };
        let Some(innovation_id) = project.state.innovation_id else {
            return Ok(());
        };
        self.engine
            .execute::<Innovation>(
                innovation_id.as_str(),
                &caused_by(event, "innovation-replica"),
                InnovationCommand::FollowProjectReplication {
                    adopter_opd: replication.adopter_opd,
                    adopter_region: replication.adopter_region,
                    agreement: replication.agreement,
                },
            )
            .await?;
        Ok(())
    }

    /// The project follows its cohort's reassignment (ADR 0027): repeats
    /// what [`Engine::reassign_staff`] did right after the cohort's event,
    /// in case it was not done.
    async fn on_reassigned(&self, event: &RecordedEvent) -> Result<(), CommandError> {
        let Some(cohort_id) = id_of::<Cohort>(event) else {
            return Ok(());
        };
        let CohortEvent::StaffReassigned { enrollment } = decode::<CohortEvent>(event)? else {
            return Ok(());
        };
        let project = ProjectId::for_participant(
            &CohortId::parse(cohort_id)?,
            &enrollment.participant.person,
        );
        self.engine
            .follow_staff(
                &caused_by(event, "staff"),
                &project,
                Staff::of(&enrollment),
                event.stream_version,
            )
            .await?;
        Ok(())
    }

    /// The project follows its cohort's amendment of the enrolment:
    /// repeats what [`Engine::amend_enrolment`] did, in case it was not
    /// done. The person is plain in the event; the amended fields are read
    /// from the cohort, opened, by [`Engine::follow_enrolment`].
    async fn on_amended(&self, event: &RecordedEvent) -> Result<(), CommandError> {
        let Some(cohort_id) = id_of::<Cohort>(event) else {
            return Ok(());
        };
        let CohortEvent::EnrolmentAmended { participant } = decode::<CohortEvent>(event)? else {
            return Ok(());
        };
        let cohort_id = CohortId::parse(cohort_id)?;
        let project = ProjectId::for_participant(&cohort_id, &participant.person);
        self.engine
            .follow_enrolment(
                &caused_by(event, "enrolment"),
                &cohort_id,
                &project,
                &participant.person,
            )
            .await?;
        Ok(())
    }

    async fn on_replicated(&self, event: &RecordedEvent) -> Result<(), CommandError> {
        let Some(original_id) = id_of::<Innovation>(event) else {
            return Ok(());
        };
        let InnovationEvent::ReplicationRecorded {
            adopter_innovation_id,
            adopter_opd,
            adopter_region,
            agreement,
        } = decode::<InnovationEvent>(event)?
        else {
            return Ok(());
        };
        let Some(original) = self.engine.get::<Innovation>(original_id).await? else {
            return Ok(());
        };
        let Some(mut profile) = original.state.profile else {
            return Ok(());
        };
        if let Some(Origin::ChangeProject(project_id)) = &original.state.origin {
            // The change project it came from is replicated too (ADR 0027).
            let replication = Replication {
                adopter_opd: adopter_opd.clone(),
                adopter_region: adopter_region.clone(),
                agreement: agreement.clone(),
            };
            match self
                .engine
                .execute::<ChangeProject>(
                    project_id.as_str(),
                    &caused_by(event, "project-replica"),
                    ProjectCommand::FollowInnovationReplication(replication),
                )
                .await
            {
                // A project that cannot follow (withdrawn, say) does not
                // hold the adopter's innovation back.
                Ok(_) => {}
                Err(CommandError::Domain(err)) => {
                    tracing::warn!(position = event.position, error = %err, "the project did not follow its innovation's replication");
                }
                Err(err) => return Err(err),
            }
        }
        profile.opd = adopter_opd;
        profile.region = adopter_region;
        profile.unit = None;
        let register = InnovationCommand::Register {
            innovation_id: adopter_innovation_id.clone(),
            profile,
            origin: Some(Origin::ReplicaOf(InnovationId::parse(original_id)?)),
        };
        match self
            .engine
            .execute::<Innovation>(
                adopter_innovation_id.as_str(),
                &caused_by(event, "replica"),
                register,
            )
            .await
        {
            Ok(_) | Err(CommandError::Domain(DomainError::AlreadyExists { .. })) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Flags every milestone that is past its due date (by the clock) and
    /// not approved. Returns how many were flagged.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn tick_timers(&self) -> Result<usize, CommandError> {
        let store = self.engine.store();
        let mut index = self.overdue.lock().await;
        if !index.loaded {
            *index = Self::saved_index(store).await?;
        }
        loop {
            let batch = store.read_all(index.position, BATCH).await?;
            let Some(last) = batch.last().map(|e| e.position) else {
                break;
            };
            for event in batch
                .iter()
                .filter(|e| e.stream_type == ChangeProject::KIND)
            {
                if let Some(project) = id_of::<ChangeProject>(event) {
                    index.apply(project, &decode::<ProjectEvent>(event)?);
                }
            }
            index.position = last;
        }
        if index.position >= index.saved + SAVE_TIMER_EVERY {
            Self::save_index(store, &mut index).await?;
        }
        let today = self.engine.today();
        let due: Vec<(String, MilestoneId, NaiveDate)> = index
            .open
            .iter()
            .filter(|((project, _), due)| **due < today && !index.closed.contains(project))
            .map(|((project, milestone), due)| (project.clone(), milestone.clone(), *due))
            .collect();
        drop(index);
        let mut flagged = 0;
        for (project, milestone, due) in due {
            let ctx = Context::new(
                Actor::system("overdue-timer"),
                format!("overdue-{project}-{milestone}-{due}"),
            );
            match self
                .engine
                .execute::<ChangeProject>(
                    &project,
                    &ctx,
                    ProjectCommand::MarkMilestoneOverdue {
                        milestone_id: milestone,
                    },
                )
                .await
            {
                Ok(outcome) => flagged += usize::from(!outcome.events.is_empty()),
                Err(CommandError::Domain(err)) => {
                    tracing::debug!(%project, error = %err, "not flagged")
                }
                Err(err) => return Err(err),
            }
        }
        Ok(flagged)
    }

    /// The timer's index as last saved, or an empty one that reads the log
    /// from its beginning (none saved, or one that no longer reads).
    async fn saved_index(store: &crate::store::EventStore) -> Result<OverdueIndex, CommandError> {
        let mut index = OverdueIndex::default();
        if let Some((position, Some(saved))) =
            saved_state::<OverdueIndex>(store, TIMER_CHECKPOINT, "the overdue timer's").await?
        {
            index = OverdueIndex {
                position,
                saved: position,
                ..saved
            };
        }
        index.loaded = true;
        Ok(index)
    }

    async fn save_index(
        store: &crate::store::EventStore,
        index: &mut OverdueIndex,
    ) -> Result<(), CommandError> {
        save_state(
            store,
            TIMER_CHECKPOINT,
            index.position,
            &*index,
            "the overdue",
        )
        .await?;
        index.saved = index.position;
        Ok(())
    }

    /// Saves the timer's index where it has read to, if it read anything
    /// since it was last saved (on stopping), so that the next start
    /// resumes from it.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn save_timers(&self) -> Result<(), CommandError> {
        let mut index = self.overdue.lock().await;
        if index.loaded && index.position > index.saved {
            Self::save_index(self.engine.store(), &mut index).await?;
        }
        Ok(())
    }

    /// Follows the log until `shutdown`: reacts to new events as they are
    /// appended and runs the timers every `tick`; on `shutdown`, saves the
    /// timer's index.
    pub async fn run(&self, tick: Duration, shutdown: impl Future<Output = ()>) {
        self.follow(tick, shutdown).await;
        if let Err(err) = self.save_timers().await {
            tracing::warn!(error = %err, "the overdue timer's index was not saved; the next start folds the log from its last save");
        }
        if let Err(err) = self.notifier.save_now().await {
            tracing::warn!(error = %err, "the notifications' index was not saved; the next start folds the log from its last save");
        }
    }

    async fn follow(&self, tick: Duration, shutdown: impl Future<Output = ()>) {
        let store = self.engine.store();
        let holder = self.holder;
        tokio::pin!(shutdown);
        loop {
            // Stand by until this server holds the managers' lease.
            let mut lease = loop {
                match store.acquire_lease(LEASE, holder, LEASE_TTL).await {
                    Ok(Some(lease)) => break lease,
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot reach the database for the process managers' lease")
                    }
                }
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(LEASE_TTL / 5) => {}
                }
            };
            let stopped = self.lead(&mut lease, tick, &mut shutdown).await;
            if stopped {
                if let Err(err) = store.release_lease(&lease).await {
                    tracing::warn!(error = %err, "could not give the process managers' lease up; it lapses by itself");
                }
                return;
            }
            tracing::warn!("the process managers' lease lapsed; another server may run them now");
        }
    }

    /// Runs the managers while `lease` holds. True when `shutdown` came,
    /// false when the lease was lost.
    async fn lead(
        &self,
        lease: &mut Lease,
        tick: Duration,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> bool {
        let store = self.engine.store();
        let mut head = store.watch_head();
        let mut timer = tokio::time::interval(tick);
        loop {
            if lease.due()
                && let Err(err) = store.renew_lease(lease).await
            {
                tracing::warn!(error = %err, "cannot renew the process managers' lease");
            }
            if !lease.live() {
                return false;
            }
            let passed = self.pass(Some(lease)).await;
            if let Err(err) = self.notifier.run_once().await {
                tracing::error!(error = %err, "notifications failed; retrying");
            }
            match passed {
                Ok(0) => {}
                Ok(_) => {
                    tokio::select! {
                        () = &mut *shutdown => return true,
                        () = tokio::time::sleep(PACE) => {}
                    }
                }
                Err(err) => tracing::error!(error = %err, "process managers failed; retrying"),
            }
            tokio::select! {
                () = &mut *shutdown => return true,
                () = tokio::time::sleep(LEASE_TTL / 5) => {}
                _ = head.changed() => {}
                _ = timer.tick() => {
                    if let Err(err) = self.tick_timers().await {
                        tracing::error!(error = %err, "overdue timer failed; retrying");
                    }
                    if let Err(err) = self.notifier.tick().await {
                        tracing::error!(error = %err, "reminders failed; retrying");
                    }
                }
            }
        }
    }
}

/// A reader's index kept as the state of its checkpoint `name` (ADR
/// 0025): `None` when none is saved; the position with `None` when the
/// saved one no longer reads (logged as `what` index), so that the reader
/// folds the log again.
pub(crate) async fn saved_state<T: serde::de::DeserializeOwned>(
    store: &crate::store::EventStore,
    name: &str,
    what: &str,
) -> Result<Option<(u64, Option<T>)>, StoreError> {
    let Some((position, state)) = store.checkpoint_state(name).await? else {
        return Ok(None);
    };
    match serde_json::from_str::<T>(&state) {
        Ok(saved) => Ok(Some((position, Some(saved)))),
        Err(err) => {
            tracing::warn!(
                error = %err,
                "{what} saved index does not read; folding the log again"
            );
            Ok(Some((position, None)))
        }
    }
}

/// Saves `index` as the state of checkpoint `name` at `position`.
pub(crate) async fn save_state<T: Serialize>(
    store: &crate::store::EventStore,
    name: &str,
    position: u64,
    index: &T,
    what: &str,
) -> Result<(), StoreError> {
    let state = serde_json::to_string(index)
        .map_err(|e| StoreError::Internal(format!("saving {what} index: {e}")))?;
    store.save_checkpoint_state(name, position, &state).await
}
