//! Process managers: reactions to the log that issue commands of their own.
//!
//! - Adopting a change project registers its innovation (source: change
//!   project) and links the project to it.
//! - Replicating an innovation registers the adopter's own innovation,
//!   linked to the original.
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

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::codec::decode;
use crate::domain::change_project::{ChangeProject, ProjectCommand, ProjectEvent};
use crate::domain::innovation::{
    Form, Innovation, InnovationCommand, InnovationEvent, Origin, Profile, Source,
};
use crate::domain::values::{InnovationId, MilestoneId, ProjectId};
use crate::domain::{Actor, Aggregate, DomainError};
use crate::engine::{CommandError, Context, Engine};
use crate::store::{RecordedEvent, StoreError};

/// The checkpoint name of the reactions.
pub const CHECKPOINT: &str = "process_managers";

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
        let plan = |index: &mut Self, proposal: &crate::domain::change_project::Proposal| {
            index.open.retain(|(p, _), _| p != project);
            for m in &proposal.milestones {
                index.open.insert((project.to_owned(), m.id.clone()), m.due);
            }
        };
        match event {
            ProjectEvent::ProjectProposed { proposal, .. }
            | ProjectEvent::ProposalRevised { proposal } => plan(self, proposal),
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
    ctx
}

impl ProcessManagers {
    /// Process managers over `engine`.
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            overdue: Mutex::new(OverdueIndex::default()),
        }
    }

    /// Handles every event after the checkpoint that is in the log now,
    /// saving the checkpoint after each batch. Returns how many events were read.
    ///
    /// # Errors
    /// Storage failures (the events are handled again next time).
    pub async fn run_once(&self) -> Result<usize, CommandError> {
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
            store.save_checkpoint(CHECKPOINT, after).await?;
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
                ProjectCommand::LinkInnovation { innovation_id },
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
            ..
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
        let mut index = OverdueIndex {
            loaded: true,
            ..OverdueIndex::default()
        };
        if let Some((position, state)) = store.checkpoint_state(TIMER_CHECKPOINT).await? {
            match serde_json::from_str::<OverdueIndex>(&state) {
                Ok(saved) => {
                    index = OverdueIndex {
                        position,
                        saved: position,
                        loaded: true,
                        ..saved
                    };
                }
                Err(err) => tracing::warn!(
                    error = %err,
                    "the overdue timer's saved index does not read; folding the log again"
                ),
            }
        }
        Ok(index)
    }

    async fn save_index(
        store: &crate::store::EventStore,
        index: &mut OverdueIndex,
    ) -> Result<(), CommandError> {
        let state = serde_json::to_string(&*index)
            .map_err(|e| StoreError::Internal(format!("saving the overdue index: {e}")))?;
        store
            .save_checkpoint_state(TIMER_CHECKPOINT, index.position, &state)
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
    }

    async fn follow(&self, tick: Duration, shutdown: impl Future<Output = ()>) {
        let mut head = self.engine.store().watch_head();
        let mut timer = tokio::time::interval(tick);
        tokio::pin!(shutdown);
        loop {
            match self.run_once().await {
                Ok(0) => {}
                Ok(_) => {
                    tokio::select! {
                        () = &mut shutdown => return,
                        () = tokio::time::sleep(PACE) => {}
                    }
                }
                Err(err) => tracing::error!(error = %err, "process managers failed; retrying"),
            }
            tokio::select! {
                () = &mut shutdown => return,
                _ = head.changed() => {}
                _ = timer.tick() => {
                    if let Err(err) = self.tick_timers().await {
                        tracing::error!(error = %err, "overdue timer failed; retrying");
                    }
                }
            }
        }
    }
}
