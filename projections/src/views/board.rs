//! The project board: one document per change project, kept current by its
//! events. The mentor inbox and cohort progress are read from it.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use jejak_engine::codec::decode;
use jejak_engine::domain::Aggregate as _;
use jejak_engine::domain::change_project::{ChangeProject, Grade, MilestoneStatus, ProjectEvent};
use jejak_engine::domain::values::{Attachment, Horizon};
use jejak_engine::privacy::Sealed;
use jejak_engine::privacy::fields::sealed_in;
use jejak_engine::store::RecordedEvent;
use serde::{Deserialize, Serialize};

use crate::projection::{Beside, Docs, Projection, ProjectionError};

/// A milestone on the board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilestoneRow {
    /// Its id.
    pub id: String,
    /// Its horizon.
    pub horizon: Horizon,
    /// Its title.
    pub title: String,
    /// Due date.
    pub due: NaiveDate,
    /// Status.
    pub status: MilestoneStatus,
    /// Flagged overdue.
    pub overdue: bool,
    /// When evidence was last submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// The mentor's reason when returned.
    pub returned_reason: Option<String>,
    /// What it is to produce (from the plan).
    #[serde(default)]
    pub expected_output: String,
    /// The attachments of its latest submission: what the mentor approves.
    #[serde(default)]
    pub last_submission: Vec<Attachment>,
}

/// Counts of one horizon.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HorizonCounts {
    /// Approved by the mentor.
    pub approved: u32,
    /// Submitted, waiting for the mentor.
    pub submitted: u32,
    /// Planned in all.
    pub total: u32,
}

/// One change project on the board.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ProjectRow {
    pub project_id: String,
    /// Its short code, `COHORT/NNN` (empty for projects enrolled before codes).
    pub code: String,
    pub title: String,
    /// The proposal's change area.
    #[serde(default)]
    pub change_area: String,
    /// The participant's person id.
    pub participant: String,
    /// NIP, name and position: empty in the view when the event sealed
    /// them (`personal`), filled when read through [`crate::views::Views`].
    pub participant_nip: String,
    pub participant_name: String,
    pub position: String,
    /// The participant's personal fields as the log holds them, sealed
    /// (ADR 0022); absent for projects proposed before sealing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<Sealed>,
    pub opd: String,
    pub cohort_id: String,
    pub level: String,
    pub mentor: String,
    pub coach: String,
    pub examiners: Vec<String>,
    pub organizer: String,
    pub workflow: String,
    pub state: String,
    pub milestones: BTreeMap<String, MilestoneRow>,
    pub change_area_agreed: bool,
    pub action_plan_approved: bool,
    /// When the proposal started waiting for the mentor (agreement, plan approval).
    pub proposal_waiting_since: Option<DateTime<Utc>>,
    /// `Some(true)` accepted, `Some(false)` to revise.
    pub proposal_seminar: Option<bool>,
    pub final_report_submitted: bool,
    pub final_score: Option<u8>,
    pub final_passed: Option<bool>,
    pub grade: Option<String>,
    pub adoption_endorsed: bool,
    /// When adoption started waiting for the mentor's endorsement.
    pub adoption_waiting_since: Option<DateTime<Utc>>,
    pub innovation_id: Option<String>,
    pub replications: u32,
    pub proposed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
    /// When the participant's plan change started waiting for the mentor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_change_waiting_since: Option<DateTime<Utc>>,
    /// What that change asks: the plan as it is to stand, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_change: Option<PlanChangeRow>,
}

/// A plan change waiting for the mentor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChangeRow {
    /// Why the participant asks.
    pub reason: String,
    /// The whole plan as it is to stand.
    pub milestones: Vec<jejak_engine::domain::change_project::MilestonePlan>,
}

impl ProjectRow {
    /// Approved / submitted / total for a horizon.
    pub fn counts(&self, horizon: Horizon) -> HorizonCounts {
        self.milestones
            .values()
            .filter(|m| m.horizon == horizon)
            .fold(HorizonCounts::default(), |mut c, m| {
                c.total += 1;
                match m.status {
                    MilestoneStatus::Approved => c.approved += 1,
                    MilestoneStatus::Submitted => c.submitted += 1,
                    _ => {}
                }
                c
            })
    }

    /// The earliest due date of a milestone not approved.
    pub fn next_due(&self) -> Option<NaiveDate> {
        self.milestones
            .values()
            .filter(|m| m.status != MilestoneStatus::Approved)
            .map(|m| m.due)
            .min()
    }

    /// Whether anything of the project waits for its mentor: exactly when
    /// [`crate::views::inbox_of`] lists an item of it.
    pub fn waits_for_mentor(&self) -> bool {
        self.proposal_waiting_since.is_some()
            || self.adoption_waiting_since.is_some()
            || self.plan_change_waiting_since.is_some()
            || (self.state != "withdrawn"
                && self
                    .milestones
                    .values()
                    .any(|m| m.status == MilestoneStatus::Submitted && m.submitted_at.is_some()))
    }

    /// Milestones flagged overdue and not approved.
    pub fn overdue_count(&self) -> u32 {
        self.milestones
            .values()
            .filter(|m| m.overdue && m.status != MilestoneStatus::Approved)
            .count() as u32
    }
}

/// The project board projection.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProjectBoard;

fn project_key(event: &RecordedEvent) -> Option<String> {
    event
        .stream_id
        .as_str()
        .strip_prefix(ChangeProject::KIND)?
        .strip_prefix('-')
        .map(str::to_owned)
}

fn refresh_waiting(row: &mut ProjectRow, at: DateTime<Utc>) {
    let proposal_waits =
        row.state == "proposed" && !(row.change_area_agreed && row.action_plan_approved);
    row.proposal_waiting_since = match (proposal_waits, row.proposal_waiting_since) {
        (true, Some(since)) => Some(since),
        (true, None) => Some(at),
        (false, _) => None,
    };
    let adoption_waits = row.state == "piloted"
        && row.final_passed == Some(true)
        && row.grade.is_some()
        && !row.adoption_endorsed;
    row.adoption_waiting_since = match (adoption_waits, row.adoption_waiting_since) {
        (true, Some(since)) => Some(since),
        (true, None) => Some(at),
        (false, _) => None,
    };
}

impl Projection for ProjectBoard {
    const NAME: &'static str = "project_board";
    type Doc = ProjectRow;

    fn keys(&self, event: &RecordedEvent) -> Vec<String> {
        if event.stream_type != ChangeProject::KIND {
            return vec![];
        }
        project_key(event).into_iter().collect()
    }

    fn apply(
        &self,
        event: &RecordedEvent,
        docs: &mut Docs<ProjectRow>,
    ) -> Result<(), ProjectionError> {
        if event.stream_type != ChangeProject::KIND {
            return Ok(());
        }
        let Some(key) = project_key(event) else {
            return Ok(());
        };
        let at = event.occurred_at();
        let decoded: ProjectEvent = decode(event)?;
        if let ProjectEvent::ProjectProposed {
            project_id,
            cohort,
            enrollment,
            workflow,
            proposal,
        } = &decoded
        {
            // The view keeps the sealed value, never the opened fields: a
            // read opens it, so an erasure needs no rebuild to show "[dihapus]".
            let personal = serde_json::from_str::<serde_json::Value>(&event.payload)
                .ok()
                .and_then(|payload| sealed_in(&payload).into_iter().next());
            let shown = |text: &str| {
                if personal.is_some() {
                    String::new()
                } else {
                    text.to_owned()
                }
            };
            let row = ProjectRow {
                project_id: project_id.to_string(),
                code: enrollment
                    .code(&cohort.cohort_id)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                title: proposal.title.clone(),
                change_area: proposal.change_area.clone(),
                participant: enrollment.participant.person.to_string(),
                participant_nip: shown(enrollment.participant.nip.as_str()),
                participant_name: shown(&enrollment.participant.name),
                position: shown(&enrollment.participant.position),
                personal,
                opd: enrollment.participant.opd.to_string(),
                cohort_id: cohort.cohort_id.to_string(),
                level: cohort.level.as_str().to_owned(),
                mentor: enrollment.mentor.clone(),
                coach: enrollment.coach.clone(),
                examiners: enrollment.examiners.clone(),
                organizer: cohort.organizer.clone(),
                workflow: workflow.to_string(),
                state: String::new(),
                milestones: BTreeMap::new(),
                change_area_agreed: false,
                action_plan_approved: false,
                proposal_waiting_since: None,
                proposal_seminar: None,
                final_report_submitted: false,
                final_score: None,
                final_passed: None,
                grade: None,
                adoption_endorsed: false,
                adoption_waiting_since: None,
                innovation_id: None,
                replications: 0,
                proposed_at: at,
                updated_at: at,
                version: event.stream_version,
                plan_change_waiting_since: None,
                plan_change: None,
            };
            docs.put(key.clone(), row);
        }
        let Some(row) = docs.get_mut(&key) else {
            return Err(ProjectionError(format!(
                "project {key} has events before its proposal"
            )));
        };
        let plan =
            |row: &mut ProjectRow,
             milestones: &[jejak_engine::domain::change_project::MilestonePlan]| {
                let old = std::mem::take(&mut row.milestones);
                for m in milestones {
                    let kept = old.get(m.id.as_str());
                    row.milestones.insert(
                        m.id.to_string(),
                        MilestoneRow {
                            id: m.id.to_string(),
                            horizon: m.horizon,
                            title: m.title.clone(),
                            due: m.due,
                            status: kept.map_or(MilestoneStatus::Planned, |k| k.status),
                            overdue: kept.is_some_and(|k| k.overdue && k.due == m.due),
                            submitted_at: kept.and_then(|k| k.submitted_at),
                            returned_reason: kept.and_then(|k| k.returned_reason.clone()),
                            expected_output: m.expected_output.clone(),
                            last_submission: kept
                                .map(|k| k.last_submission.clone())
                                .unwrap_or_default(),
                        },
                    );
                }
            };
        match &decoded {
            ProjectEvent::ProjectProposed { proposal, .. } => plan(row, &proposal.milestones),
            ProjectEvent::ProposalRevised { proposal } => {
                plan(row, &proposal.milestones);
                row.title.clone_from(&proposal.title);
                row.change_area.clone_from(&proposal.change_area);
                row.action_plan_approved = false;
                if row.proposal_seminar == Some(false) {
                    row.proposal_seminar = None;
                }
            }
            ProjectEvent::ChangeAreaAgreed { .. } => row.change_area_agreed = true,
            ProjectEvent::ActionPlanApproved { .. } => row.action_plan_approved = true,
            ProjectEvent::ActionPlanReturned { .. } => row.action_plan_approved = false,
            ProjectEvent::ProposalSeminarHeld { accepted, .. }
            | ProjectEvent::ProposalSeminarCorrected { accepted, .. } => {
                row.proposal_seminar = Some(*accepted)
            }
            ProjectEvent::EvidenceSubmitted {
                milestone_id,
                attachments,
                ..
            } => {
                if let Some(m) = row.milestones.get_mut(milestone_id.as_str()) {
                    m.status = MilestoneStatus::Submitted;
                    m.submitted_at = Some(at);
                    m.last_submission.clone_from(attachments);
                }
            }
            ProjectEvent::MilestoneApproved { milestone_id, .. } => {
                if let Some(m) = row.milestones.get_mut(milestone_id.as_str()) {
                    m.status = MilestoneStatus::Approved;
                    m.returned_reason = None;
                }
            }
            ProjectEvent::MilestoneReturned {
                milestone_id,
                reason,
                ..
            } => {
                if let Some(m) = row.milestones.get_mut(milestone_id.as_str()) {
                    m.status = MilestoneStatus::Returned;
                    m.returned_reason = Some(reason.clone());
                }
            }
            ProjectEvent::MilestoneOverdue { milestone_id, .. } => {
                if let Some(m) = row.milestones.get_mut(milestone_id.as_str()) {
                    m.overdue = true;
                }
            }
            ProjectEvent::FinalReportSubmitted { .. } => row.final_report_submitted = true,
            ProjectEvent::FinalSeminarHeld { score, passed, .. }
            | ProjectEvent::FinalSeminarCorrected { score, passed, .. } => {
                row.final_score = Some(*score);
                row.final_passed = Some(*passed);
            }
            // The predikat as written ("sangat memuaskan").
            ProjectEvent::Graded { grade, .. } | ProjectEvent::GradeCorrected { grade, .. } => {
                row.grade = Some(grade.label().to_owned());
            }
            ProjectEvent::AdoptionEndorsed { .. } => row.adoption_endorsed = true,
            ProjectEvent::InnovationLinked { innovation_id } => {
                row.innovation_id = Some(innovation_id.to_string())
            }
            ProjectEvent::ReplicationRecorded { .. } => row.replications += 1,
            ProjectEvent::StateChanged { to, .. } => row.state.clone_from(to),
            ProjectEvent::WorkflowChanged { workflow, .. } => row.workflow = workflow.to_string(),
            ProjectEvent::PlanChangeRequested {
                milestones, reason, ..
            } => {
                row.plan_change_waiting_since = Some(at);
                row.plan_change = Some(PlanChangeRow {
                    reason: reason.clone(),
                    milestones: milestones.clone(),
                });
            }
            ProjectEvent::PlanChangeApproved { milestones, .. } => {
                plan(row, milestones);
                row.plan_change_waiting_since = None;
                row.plan_change = None;
            }
            ProjectEvent::PlanChangeReturned { .. } => {
                row.plan_change_waiting_since = None;
                row.plan_change = None;
            }
            // The project follows its cohort's reassignment: what waits for
            // a mentor moves with the project to the new one (ADR 0027).
            ProjectEvent::StaffAssigned { staff, .. } => {
                row.mentor.clone_from(&staff.mentor);
                row.coach.clone_from(&staff.coach);
                row.examiners.clone_from(&staff.examiners);
            }
            // The project follows its cohort's amendment of the enrolment:
            // the view keeps the new sealed value, as at the proposal.
            ProjectEvent::ParticipantAmended { participant, .. } => {
                let personal = serde_json::from_str::<serde_json::Value>(&event.payload)
                    .ok()
                    .and_then(|payload| sealed_in(&payload).into_iter().next());
                let shown = |text: &str| {
                    if personal.is_some() {
                        String::new()
                    } else {
                        text.to_owned()
                    }
                };
                row.participant_nip = shown(participant.nip.as_str());
                row.participant_name = shown(&participant.name);
                row.position = shown(&participant.position);
                row.personal = personal;
                row.opd = participant.opd.to_string();
            }
            ProjectEvent::CommentAdded { .. }
            | ProjectEvent::ProposalMarkedReady { .. }
            | ProjectEvent::WorkplacePhaseStarted { .. }
            | ProjectEvent::ReportMarkedReady { .. }
            | ProjectEvent::GraduationDeferred { .. }
            | ProjectEvent::GraduationResumed { .. }
            | ProjectEvent::Withdrawn { .. } => {}
        }
        row.updated_at = at;
        row.version = event.stream_version;
        refresh_waiting(row, at);
        Ok(())
    }

    /// A project is found by its cohort, OPD, people and state, by its
    /// mentor while something waits for them (the inbox), and by its
    /// cohort while it is late; it counts in its cohort's progress, and
    /// its OPD among the OPDs the statistics know (ADR 0033).
    fn beside(row: &ProjectRow) -> Beside {
        let mut kept = Beside::default();
        kept.term(term::COHORT, &row.cohort_id);
        kept.term(term::OPD, &row.opd);
        kept.term(term::MENTOR, &row.mentor);
        kept.term(term::COACH, &row.coach);
        kept.term(term::ORGANIZER, &row.organizer);
        kept.term(term::PARTICIPANT, &row.participant);
        kept.term(term::STATE, &row.state);
        for examiner in &row.examiners {
            kept.term(term::EXAMINER, examiner);
        }
        if row.waits_for_mentor() {
            kept.term(term::WAITING, &row.mentor);
        }
        let overdue = row.overdue_count();
        if overdue > 0 {
            kept.term(term::LATE, &row.cohort_id);
        }
        let cohort = &row.cohort_id;
        kept.count(term::STATE, cohort, &row.state, 1);
        kept.count(term::OVERDUE, cohort, "", i64::from(overdue));
        if let Some(accepted) = row.proposal_seminar {
            kept.count(
                term::PROPOSAL,
                cohort,
                if accepted { "accepted" } else { "to_revise" },
                1,
            );
        }
        if let Some(passed) = row.final_passed {
            kept.count(
                term::FINAL,
                cohort,
                if passed { "passed" } else { "failed" },
                1,
            );
        }
        if let Some(grade) = &row.grade {
            kept.count(term::GRADE, cohort, Grade::as_written(grade), 1);
        }
        kept.count(term::OPD, "", &row.opd, 1);
        kept
    }
}

/// The names of what the board keeps beside its rows (ADR 0033).
pub(crate) mod term {
    pub const COHORT: &str = "cohort";
    pub const OPD: &str = "opd";
    pub const MENTOR: &str = "mentor";
    pub const COACH: &str = "coach";
    pub const ORGANIZER: &str = "organizer";
    pub const PARTICIPANT: &str = "participant";
    pub const EXAMINER: &str = "examiner";
    pub const STATE: &str = "state";
    /// Something waits for the project's mentor.
    pub const WAITING: &str = "waiting";
    /// A milestone is overdue.
    pub const LATE: &str = "late";
    pub const OVERDUE: &str = "overdue";
    pub const PROPOSAL: &str = "proposal";
    pub const FINAL: &str = "final";
    pub const GRADE: &str = "grade";
}
