//! The notifications process manager: events and the clock in, messages
//! into the outbox out.
//!
//! It keeps an index of what it needs to word and address a message (per
//! project: code, title, participant, mentor, organizer, state and
//! milestones), folded from the log and saved with its checkpoint
//! ([`CHECKPOINT`], every [`SAVE_EVERY`] events and when it stops); a start
//! reads the log after it. Reading an event twice is harmless: a message's
//! id is derived from its cause, and the outbox keeps the first.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{
    Audience, Facts, Kind, Late, OVERDUE_AGAIN_DAYS, REMIND_DAYS, message_id, summary_week,
};
use crate::codec::decode;
use crate::domain::Aggregate as _;
use crate::domain::change_project::{ChangeProject, MilestonePlan, ProjectEvent};
use crate::domain::values::Horizon;
use crate::engine::{CommandError, Engine};
use crate::process::{save_state, saved_state};
use crate::store::{NewMessage, RecordedEvent, StoreError};

/// The checkpoint (with its saved index) of the notifications manager.
pub const CHECKPOINT: &str = "notifications";

const BATCH: usize = 1_000;
/// The index is saved after reading this many events since it last was.
const SAVE_EVERY: u64 = 10_000;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Milestone {
    title: String,
    horizon: String,
    due: Option<NaiveDate>,
    approved: bool,
    overdue: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Project {
    cohort: String,
    code: String,
    title: String,
    participant: String,
    mentor: String,
    organizer: String,
    ends_on: Option<NaiveDate>,
    state: String,
    final_passed: bool,
    milestones: BTreeMap<String, Milestone>,
}

impl Project {
    fn facts(&self, what: &str) -> Facts {
        Facts {
            what: what.to_owned(),
            cohort: self.cohort.clone(),
            project_code: self.code.clone(),
            title: self.title.clone(),
            ..Facts::default()
        }
    }

    fn milestone_facts(&self, what: &str, id: &str) -> Facts {
        let m = self.milestones.get(id).cloned().unwrap_or_default();
        Facts {
            milestone_id: id.to_owned(),
            milestone_title: m.title,
            horizon: m.horizon,
            due: m.due,
            ..self.facts(what)
        }
    }

    fn plan(&mut self, milestones: &[MilestonePlan]) {
        let before = std::mem::take(&mut self.milestones);
        for m in milestones {
            let kept = before.get(m.id.as_str());
            self.milestones.insert(
                m.id.as_str().to_owned(),
                Milestone {
                    title: m.title.clone(),
                    horizon: match m.horizon {
                        Horizon::Short => "short",
                        Horizon::Medium => "medium",
                        Horizon::Long => "long",
                    }
                    .to_owned(),
                    due: Some(m.due),
                    approved: kept.is_some_and(|k| k.approved),
                    // A milestone moved to another date may fall overdue again.
                    overdue: kept.is_some_and(|k| k.overdue && k.due == Some(m.due)),
                },
            );
        }
    }

    /// Whether its people still hear of it: not withdrawn.
    fn open(&self) -> bool {
        self.state != "withdrawn"
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    #[serde(skip)]
    position: u64,
    #[serde(skip)]
    saved: u64,
    #[serde(skip)]
    loaded: bool,
    /// The log's head when the manager first started: what happened up to
    /// it is folded into the index but told to nobody, so that a
    /// deployment's history (or a demo's) does not reach people as news.
    quiet_until: u64,
    projects: BTreeMap<String, Project>,
    /// The ids of the reminders and summaries the timer put in the outbox
    /// already, so that a tick does not offer them again.
    #[serde(default)]
    timed: std::collections::BTreeSet<String>,
    /// When the timer first ticked: a week's summary falls due only at
    /// its day and hour after this, so that a first start mid-week waits
    /// for the configured day instead of summing up at once.
    #[serde(default)]
    summaries_from: Option<chrono::DateTime<chrono::Utc>>,
}

/// Turns the log and the clock into messages in the outbox.
#[derive(Debug)]
pub struct Notifier {
    engine: Engine,
    index: Mutex<Index>,
}

/// A message about to be put in the outbox.
struct Draft {
    kind: Kind,
    to: Audience,
    recipient: String,
    facts: Facts,
    cause: Vec<String>,
}

impl Draft {
    fn id(&self) -> String {
        let cause: Vec<&str> = self.cause.iter().map(String::as_str).collect();
        message_id(self.kind, &self.recipient, &cause)
    }
}

impl Notifier {
    /// The notifications manager of `engine`.
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            index: Mutex::new(Index::default()),
        }
    }

    /// Loads the saved index, or on the very first start records the log's
    /// head as history (told to nobody). A server calls it before it
    /// serves, so that nothing written through it counts as history.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn prepare(&self) -> Result<(), CommandError> {
        let mut index = self.index.lock().await;
        if !index.loaded {
            *index = self.saved().await?;
        }
        Ok(())
    }

    /// Reads the log after its checkpoint and puts a message in the outbox
    /// for each event someone should hear of. Returns how many events it read.
    ///
    /// # Errors
    /// Storage failures (the events are read again next time).
    pub async fn run_once(&self) -> Result<usize, CommandError> {
        let store = self.engine.store();
        let mut index = self.index.lock().await;
        if !index.loaded {
            *index = self.saved().await?;
        }
        let mut read = 0;
        loop {
            let batch = store.read_all(index.position, BATCH).await?;
            let Some(last) = batch.last().map(|e| e.position) else {
                break;
            };
            let mut drafts = Vec::new();
            for event in batch
                .iter()
                .filter(|e| e.stream_type == ChangeProject::KIND)
            {
                let told = drafts.len();
                apply(&mut index, event, &mut drafts)?;
                if event.position <= index.quiet_until {
                    drafts.truncate(told);
                }
            }
            self.put(&drafts, last).await?;
            read += batch.len();
            index.position = last;
            if index.position >= index.saved + SAVE_EVERY {
                self.save(&mut index).await?;
            }
        }
        Ok(read)
    }

    /// The reminders and summaries due by the engine's clock: a reminder
    /// to participant and mentor for each open milestone falling due within
    /// [`REMIND_DAYS`] days (once per milestone and due date; a project
    /// still at its proposal is reminded too, its plan not yet approved);
    /// after the training, every [`OVERDUE_AGAIN_DAYS`] days again for a
    /// medium- or long-term milestone still overdue; and from the
    /// configured day's morning on (`EngineConfig::summary_day`), each
    /// cohort's weekly summary to its organizer. Returns how many messages
    /// it added.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn tick(&self) -> Result<u64, CommandError> {
        self.run_once().await?;
        let mut index = self.index.lock().await;
        let now = self.engine.clock().now();
        let today = self.engine.today();
        let zone = self.engine.config().time_zone;
        let first_tick = index.summaries_from.is_none();
        let summaries_from = *index.summaries_from.get_or_insert(now);
        let mut drafts = Vec::new();
        for (id, project) in index.projects.iter().filter(|(_, p)| p.open()) {
            for (m_id, m) in &project.milestones {
                let Some(due) = m.due else { continue };
                let days = (due - today).num_days();
                if m.approved {
                    continue;
                }
                let both = |kind: Kind, what: &str, cause: Vec<String>| {
                    [
                        (Audience::Participant, &project.participant),
                        (Audience::Mentor, &project.mentor),
                    ]
                    .map(|(to, recipient)| Draft {
                        kind,
                        to,
                        recipient: recipient.clone(),
                        facts: project.milestone_facts(what, m_id),
                        cause: cause.clone(),
                    })
                };
                if !m.overdue && (0..=REMIND_DAYS).contains(&days) {
                    // At the proposal the plan is not yet approved: the
                    // reminder says so.
                    let what = if project.state == "proposed" {
                        "due_soon_proposed"
                    } else {
                        "due_soon"
                    };
                    drafts.extend(both(
                        Kind::DueSoon,
                        what,
                        vec![id.clone(), m_id.clone(), due.to_string()],
                    ));
                }
                // After the training nobody follows up: a medium- or
                // long-term milestone still overdue is told again.
                let after_training = project.ends_on.is_some_and(|end| today > end);
                let again = -days / OVERDUE_AGAIN_DAYS;
                if m.overdue && m.horizon != "short" && after_training && again >= 1 {
                    drafts.extend(both(
                        Kind::Overdue,
                        "overdue_again",
                        vec![
                            id.clone(),
                            m_id.clone(),
                            due.to_string(),
                            format!("again-{again}"),
                        ],
                    ));
                }
            }
        }
        let day = self.engine.config().summary_day;
        // A week's summary is due from its day on, if the timer ran on
        // that day or before: a first start later in the week waits.
        let local_day = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&zone).date_naive();
        if let Some((week, due)) = summary_week(now, zone, day)
            && local_day(due) >= local_day(summaries_from)
        {
            drafts.extend(summaries(&index, &week, today));
        }
        drafts.retain(|d| !index.timed.contains(&d.id()));
        let added = self.put(&drafts, index.position).await?;
        index.timed.extend(drafts.iter().map(Draft::id));
        if first_tick || added > 0 {
            // What the timer offered is kept with the index, so that a
            // restart neither offers it again nor moves the first tick.
            self.save(&mut index).await?;
        }
        Ok(added)
    }

    /// Saves the index where it has read to, if it read anything since it
    /// was last saved (on stopping).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn save_now(&self) -> Result<(), CommandError> {
        let mut index = self.index.lock().await;
        if index.loaded && index.position > index.saved {
            self.save(&mut index).await?;
        }
        Ok(())
    }

    async fn put(&self, drafts: &[Draft], position: u64) -> Result<u64, CommandError> {
        if drafts.is_empty() {
            return Ok(0);
        }
        let now = self.engine.clock().now();
        let messages = drafts
            .iter()
            .filter(|d| !d.recipient.is_empty())
            .map(|d| {
                Ok(NewMessage {
                    id: d.id(),
                    recipient: d.recipient.clone(),
                    recipient_role: d.to.as_str().to_owned(),
                    kind: d.kind.as_str().to_owned(),
                    facts: serde_json::to_string(&d.facts).map_err(|e| {
                        StoreError::Internal(format!("writing a message's facts: {e}"))
                    })?,
                    cause_position: position,
                    created_at: now,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(self.engine.store().enqueue(&messages).await?)
    }

    async fn saved(&self) -> Result<Index, CommandError> {
        let store = self.engine.store();
        let mut index = match saved_state::<Index>(store, CHECKPOINT, "the notifications'").await? {
            Some((position, Some(saved))) => Index {
                position,
                saved: position,
                ..saved
            },
            Some((position, None)) => Index {
                quiet_until: position,
                ..Index::default()
            },
            // The first start: what the log holds already is history.
            None => {
                let mut index = Index {
                    quiet_until: store.digest().await?.position,
                    ..Index::default()
                };
                self.save(&mut index).await?;
                index
            }
        };
        index.loaded = true;
        Ok(index)
    }

    async fn save(&self, index: &mut Index) -> Result<(), CommandError> {
        save_state(
            self.engine.store(),
            CHECKPOINT,
            index.position,
            &*index,
            "the notifications'",
        )
        .await?;
        index.saved = index.position;
        Ok(())
    }
}

/// Each open cohort's weekly summary for `week`, to its organizer: its
/// projects per state, those with overdue milestones, and what falls due
/// in the coming seven days.
fn summaries(index: &Index, week: &str, today: NaiveDate) -> Vec<Draft> {
    let mut cohorts: BTreeMap<(&str, &str), Vec<&Project>> = BTreeMap::new();
    for p in index.projects.values() {
        cohorts
            .entry((p.cohort.as_str(), p.organizer.as_str()))
            .or_default()
            .push(p);
    }
    let next_week = today.checked_add_days(Days::new(7)).unwrap_or(today);
    let mut drafts = Vec::new();
    for ((cohort, organizer), projects) in cohorts {
        let open_milestones = |p: &&Project| {
            p.open()
                && p.milestones
                    .values()
                    .any(|m| !m.approved && m.due.is_some())
        };
        // A cohort is followed while its training runs, and after it while
        // any project has milestones open (medium and long term).
        let running = projects
            .iter()
            .any(|p| p.open() && p.ends_on.is_none_or(|end| today <= end));
        if !running && !projects.iter().any(open_milestones) {
            continue;
        }
        let mut states: BTreeMap<String, u32> = BTreeMap::new();
        let mut late = Vec::new();
        let mut due_this_week = Vec::new();
        for p in &projects {
            *states.entry(p.state.clone()).or_default() += 1;
            if !p.open() {
                continue;
            }
            let pick = |f: &dyn Fn(&Milestone, NaiveDate) -> bool| -> Vec<(String, NaiveDate)> {
                p.milestones
                    .values()
                    .filter_map(|m| m.due.map(|d| (m, d)))
                    .filter(|(m, d)| !m.approved && f(m, *d))
                    .map(|(m, d)| (m.title.clone(), d))
                    .collect()
            };
            let overdue = pick(&|_, d| d < today);
            if !overdue.is_empty() {
                late.push(Late {
                    code: p.code.clone(),
                    milestones: overdue,
                });
            }
            let soon = pick(&|_, d| d >= today && d <= next_week);
            if !soon.is_empty() {
                due_this_week.push(Late {
                    code: p.code.clone(),
                    milestones: soon,
                });
            }
        }
        drafts.push(Draft {
            kind: Kind::WeeklySummary,
            to: Audience::Organizer,
            recipient: organizer.to_owned(),
            facts: Facts {
                what: "weekly_summary".into(),
                cohort: cohort.to_owned(),
                week: week.to_owned(),
                states: states.into_iter().collect(),
                late,
                due_this_week,
                ..Facts::default()
            },
            cause: vec![cohort.to_owned(), week.to_owned()],
        });
    }
    drafts
}

/// Folds `event` into the index, and drafts what its people should hear.
fn apply(
    index: &mut Index,
    event: &RecordedEvent,
    drafts: &mut Vec<Draft>,
) -> Result<(), CommandError> {
    let Some(id) = event
        .stream_id
        .as_str()
        .strip_prefix(ChangeProject::KIND)
        .and_then(|s| s.strip_prefix('-'))
    else {
        return Ok(());
    };
    let decoded: ProjectEvent = decode(event)?;
    if let ProjectEvent::ProjectProposed {
        cohort,
        enrollment,
        proposal,
        ..
    } = &decoded
    {
        let mut project = Project {
            cohort: cohort.cohort_id.to_string(),
            code: enrollment
                .code(&cohort.cohort_id)
                .map(|c| c.to_string())
                .unwrap_or_else(|| cohort.cohort_id.to_string()),
            title: proposal.title.clone(),
            participant: enrollment.participant.person.to_string(),
            mentor: enrollment.mentor.clone(),
            organizer: cohort.organizer.clone(),
            ends_on: Some(cohort.ends_on),
            state: "proposed".into(),
            ..Project::default()
        };
        project.plan(&proposal.milestones);
        index.projects.insert(id.to_owned(), project);
    }
    let Some(project) = index.projects.get_mut(id) else {
        return Ok(());
    };
    let cause = event.event_id.to_string();
    let mut tell = |kind: Kind, to: Audience, project: &Project, facts: Facts| {
        let recipient = match to {
            Audience::Participant => project.participant.clone(),
            Audience::Mentor => project.mentor.clone(),
            Audience::Organizer => project.organizer.clone(),
        };
        drafts.push(Draft {
            kind,
            to,
            recipient,
            facts,
            cause: vec![cause.clone()],
        });
    };
    use Audience::{Mentor, Participant};
    match decoded {
        ProjectEvent::ProjectProposed { .. } => {
            tell(Kind::Inbox, Mentor, project, project.facts("proposal"));
        }
        ProjectEvent::ProposalRevised { proposal } => {
            project.title = proposal.title.clone();
            project.plan(&proposal.milestones);
            tell(Kind::Inbox, Mentor, project, project.facts("proposal"));
        }
        ProjectEvent::ActionPlanApproved { note, .. } => {
            let facts = Facts {
                note,
                ..project.facts("action_plan_approved")
            };
            tell(Kind::Decision, Participant, project, facts);
        }
        ProjectEvent::ActionPlanReturned { reason, .. } => {
            let facts = Facts {
                note: reason,
                ..project.facts("action_plan_returned")
            };
            tell(Kind::Decision, Participant, project, facts);
        }
        ProjectEvent::EvidenceSubmitted { milestone_id, .. } => {
            let facts = project.milestone_facts("evidence", milestone_id.as_str());
            tell(Kind::Inbox, Mentor, project, facts);
        }
        ProjectEvent::MilestoneApproved {
            milestone_id, note, ..
        } => {
            if let Some(m) = project.milestones.get_mut(milestone_id.as_str()) {
                m.approved = true;
            }
            let facts = Facts {
                note,
                ..project.milestone_facts("milestone_approved", milestone_id.as_str())
            };
            tell(Kind::Decision, Participant, project, facts);
        }
        ProjectEvent::MilestoneReturned {
            milestone_id,
            reason,
            ..
        } => {
            let facts = Facts {
                note: reason,
                ..project.milestone_facts("milestone_returned", milestone_id.as_str())
            };
            tell(Kind::Decision, Participant, project, facts);
        }
        ProjectEvent::MilestoneOverdue { milestone_id, .. } => {
            if let Some(m) = project.milestones.get_mut(milestone_id.as_str()) {
                m.overdue = true;
            }
            if project.open() {
                let facts = project.milestone_facts("overdue", milestone_id.as_str());
                tell(Kind::Overdue, Participant, project, facts.clone());
                tell(Kind::Overdue, Mentor, project, facts);
            }
        }
        ProjectEvent::ProposalSeminarHeld {
            accepted, notes, ..
        }
        | ProjectEvent::ProposalSeminarCorrected {
            accepted, notes, ..
        } => {
            let facts = Facts {
                accepted: Some(accepted),
                note: notes,
                corrected: event.event_type == "ProposalSeminarCorrected",
                ..project.facts("proposal_seminar")
            };
            tell(Kind::Seminar, Participant, project, facts);
        }
        ProjectEvent::FinalSeminarHeld {
            score,
            passed,
            notes,
            ..
        }
        | ProjectEvent::FinalSeminarCorrected {
            score,
            passed,
            notes,
            ..
        } => {
            project.final_passed = passed;
            let facts = Facts {
                accepted: Some(passed),
                score: Some(score),
                note: notes,
                corrected: event.event_type == "FinalSeminarCorrected",
                ..project.facts("final_seminar")
            };
            tell(Kind::Seminar, Participant, project, facts);
        }
        ProjectEvent::Graded { .. } if project.final_passed => {
            tell(Kind::Inbox, Mentor, project, project.facts("adoption"));
        }
        ProjectEvent::PlanChangeRequested { reason, .. } => {
            let facts = Facts {
                note: reason,
                ..project.facts("plan_change")
            };
            tell(Kind::Inbox, Mentor, project, facts);
        }
        ProjectEvent::PlanChangeApproved {
            milestones, note, ..
        } => {
            project.plan(&milestones);
            let facts = Facts {
                note,
                ..project.facts("plan_change_approved")
            };
            tell(Kind::Decision, Participant, project, facts);
        }
        ProjectEvent::PlanChangeReturned { reason, .. } => {
            let facts = Facts {
                note: reason,
                ..project.facts("plan_change_returned")
            };
            tell(Kind::Decision, Participant, project, facts);
        }
        ProjectEvent::StaffAssigned { staff, .. } => project.mentor = staff.mentor,
        ProjectEvent::StateChanged { to, .. } => project.state = to,
        _ => {}
    }
    Ok(())
}
