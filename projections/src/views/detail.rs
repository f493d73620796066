//! A change project's whole page: what its participant, mentor, coach,
//! examiners and organizer read of it (ADR 0028). Unlike the board, no
//! projection keeps it: it is folded on read from the project's own
//! stream ([`jejak_engine::engine::Engine::history`]), so it carries every
//! text and every decision with who and when, and costs nothing to the
//! views that the whole cohort reads.

use chrono::{DateTime, NaiveDate, Utc};
use jejak_engine::domain::Aggregate as _;
use jejak_engine::domain::change_project::{
    ChangeProject, Grade, MilestonePlan, MilestoneStatus, ProjectEvent, ProjectState, Proposal,
    TargetRating,
};
use jejak_engine::domain::values::{Attachment, MilestoneId};
use jejak_engine::engine::Recorded;
use serde::Serialize;

/// Who did something and when.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stamp {
    /// The acting person's id (as in tokens), empty for jejak itself.
    pub by: String,
    /// The role they acted in (`mentor`, `coach`, …; `system` for timers).
    pub role: String,
    /// When it happened (the effective time of a backdated fact, ADR 0030).
    pub at: DateTime<Utc>,
    /// When the log recorded it, when that differs from `at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<DateTime<Utc>>,
}

/// One submission of evidence for a milestone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Submission {
    /// The files.
    pub attachments: Vec<Attachment>,
    /// The participant's note.
    pub note: String,
    /// Who submitted and when.
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// A milestone with its plan, where it stands and every submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MilestoneDetail {
    /// The plan (horizon, title, due date, expected output).
    pub plan: MilestonePlan,
    /// Where it stands.
    pub status: MilestoneStatus,
    /// Flagged past its due date without approval.
    pub overdue: bool,
    /// Every submission, oldest first.
    pub submissions: Vec<Submission>,
}

/// A decision or comment on the project, with its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    /// What it is, as a stable code: `comment`, `change_area_agreed`,
    /// `action_plan_approved`, `action_plan_returned`, `proposal_revised`,
    /// `proposal_ready`, `proposal_seminar`, `workplace_phase_started`,
    /// `evidence_submitted`, `milestone_approved`, `milestone_returned`,
    /// `milestone_overdue`, `final_report_submitted`, `report_ready`,
    /// `final_seminar`, `graded`, `graduation_deferred`,
    /// `graduation_resumed`, `adoption_endorsed`, `innovation_linked`,
    /// `replication_recorded`, `withdrawn`, `workflow_changed`.
    pub kind: String,
    /// The milestone it is about, if any.
    pub milestone_id: Option<String>,
    /// Its text: the note, reason or comment (may be empty).
    pub text: String,
    /// Who and when.
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// A seminar held on the project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeminarResult {
    /// Proposal seminar: accepted (or to revise); final seminar: passed.
    pub accepted: bool,
    /// The final seminar's score.
    pub score: Option<u8>,
    /// The examiner's notes.
    pub notes: String,
    /// The final seminar's rating of each target.
    pub ratings: Vec<TargetRating>,
    /// Who and when.
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// The grade with who set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GradeSet {
    /// The predikat.
    pub grade: Grade,
    /// Who and when.
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// The final report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FinalReport {
    /// Its summary.
    pub summary: String,
    /// The report and its annexes.
    pub attachments: Vec<Attachment>,
    /// Who and when.
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// A change project's whole page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProjectDetail {
    /// Where its lifecycle stands.
    pub state: String,
    /// The current proposal (team and stakeholder names opened, or
    /// `[dihapus]` once the participant was erased).
    pub proposal: Option<Proposal>,
    /// When the proposal was last written.
    pub proposal_at: Option<DateTime<Utc>>,
    /// The day the workplace phase started.
    pub workplace_started_on: Option<NaiveDate>,
    /// The milestones of the current plan, in plan order.
    pub milestones: Vec<MilestoneDetail>,
    /// Every decision and comment, oldest first.
    pub notes: Vec<Note>,
    /// Every proposal seminar, oldest first.
    pub proposal_seminars: Vec<SeminarResult>,
    /// Every final seminar, oldest first.
    pub final_seminars: Vec<SeminarResult>,
    /// The final report, the newest one submitted.
    pub final_report: Option<FinalReport>,
    /// The grade, when set.
    pub grade: Option<GradeSet>,
    /// The stream version folded.
    pub version: u64,
}

impl ProjectDetail {
    /// Folds a project's events (as [`jejak_engine::engine::Engine::history`]
    /// reads them) into its page; `None` for an empty history.
    #[must_use]
    pub fn fold(history: &[Recorded<ProjectEvent>]) -> Option<Self> {
        use ProjectEvent as E;
        let last = history.last()?;
        let mut state = ProjectState::default();
        let mut detail = Self {
            state: String::new(),
            proposal: None,
            proposal_at: None,
            workplace_started_on: None,
            milestones: vec![],
            notes: vec![],
            proposal_seminars: vec![],
            final_seminars: vec![],
            final_report: None,
            grade: None,
            version: last.version,
        };
        let mut submissions: std::collections::BTreeMap<String, Vec<Submission>> =
            std::collections::BTreeMap::new();
        for recorded in history {
            let stamp = Stamp {
                by: recorded.actor_id.clone().unwrap_or_default(),
                role: recorded.actor_role.clone().unwrap_or_default(),
                at: recorded.occurred_at,
                recorded_at: (recorded.occurred_at != recorded.recorded_at)
                    .then_some(recorded.recorded_at),
            };
            let seminar =
                |accepted: bool, score: Option<u8>, notes: &str, ratings: &[TargetRating]| {
                    SeminarResult {
                        accepted,
                        score,
                        notes: notes.to_owned(),
                        ratings: ratings.to_vec(),
                        stamp: stamp.clone(),
                    }
                };
            let mut note = |kind: &str, milestone: Option<&MilestoneId>, text: &str| {
                detail.notes.push(Note {
                    kind: kind.to_owned(),
                    milestone_id: milestone.map(|m| m.as_str().to_owned()),
                    text: text.to_owned(),
                    stamp: stamp.clone(),
                });
            };
            match &recorded.event {
                E::ProjectProposed { .. } | E::ProposalRevised { .. } => {
                    if matches!(recorded.event, E::ProposalRevised { .. }) {
                        note("proposal_revised", None, "");
                    }
                    detail.proposal_at = Some(recorded.occurred_at);
                }
                E::ChangeAreaAgreed { .. } => note("change_area_agreed", None, ""),
                E::ActionPlanApproved { note: text, .. } => {
                    note("action_plan_approved", None, text);
                }
                E::ActionPlanReturned { reason, .. } => note("action_plan_returned", None, reason),
                E::CommentAdded { text, .. } => note("comment", None, text),
                E::ProposalMarkedReady { .. } => note("proposal_ready", None, ""),
                E::ProposalSeminarHeld {
                    accepted, notes, ..
                } => {
                    note("proposal_seminar", None, notes);
                    detail
                        .proposal_seminars
                        .push(seminar(*accepted, None, notes, &[]));
                }
                E::WorkplacePhaseStarted { .. } => note("workplace_phase_started", None, ""),
                E::EvidenceSubmitted {
                    milestone_id,
                    attachments,
                    note: text,
                } => {
                    note("evidence_submitted", Some(milestone_id), text);
                    submissions
                        .entry(milestone_id.to_string())
                        .or_default()
                        .push(Submission {
                            attachments: attachments.clone(),
                            note: text.clone(),
                            stamp: stamp.clone(),
                        });
                }
                E::MilestoneApproved {
                    milestone_id,
                    note: text,
                    ..
                } => note("milestone_approved", Some(milestone_id), text),
                E::MilestoneReturned {
                    milestone_id,
                    reason,
                    ..
                } => note("milestone_returned", Some(milestone_id), reason),
                E::MilestoneOverdue { milestone_id, due } => {
                    note("milestone_overdue", Some(milestone_id), &due.to_string());
                }
                E::FinalReportSubmitted {
                    summary,
                    attachments,
                } => {
                    note("final_report_submitted", None, "");
                    detail.final_report = Some(FinalReport {
                        summary: summary.clone(),
                        attachments: attachments.clone(),
                        stamp: stamp.clone(),
                    });
                }
                E::ReportMarkedReady { .. } => note("report_ready", None, ""),
                E::FinalSeminarHeld {
                    ratings,
                    score,
                    passed,
                    notes,
                    ..
                } => {
                    note("final_seminar", None, notes);
                    detail
                        .final_seminars
                        .push(seminar(*passed, Some(*score), notes, ratings));
                }
                E::Graded { grade, .. } => {
                    note("graded", None, "");
                    detail.grade = Some(GradeSet {
                        grade: *grade,
                        stamp: stamp.clone(),
                    });
                }
                E::GraduationDeferred { reason, .. } => note("graduation_deferred", None, reason),
                E::GraduationResumed { .. } => note("graduation_resumed", None, ""),
                E::AdoptionEndorsed { note: text, .. } => note("adoption_endorsed", None, text),
                E::InnovationLinked { innovation_id } => {
                    note("innovation_linked", None, innovation_id.as_str());
                }
                E::ReplicationRecorded { replication, .. } => note(
                    "replication_recorded",
                    None,
                    &format!(
                        "{} ({}), {} {}",
                        replication.adopter_opd,
                        replication.adopter_region,
                        replication.agreement.kind,
                        replication.agreement.number
                    ),
                ),
                E::Withdrawn { reason, .. } => note("withdrawn", None, reason),
                E::WorkflowChanged { workflow, .. } => note(
                    "workflow_changed",
                    None,
                    &format!("{} v{}", workflow.name, workflow.version),
                ),
                E::PlanChangeRequested { reason, .. } => {
                    note("plan_change_requested", None, reason);
                }
                E::PlanChangeApproved { note: text, .. } => {
                    note("plan_change_approved", None, text);
                }
                E::PlanChangeReturned { reason, .. } => note("plan_change_returned", None, reason),
                // A correction is a result of its own, after the one it
                // corrects; its note carries the reason.
                E::ProposalSeminarCorrected {
                    accepted,
                    notes,
                    reason,
                    ..
                } => {
                    note("proposal_seminar_corrected", None, reason);
                    detail
                        .proposal_seminars
                        .push(seminar(*accepted, None, notes, &[]));
                }
                E::FinalSeminarCorrected {
                    ratings,
                    score,
                    passed,
                    notes,
                    reason,
                    ..
                } => {
                    note("final_seminar_corrected", None, reason);
                    detail
                        .final_seminars
                        .push(seminar(*passed, Some(*score), notes, ratings));
                }
                E::GradeCorrected { grade, reason, .. } => {
                    note("grade_corrected", None, reason);
                    detail.grade = Some(GradeSet {
                        grade: *grade,
                        stamp: stamp.clone(),
                    });
                }
                E::StaffAssigned { staff, .. } => note(
                    "staff_assigned",
                    None,
                    &format!(
                        "mentor {}, coach {}, examiners {}",
                        staff.mentor,
                        staff.coach,
                        staff.examiners.join(", ")
                    ),
                ),
                E::ParticipantAmended { participant, .. } => {
                    // Which fields changed, not their values: the page's
                    // header shows the participant as they now read.
                    let before = state.participant();
                    let changed: Vec<&str> = [
                        ("name", before.is_some_and(|b| b.name != participant.name)),
                        (
                            "position",
                            before.is_some_and(|b| b.position != participant.position),
                        ),
                        ("opd", before.is_some_and(|b| b.opd != participant.opd)),
                    ]
                    .into_iter()
                    .filter_map(|(field, differs)| differs.then_some(field))
                    .collect();
                    note("participant_amended", None, &changed.join(", "));
                }
                E::StateChanged { .. } => {}
            }
            state = ChangeProject::evolve(state, &recorded.event);
        }
        detail.state = state.lifecycle.unwrap_or_default();
        detail.workplace_started_on = state.workplace_started_on;
        if let Some(proposal) = &state.proposal {
            detail.milestones = proposal
                .milestones
                .iter()
                .filter_map(|plan| {
                    let m = state.milestones.get(&plan.id)?;
                    Some(MilestoneDetail {
                        plan: m.plan.clone(),
                        status: m.status,
                        overdue: m.overdue,
                        submissions: submissions.remove(plan.id.as_str()).unwrap_or_default(),
                    })
                })
                .collect();
        }
        detail.proposal = state.proposal;
        Some(detail)
    }
}
