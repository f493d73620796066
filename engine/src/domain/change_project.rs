//! The change project (proyek / aksi perubahan): proposal, workplace phase,
//! evidence per milestone, final seminar, grade, adoption and replication.
//! Its lifecycle comes from a workflow definition; this decider adds what a
//! definition cannot say: who is whose mentor, what a valid proposal is.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::cohort::{CohortFacts, Enrollment, Participant};
use super::values::{
    Attachment, CohortId, Horizon, InnovationId, Level3, MilestoneId, OpdCode, ProjectId, Rating,
    TrainingLevel, long, optional_long, region_key, short,
};
use super::{Actor, Aggregate, Command, DomainError, Role, WorkflowSubject};
use crate::workflow::{Guard, SignOff, WorkflowPin, WorkflowRef};

/// Every command a change-project workflow may name.
pub const COMMANDS: &[&str] = &[
    "propose",
    "revise_proposal",
    "agree_change_area",
    "approve_action_plan",
    "return_action_plan",
    "comment",
    "mark_proposal_ready",
    "record_proposal_seminar",
    "start_workplace_phase",
    "submit_evidence",
    "approve_milestone",
    "return_milestone",
    "mark_milestone_overdue",
    "submit_final_report",
    "mark_report_ready",
    "record_final_seminar",
    "set_grade",
    "defer_graduation",
    "resume",
    "endorse_adoption",
    "link_innovation",
    "record_replication",
    "withdraw",
];

/// The lowest final-seminar score that passes.
pub const PASSING_SCORE: u8 = 60;

/// A stakeholder of the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stakeholder {
    /// Person or body.
    pub name: String,
    /// Inside the organization (true) or outside it.
    pub internal: bool,
    /// How much they can sway the change.
    pub influence: Level3,
    /// How much they care about it.
    pub interest: Level3,
}

/// A member of the project team (tim efektif).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    /// Name.
    pub name: String,
    /// Role in the team.
    pub role: String,
}

/// A planned milestone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilestonePlan {
    /// Id within the project (`m1`).
    pub id: MilestoneId,
    /// Short, medium or long term.
    pub horizon: Horizon,
    /// What is done.
    pub title: String,
    /// When it is due.
    pub due: NaiveDate,
    /// The expected output.
    pub expected_output: String,
}

/// Goals per horizon.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goals {
    /// Within the training.
    pub short_term: String,
    /// Within a year.
    pub medium_term: String,
    /// Within five years.
    pub long_term: String,
}

/// The proposal (rancangan).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Title of the change.
    pub title: String,
    /// Area of change agreed with the mentor.
    pub change_area: String,
    /// The problem.
    pub problem: String,
    /// The situation before the change.
    pub baseline: String,
    /// Goals per horizon.
    pub goals: Goals,
    /// Stakeholders with influence and interest.
    pub stakeholders: Vec<Stakeholder>,
    /// The project team.
    pub team: Vec<TeamMember>,
    /// The milestone plan.
    pub milestones: Vec<MilestonePlan>,
}

impl Proposal {
    /// Checks the proposal against the training period: texts, unique
    /// milestone ids, short-term milestones due within the training, medium
    /// ones within a year after it, long ones within five years.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `proposal.<field>`.
    pub fn validate(&self, starts_on: NaiveDate, ends_on: NaiveDate) -> Result<(), DomainError> {
        short("proposal.title", &self.title)?;
        short("proposal.change_area", &self.change_area)?;
        long("proposal.problem", &self.problem)?;
        long("proposal.baseline", &self.baseline)?;
        long("proposal.goal_short_term", &self.goals.short_term)?;
        optional_long("proposal.goal_medium_term", &self.goals.medium_term)?;
        optional_long("proposal.goal_long_term", &self.goals.long_term)?;
        if self.stakeholders.len() > 100 {
            return Err(DomainError::invalid("proposal.stakeholders", "at most 100"));
        }
        for (i, s) in self.stakeholders.iter().enumerate() {
            short(&format!("proposal.stakeholders[{i}].name"), &s.name)?;
        }
        if self.team.len() > 50 {
            return Err(DomainError::invalid("proposal.team", "at most 50 members"));
        }
        for (i, m) in self.team.iter().enumerate() {
            short(&format!("proposal.team[{i}].name"), &m.name)?;
            short(&format!("proposal.team[{i}].role"), &m.role)?;
        }
        if self.milestones.len() > 50 {
            return Err(DomainError::invalid(
                "proposal.milestones",
                "at most 50 milestones",
            ));
        }
        let year_after = ends_on.checked_add_days(Days::new(366)).unwrap_or(ends_on);
        let five_years_after = ends_on
            .checked_add_days(Days::new(5 * 366))
            .unwrap_or(ends_on);
        let mut ids = std::collections::HashSet::new();
        for (i, m) in self.milestones.iter().enumerate() {
            let field = |f: &str| format!("proposal.milestones[{i}].{f}");
            if !ids.insert(&m.id) {
                return Err(DomainError::invalid(
                    &field("id"),
                    format!("milestone id '{}' is used twice", m.id),
                ));
            }
            short(&field("title"), &m.title)?;
            long(&field("expected_output"), &m.expected_output)?;
            let (earliest, latest, window) = match m.horizon {
                Horizon::Short => (starts_on, ends_on, "within the training"),
                Horizon::Medium => (ends_on, year_after, "within a year after the training"),
                Horizon::Long => (
                    ends_on,
                    five_years_after,
                    "within five years after the training",
                ),
            };
            let inside = if m.horizon == Horizon::Short {
                m.due >= earliest && m.due <= latest
            } else {
                m.due > earliest && m.due <= latest
            };
            if !inside {
                return Err(DomainError::invalid(
                    &field("due"),
                    format!(
                        "{} is outside its horizon: a {:?}-term milestone is due {window} ({} to {})",
                        m.due,
                        m.horizon,
                        earliest,
                        latest
                    )
                    .to_lowercase(),
                ));
            }
        }
        Ok(())
    }
}

/// Final grade (predikat).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Sangat memuaskan.
    SangatMemuaskan,
    /// Memuaskan.
    Memuaskan,
    /// Cukup memuaskan.
    CukupMemuaskan,
    /// Kurang memuaskan.
    KurangMemuaskan,
}

impl Grade {
    /// The predikat as written: `sangat memuaskan`, `memuaskan`, `cukup
    /// memuaskan` or `kurang memuaskan`.
    pub fn label(self) -> &'static str {
        match self {
            Self::SangatMemuaskan => "sangat memuaskan",
            Self::Memuaskan => "memuaskan",
            Self::CukupMemuaskan => "cukup memuaskan",
            Self::KurangMemuaskan => "kurang memuaskan",
        }
    }

    /// A stored grade as written: views built before the predikat was kept
    /// as written hold `sangat_memuaskan`; anything else is kept as it is.
    pub fn as_written(stored: &str) -> String {
        Self::parse(stored).map_or_else(|_| stored.to_owned(), |g| g.label().to_owned())
    }

    /// Parses `sangat memuaskan`, `memuaskan`, `cukup memuaskan` or `kurang memuaskan`.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `grade`.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        match value
            .trim()
            .to_ascii_lowercase()
            .replace(['_', '-'], " ")
            .as_str()
        {
            "sangat memuaskan" => Ok(Self::SangatMemuaskan),
            "memuaskan" => Ok(Self::Memuaskan),
            "cukup memuaskan" => Ok(Self::CukupMemuaskan),
            "kurang memuaskan" => Ok(Self::KurangMemuaskan),
            _ => Err(DomainError::invalid(
                "grade",
                format!(
                    "{value} is not a predikat; use sangat memuaskan, memuaskan, cukup memuaskan or kurang memuaskan",
                    value = super::values::quoted(value)
                ),
            )),
        }
    }
}

impl std::fmt::Display for Grade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// A cooperation agreement under which a change or innovation is replicated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// `PKS`, `MoU` or a letter.
    pub kind: String,
    /// Its number.
    pub number: String,
    /// When it was signed.
    pub signed_on: NaiveDate,
    /// The document itself, when attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Attachment>,
}

impl Agreement {
    /// Validates an agreement.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `agreement.<field>`.
    pub fn new(
        kind: &str,
        number: &str,
        signed_on: NaiveDate,
        document: Option<Attachment>,
    ) -> Result<Self, DomainError> {
        // As agreements between regions are written: a cooperation
        // agreement (PKS), a memorandum (MoU), or a letter (surat).
        let kind = match short("agreement.kind", kind)?.to_lowercase().as_str() {
            "pks" | "perjanjian kerja sama" => "PKS".to_owned(),
            "mou" | "nota kesepahaman" => "MoU".to_owned(),
            "surat" | "letter" => "Surat".to_owned(),
            other => {
                return Err(DomainError::invalid(
                    "agreement.kind",
                    format!("'{other}' is not a kind of agreement; use PKS, MoU or Surat"),
                ));
            }
        };
        Ok(Self {
            kind,
            number: short("agreement.number", number)?,
            signed_on,
            document,
        })
    }
}

/// A replication of the change by another unit or region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replication {
    /// The adopting OPD.
    pub adopter_opd: OpdCode,
    /// The adopting region.
    pub adopter_region: String,
    /// The agreement.
    pub agreement: Agreement,
}

/// One rated target of the final seminar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRating {
    /// The milestone rated.
    pub milestone_id: MilestoneId,
    /// Below, meets or exceeds.
    pub rating: Rating,
}

/// Commands on a change project.
// Commands and events live briefly, one at a time; boxing the proposal
// would only add noise where they are built and matched.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectCommand {
    /// The participant proposes their project (creates the stream).
    Propose {
        /// The cohort, as the command handler read it.
        cohort: CohortFacts,
        /// The participant's enrollment in it.
        enrollment: Enrollment,
        /// The proposal.
        proposal: Proposal,
    },
    /// The participant revises the proposal.
    ReviseProposal {
        /// The new proposal.
        proposal: Proposal,
    },
    /// The mentor agrees the change area.
    AgreeChangeArea,
    /// The mentor approves the action plan.
    ApproveActionPlan {
        /// Optional note.
        note: String,
    },
    /// The mentor returns the action plan.
    ReturnActionPlan {
        /// Why.
        reason: String,
    },
    /// A coach, mentor, examiner or organizer comments.
    Comment {
        /// The comment.
        text: String,
    },
    /// The coach marks the proposal ready for seminar.
    MarkProposalReady,
    /// The examiner records the proposal seminar.
    RecordProposalSeminar {
        /// Accepted, or to be revised.
        accepted: bool,
        /// Notes.
        notes: String,
    },
    /// The organizer starts the workplace phase.
    StartWorkplacePhase,
    /// The participant submits evidence for a milestone.
    SubmitEvidence {
        /// The milestone.
        milestone_id: MilestoneId,
        /// The attachments.
        attachments: Vec<Attachment>,
        /// Optional note.
        note: String,
    },
    /// The mentor approves a milestone.
    ApproveMilestone {
        /// The milestone.
        milestone_id: MilestoneId,
        /// Optional note.
        note: String,
    },
    /// The mentor returns a milestone.
    ReturnMilestone {
        /// The milestone.
        milestone_id: MilestoneId,
        /// Why.
        reason: String,
    },
    /// The overdue timer flags a milestone.
    MarkMilestoneOverdue {
        /// The milestone.
        milestone_id: MilestoneId,
    },
    /// The participant submits the final report.
    SubmitFinalReport {
        /// Summary.
        summary: String,
        /// The report and its annexes.
        attachments: Vec<Attachment>,
    },
    /// The coach marks the report ready for the final seminar.
    MarkReportReady,
    /// The examiner records the final seminar.
    RecordFinalSeminar {
        /// A rating per short-term milestone.
        ratings: Vec<TargetRating>,
        /// Score 0–100.
        score: u8,
        /// Notes.
        notes: String,
    },
    /// The organizer sets the grade.
    SetGrade {
        /// The predikat.
        grade: Grade,
    },
    /// The organizer defers graduation.
    DeferGraduation {
        /// Why.
        reason: String,
    },
    /// The organizer resumes a deferred participant.
    Resume,
    /// The mentor endorses that the unit keeps the change.
    EndorseAdoption {
        /// Optional note.
        note: String,
    },
    /// jejak links the innovation registered for the adoption.
    LinkInnovation {
        /// The innovation.
        innovation_id: InnovationId,
    },
    /// Another unit or region took the change over.
    RecordReplication(Replication),
    /// jejak: the innovation this project became was replicated (the
    /// replication recorded on the innovation's side, ADR 0027).
    FollowInnovationReplication(Replication),
    /// The participant leaves the training (or the organizer records it).
    Withdraw {
        /// Why.
        reason: String,
    },
    /// The project follows its cohort to another workflow version (the
    /// organizer moved the cohort while the project was still in the
    /// initial state).
    FollowCohortWorkflow {
        /// The definition the cohort now pins.
        workflow: WorkflowRef,
    },
    /// The project follows its cohort's current assignment of mentor,
    /// coach and examiners (after the organizer reassigned them).
    /// After acceptance, the participant asks to change the milestone plan.
    RequestPlanChange {
        /// The whole plan as it is to stand.
        milestones: Vec<MilestonePlan>,
        /// Why.
        reason: String,
    },
    /// The mentor approves the requested plan change.
    ApprovePlanChange {
        /// Optional note.
        note: String,
    },
    /// The mentor returns the requested plan change.
    ReturnPlanChange {
        /// Why.
        reason: String,
    },
    /// The examiner corrects a mistaken proposal-seminar result, saying why
    /// (both stay in the history).
    CorrectProposalSeminar {
        /// Accepted, or to be revised.
        accepted: bool,
        /// Notes.
        notes: String,
        /// Why the recorded result was wrong.
        reason: String,
    },
    /// The examiner corrects a mistaken final-seminar result, saying why.
    CorrectFinalSeminar {
        /// A rating per short-term milestone.
        ratings: Vec<TargetRating>,
        /// Score 0–100.
        score: u8,
        /// Notes.
        notes: String,
        /// Why the recorded result was wrong.
        reason: String,
    },
    /// The organizer corrects a mistaken grade, saying why.
    CorrectGrade {
        /// The right predikat.
        grade: Grade,
        /// Why the recorded grade was wrong.
        reason: String,
    },
    AssignStaff {
        /// The people the cohort assigns.
        staff: Staff,
        /// The cohort's stream version at the reassignment: a project
        /// follows only a newer one than it last followed.
        cohort_version: u64,
    },
    /// The project follows its cohort's amendment of the participant's
    /// enrolment (name, position, OPD).
    FollowEnrolment {
        /// The participant as the cohort's enrolment reads.
        participant: Participant,
        /// The cohort's stream version read: a project follows only a
        /// newer one than it last followed.
        cohort_version: u64,
    },
}

/// The people assigned to a participant: mentor, coach, examiners.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    /// The mentor's user id.
    pub mentor: String,
    /// The coach's user id.
    pub coach: String,
    /// The examiners' user ids.
    pub examiners: Vec<String>,
}

impl Staff {
    /// The staff an enrollment names.
    pub fn of(enrollment: &Enrollment) -> Self {
        Self {
            mentor: enrollment.mentor.clone(),
            coach: enrollment.coach.clone(),
            examiners: enrollment.examiners.clone(),
        }
    }
}

/// What happened to a change project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs, clippy::large_enum_variant)]
pub enum ProjectEvent {
    /// The participant proposed the project under a workflow.
    ProjectProposed {
        project_id: ProjectId,
        cohort: CohortFacts,
        enrollment: Enrollment,
        workflow: WorkflowRef,
        proposal: Proposal,
    },
    ProposalRevised {
        proposal: Proposal,
    },
    ChangeAreaAgreed {
        by: String,
    },
    ActionPlanApproved {
        by: String,
        note: String,
    },
    ActionPlanReturned {
        by: String,
        reason: String,
    },
    CommentAdded {
        by: String,
        role: Role,
        text: String,
    },
    ProposalMarkedReady {
        by: String,
    },
    ProposalSeminarHeld {
        by: String,
        accepted: bool,
        notes: String,
    },
    WorkplacePhaseStarted {
        by: String,
        on: NaiveDate,
    },
    EvidenceSubmitted {
        milestone_id: MilestoneId,
        attachments: Vec<Attachment>,
        note: String,
    },
    MilestoneApproved {
        milestone_id: MilestoneId,
        by: String,
        note: String,
    },
    MilestoneReturned {
        milestone_id: MilestoneId,
        by: String,
        reason: String,
    },
    MilestoneOverdue {
        milestone_id: MilestoneId,
        due: NaiveDate,
    },
    FinalReportSubmitted {
        summary: String,
        attachments: Vec<Attachment>,
    },
    ReportMarkedReady {
        by: String,
    },
    FinalSeminarHeld {
        by: String,
        ratings: Vec<TargetRating>,
        score: u8,
        passed: bool,
        notes: String,
    },
    Graded {
        by: String,
        grade: Grade,
    },
    GraduationDeferred {
        by: String,
        reason: String,
    },
    GraduationResumed {
        by: String,
    },
    AdoptionEndorsed {
        by: String,
        note: String,
    },
    InnovationLinked {
        innovation_id: InnovationId,
    },
    ReplicationRecorded {
        replication: Replication,
        by: String,
    },
    Withdrawn {
        by: String,
        reason: String,
    },
    /// The project moved with its cohort to another workflow version.
    WorkflowChanged {
        workflow: WorkflowRef,
        by: String,
    },
    /// The participant asked to change the accepted milestone plan.
    PlanChangeRequested {
        milestones: Vec<MilestonePlan>,
        reason: String,
        by: String,
    },
    /// The mentor approved the change: from here on the plan is
    /// `milestones` (carried whole, so the event reads alone).
    PlanChangeApproved {
        milestones: Vec<MilestonePlan>,
        note: String,
        by: String,
    },
    /// The mentor returned the requested change; the plan stays.
    PlanChangeReturned {
        reason: String,
        by: String,
    },
    /// A recorded proposal-seminar result was corrected (the earlier
    /// `ProposalSeminarHeld` stays in the history).
    ProposalSeminarCorrected {
        by: String,
        accepted: bool,
        notes: String,
        reason: String,
    },
    /// A recorded final-seminar result was corrected.
    FinalSeminarCorrected {
        by: String,
        ratings: Vec<TargetRating>,
        score: u8,
        passed: bool,
        notes: String,
        reason: String,
    },
    /// A recorded grade was corrected.
    GradeCorrected {
        by: String,
        grade: Grade,
        reason: String,
    },
    /// The project follows the cohort's reassignment: from here on these
    /// people are its mentor, coach and examiners (`by`: the organizer, or
    /// jejak repeating the cohort's event).
    StaffAssigned {
        staff: Staff,
        cohort_version: u64,
        by: String,
    },
    /// The project follows the cohort's amendment of its participant's
    /// enrolment: their name, position or OPD now read so (personal
    /// fields sealed like the enrolment's, ADR 0022).
    ParticipantAmended {
        participant: Participant,
        cohort_version: u64,
        by: String,
    },
    /// The lifecycle moved, as the workflow says.
    StateChanged {
        from: String,
        to: String,
        command: String,
    },
}

/// Where a milestone stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneStatus {
    /// Planned, nothing submitted.
    #[default]
    Planned,
    /// Evidence submitted, waiting for the mentor.
    Submitted,
    /// Returned by the mentor with a reason.
    Returned,
    /// Approved by the mentor.
    Approved,
}

/// A milestone as folded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    /// The plan.
    pub plan: MilestonePlan,
    /// Its status.
    pub status: MilestoneStatus,
    /// Every attachment submitted, oldest first.
    pub evidence: Vec<Attachment>,
    /// Flagged past its due date without approval.
    pub overdue: bool,
    /// The mentor's last reason for returning it.
    pub returned_reason: Option<String>,
}

/// A change project as folded from its events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectState {
    pub project_id: Option<ProjectId>,
    pub lifecycle: Option<String>,
    pub workflow: Option<WorkflowRef>,
    pub cohort: Option<CohortFacts>,
    pub enrollment: Option<Enrollment>,
    pub proposal: Option<Proposal>,
    pub milestones: BTreeMap<MilestoneId, Milestone>,
    pub change_area_agreed: bool,
    pub action_plan_approved: bool,
    pub action_plan_returned_reason: Option<String>,
    pub proposal_ready: bool,
    /// `Some(true)` accepted, `Some(false)` to revise.
    pub proposal_seminar: Option<bool>,
    pub workplace_started_on: Option<NaiveDate>,
    pub final_report: Option<String>,
    /// The final report's attachments, as last submitted.
    pub final_report_attachments: Vec<Attachment>,
    pub report_ready: bool,
    pub final_score: Option<u8>,
    pub final_passed: bool,
    pub grade: Option<Grade>,
    pub adoption_endorsed: bool,
    pub innovation_id: Option<InnovationId>,
    pub replications: Vec<Replication>,
    pub closing_reason: Option<String>,
    /// A plan change the participant asked for, waiting for the mentor.
    #[serde(default)]
    pub pending_plan: Option<Vec<MilestonePlan>>,
    /// The notes of the proposal seminar's result in force.
    #[serde(default)]
    pub proposal_seminar_notes: String,
    /// The cohort version of the last reassignment the project followed.
    #[serde(default)]
    pub staff_cohort_version: u64,
    /// The cohort version of the last enrolment amendment it followed.
    #[serde(default)]
    pub participant_cohort_version: u64,
}

impl ProjectState {
    /// The participant.
    pub fn participant(&self) -> Option<&Participant> {
        self.enrollment.as_ref().map(|e| &e.participant)
    }

    /// The training level.
    pub fn level(&self) -> Option<TrainingLevel> {
        self.cohort.as_ref().map(|c| c.level)
    }

    /// The cohort id.
    pub fn cohort_id(&self) -> Option<&CohortId> {
        self.cohort.as_ref().map(|c| &c.cohort_id)
    }

    fn milestone(&self, id: &MilestoneId) -> Result<&Milestone, DomainError> {
        self.milestones.get(id).ok_or_else(|| {
            DomainError::invalid(
                "milestone_id",
                format!("the project has no milestone '{id}'"),
            )
        })
    }
}

/// Whether `actor` is the person the project assigns to their role.
fn assigned(actor: &Actor, enrollment: &Enrollment, organizer: &str) -> Result<(), DomainError> {
    let ok = match actor.role {
        Role::Participant => actor.id == enrollment.participant.person.as_str(),
        Role::Mentor => actor.id == enrollment.mentor,
        Role::Coach => actor.id == enrollment.coach,
        Role::Examiner => enrollment.examiners.contains(&actor.id),
        Role::Organizer => actor.id == organizer,
        Role::BridaOfficer | Role::System => true,
        Role::InnovationOfficer | Role::Auditor | Role::Admin => false,
    };
    if ok {
        Ok(())
    } else {
        Err(DomainError::forbidden(match actor.role {
            Role::Participant => {
                "a participant may act only on their own change project".to_owned()
            }
            Role::Organizer => "only the organizer of the project's cohort may do this".to_owned(),
            Role::Auditor | Role::Admin | Role::InnovationOfficer => {
                format!("{} may not act on change projects", actor.role.a())
            }
            role => format!("you are not this project's {role}; only its own {role} may do this"),
        }))
    }
}

/// A seminar result or grade is recorded once: a second is refused, and a
/// mistaken one is corrected by its own command, with a reason.
fn recorded_once(command: &str, what: &str, correction: &str) -> DomainError {
    DomainError::Precondition {
        command: command.into(),
        missing: format!(
            "{what} is recorded already; a mistaken one is corrected with a reason (`jejak seminar {correction}`)"
        ),
    }
}

fn no_plan_change() -> DomainError {
    DomainError::Precondition {
        command: "answer a plan change".into(),
        missing: "a plan change requested by the participant".into(),
    }
}

fn nothing_to_correct(what: &str, how: &str) -> DomainError {
    DomainError::Precondition {
        command: format!("correct {what}"),
        missing: format!("{what} is not recorded yet; {how} first"),
    }
}

/// A final-seminar result: a score up to 100 and a rating for every
/// short-term milestone, of milestones the project has.
fn check_ratings(
    state: &ProjectState,
    ratings: &[TargetRating],
    score: u8,
) -> Result<(), DomainError> {
    if score > 100 {
        return Err(DomainError::invalid(
            "score",
            format!("{score} is above 100"),
        ));
    }
    for (i, r) in ratings.iter().enumerate() {
        if !state.milestones.contains_key(&r.milestone_id) {
            return Err(DomainError::invalid(
                &format!("ratings[{i}].milestone_id"),
                format!("the project has no milestone '{}'", r.milestone_id),
            ));
        }
    }
    if let Some(unrated) = state
        .milestones
        .values()
        .filter(|m| m.plan.horizon == Horizon::Short)
        .find(|m| !ratings.iter().any(|r| r.milestone_id == m.plan.id))
    {
        return Err(DomainError::invalid(
            "ratings",
            format!(
                "rate every short-term target; '{}' has no rating",
                unrated.plan.id
            ),
        ));
    }
    Ok(())
}

fn attachments(field: &str, list: &[Attachment]) -> Result<(), DomainError> {
    if list.is_empty() {
        return Err(DomainError::invalid(field, "attach at least one file"));
    }
    if list.len() > 50 {
        return Err(DomainError::invalid(
            field,
            "at most 50 attachments at once",
        ));
    }
    Ok(())
}

/// The change-project decider.
#[derive(Debug)]
pub struct ChangeProject;

impl ChangeProject {
    fn decide_body(
        state: &ProjectState,
        command: &Command<ProjectCommand>,
    ) -> Result<Vec<ProjectEvent>, DomainError> {
        use ProjectCommand as C;
        use ProjectEvent as E;
        let by = command.actor.id.clone();
        Ok(match &command.body {
            C::Propose {
                cohort,
                enrollment,
                proposal,
            } => {
                proposal.validate(cohort.starts_on, cohort.ends_on)?;
                let workflow = command.workflow()?.reference();
                vec![E::ProjectProposed {
                    project_id: ProjectId::for_participant(
                        &cohort.cohort_id,
                        &enrollment.participant.person,
                    ),
                    cohort: cohort.clone(),
                    enrollment: enrollment.clone(),
                    workflow,
                    proposal: proposal.clone(),
                }]
            }
            C::ReviseProposal { proposal } => {
                let cohort = state
                    .cohort
                    .as_ref()
                    .ok_or_else(|| DomainError::invalid("cohort", "missing"))?;
                proposal.validate(cohort.starts_on, cohort.ends_on)?;
                if state.proposal.as_ref() == Some(proposal) {
                    return Ok(vec![]);
                }
                vec![E::ProposalRevised {
                    proposal: proposal.clone(),
                }]
            }
            C::AgreeChangeArea => {
                if state.change_area_agreed {
                    return Ok(vec![]);
                }
                vec![E::ChangeAreaAgreed { by }]
            }
            C::ApproveActionPlan { note } => {
                if state.action_plan_approved {
                    return Ok(vec![]);
                }
                vec![E::ActionPlanApproved {
                    by,
                    note: optional_long("note", note)?.unwrap_or_default(),
                }]
            }
            C::ReturnActionPlan { reason } => vec![E::ActionPlanReturned {
                by,
                reason: long("reason", reason)?,
            }],
            C::Comment { text } => vec![E::CommentAdded {
                by,
                role: command.actor.role,
                text: long("note", text)?,
            }],
            C::MarkProposalReady => {
                if state.proposal_ready {
                    return Ok(vec![]);
                }
                vec![E::ProposalMarkedReady { by }]
            }
            C::RecordProposalSeminar { accepted, notes } => {
                let notes = optional_long("notes", notes)?.unwrap_or_default();
                if state.proposal_seminar.is_some() {
                    return Err(recorded_once(
                        "record the proposal seminar",
                        "its result",
                        "correct-proposal",
                    ));
                }
                if !accepted && notes.is_empty() {
                    return Err(DomainError::invalid(
                        "notes",
                        "say what the participant must revise",
                    ));
                }
                vec![E::ProposalSeminarHeld {
                    by,
                    accepted: *accepted,
                    notes,
                }]
            }
            C::StartWorkplacePhase => vec![E::WorkplacePhaseStarted {
                by,
                on: command.today(),
            }],
            C::SubmitEvidence {
                milestone_id,
                attachments: files,
                note,
            } => {
                attachments("attachments", files)?;
                let milestone = state.milestone(milestone_id)?;
                if milestone.status == MilestoneStatus::Approved {
                    return Err(DomainError::Precondition {
                        command: "submit evidence".into(),
                        missing: format!("milestone '{milestone_id}' is approved already"),
                    });
                }
                vec![E::EvidenceSubmitted {
                    milestone_id: milestone_id.clone(),
                    attachments: files.clone(),
                    note: optional_long("note", note)?.unwrap_or_default(),
                }]
            }
            C::ApproveMilestone { milestone_id, note } => {
                state.milestone(milestone_id)?;
                vec![E::MilestoneApproved {
                    milestone_id: milestone_id.clone(),
                    by,
                    note: optional_long("note", note)?.unwrap_or_default(),
                }]
            }
            C::ReturnMilestone {
                milestone_id,
                reason,
            } => {
                state.milestone(milestone_id)?;
                vec![E::MilestoneReturned {
                    milestone_id: milestone_id.clone(),
                    by,
                    reason: long("reason", reason)?,
                }]
            }
            C::MarkMilestoneOverdue { milestone_id } => {
                let milestone = state.milestone(milestone_id)?;
                if milestone.overdue
                    || milestone.status == MilestoneStatus::Approved
                    || milestone.plan.due >= command.today()
                {
                    return Ok(vec![]);
                }
                vec![E::MilestoneOverdue {
                    milestone_id: milestone_id.clone(),
                    due: milestone.plan.due,
                }]
            }
            C::SubmitFinalReport {
                summary,
                attachments: files,
            } => {
                attachments("attachments", files)?;
                vec![E::FinalReportSubmitted {
                    summary: long("summary", summary)?,
                    attachments: files.clone(),
                }]
            }
            C::MarkReportReady => {
                if state.report_ready {
                    return Ok(vec![]);
                }
                vec![E::ReportMarkedReady { by }]
            }
            C::RecordFinalSeminar {
                ratings,
                score,
                notes,
            } => {
                if state.final_score.is_some() {
                    return Err(recorded_once(
                        "record the final seminar",
                        "its result",
                        "correct-final",
                    ));
                }
                check_ratings(state, ratings, *score)?;
                vec![E::FinalSeminarHeld {
                    by,
                    ratings: ratings.clone(),
                    score: *score,
                    passed: *score >= PASSING_SCORE,
                    notes: optional_long("notes", notes)?.unwrap_or_default(),
                }]
            }
            C::RequestPlanChange { milestones, reason } => {
                let reason = long("reason", reason)?;
                let (cohort, proposal) = state
                    .cohort
                    .as_ref()
                    .zip(state.proposal.as_ref())
                    .ok_or_else(|| DomainError::invalid("proposal", "missing"))?;
                let changed = Proposal {
                    milestones: milestones.clone(),
                    ..proposal.clone()
                };
                changed.validate(cohort.starts_on, cohort.ends_on)?;
                if !milestones.iter().any(|m| m.horizon == Horizon::Short) {
                    return Err(DomainError::invalid(
                        "milestones",
                        "keep at least one short-term milestone",
                    ));
                }
                // What the mentor approved stays as approved.
                for kept in state
                    .milestones
                    .values()
                    .filter(|m| m.status == MilestoneStatus::Approved)
                {
                    if !milestones.contains(&kept.plan) {
                        return Err(DomainError::invalid(
                            "milestones",
                            format!(
                                "milestone '{}' is approved; it stays in the plan as it is",
                                kept.plan.id
                            ),
                        ));
                    }
                }
                if proposal.milestones == *milestones {
                    return Ok(vec![]);
                }
                if state.pending_plan.is_some() {
                    return Err(DomainError::Precondition {
                        command: "request a plan change".into(),
                        missing: "the mentor's answer to the change already requested".into(),
                    });
                }
                vec![E::PlanChangeRequested {
                    milestones: milestones.clone(),
                    reason,
                    by,
                }]
            }
            C::ApprovePlanChange { note } => {
                let Some(milestones) = &state.pending_plan else {
                    return Err(no_plan_change());
                };
                // A milestone approved since the change was requested stays
                // as approved: a plan that drops or rewrites it cannot stand.
                if let Some(kept) = state.milestones.values().find(|m| {
                    m.status == MilestoneStatus::Approved && !milestones.contains(&m.plan)
                }) {
                    return Err(DomainError::Precondition {
                        command: "approve the plan change".into(),
                        missing: format!(
                            "a plan that keeps milestone '{}' as approved (it was approved after the change was requested); return the change so that the participant requests it again",
                            kept.plan.id
                        ),
                    });
                }
                vec![E::PlanChangeApproved {
                    milestones: milestones.clone(),
                    note: optional_long("note", note)?.unwrap_or_default(),
                    by,
                }]
            }
            C::ReturnPlanChange { reason } => {
                let reason = long("reason", reason)?;
                if state.pending_plan.is_none() {
                    return Err(no_plan_change());
                }
                vec![E::PlanChangeReturned { reason, by }]
            }
            C::CorrectProposalSeminar {
                accepted,
                notes,
                reason,
            } => {
                let notes = optional_long("notes", notes)?.unwrap_or_default();
                let reason = long("reason", reason)?;
                if !accepted && notes.is_empty() {
                    return Err(DomainError::invalid(
                        "notes",
                        "say what the participant must revise",
                    ));
                }
                let Some(recorded) = state.proposal_seminar else {
                    return Err(nothing_to_correct("the proposal seminar", "record it"));
                };
                if recorded == *accepted && state.proposal_seminar_notes == notes {
                    return Ok(vec![]);
                }
                vec![E::ProposalSeminarCorrected {
                    by,
                    accepted: *accepted,
                    notes,
                    reason,
                }]
            }
            C::CorrectFinalSeminar {
                ratings,
                score,
                notes,
                reason,
            } => {
                check_ratings(state, ratings, *score)?;
                let notes = optional_long("notes", notes)?.unwrap_or_default();
                let reason = long("reason", reason)?;
                if state.final_score.is_none() {
                    return Err(nothing_to_correct("the final seminar", "record it"));
                }
                // A grade stands on a passed final seminar: once graded, a
                // correction may change the score, not turn it into a fail.
                if state.grade.is_some() && *score < PASSING_SCORE {
                    return Err(DomainError::Precondition {
                        command: "correct the final seminar to a fail".into(),
                        missing: "no grade: the participant is graded already, and a grade stands only on a passed final seminar".into(),
                    });
                }
                vec![E::FinalSeminarCorrected {
                    by,
                    ratings: ratings.clone(),
                    score: *score,
                    passed: *score >= PASSING_SCORE,
                    notes,
                    reason,
                }]
            }
            C::CorrectGrade { grade, reason } => {
                let reason = long("reason", reason)?;
                match state.grade {
                    None => return Err(nothing_to_correct("the grade", "set it")),
                    Some(current) if current == *grade => return Ok(vec![]),
                    Some(_) => {}
                }
                vec![E::GradeCorrected {
                    by,
                    grade: *grade,
                    reason,
                }]
            }
            C::SetGrade { grade } => {
                if state.grade.is_some() {
                    return Err(recorded_once("set the grade", "the grade", "correct-grade"));
                }
                vec![E::Graded { by, grade: *grade }]
            }
            C::DeferGraduation { reason } => vec![E::GraduationDeferred {
                by,
                reason: long("reason", reason)?,
            }],
            C::Resume => vec![E::GraduationResumed { by }],
            C::EndorseAdoption { note } => {
                vec![E::AdoptionEndorsed {
                    by,
                    note: optional_long("note", note)?.unwrap_or_default(),
                }]
            }
            C::LinkInnovation { innovation_id } => {
                if state.innovation_id.as_ref() == Some(innovation_id) {
                    return Ok(vec![]);
                }
                vec![E::InnovationLinked {
                    innovation_id: innovation_id.clone(),
                }]
            }
            C::RecordReplication(replication) | C::FollowInnovationReplication(replication) => {
                short("adopter_region", &replication.adopter_region)?;
                if state.replications.iter().any(|r| {
                    r.adopter_opd == replication.adopter_opd
                        && region_key(&r.adopter_region) == region_key(&replication.adopter_region)
                }) {
                    if matches!(command.body, C::FollowInnovationReplication(_)) {
                        // Recorded here already (or here first): once.
                        return Ok(vec![]);
                    }
                    return Err(DomainError::AlreadyExists {
                        what: "replication by",
                        id: format!(
                            "{} ({})",
                            replication.adopter_opd, replication.adopter_region
                        ),
                    });
                }
                vec![E::ReplicationRecorded {
                    replication: replication.clone(),
                    by,
                }]
            }
            C::Withdraw { reason } => vec![E::Withdrawn {
                by,
                reason: long("reason", reason)?,
            }],
            C::FollowCohortWorkflow { workflow } => {
                if state.workflow.as_ref() == Some(workflow) {
                    return Ok(vec![]);
                }
                vec![E::WorkflowChanged {
                    workflow: workflow.clone(),
                    by,
                }]
            }
            C::AssignStaff {
                staff,
                cohort_version,
            } => {
                // The cohort's reassignments arrive here twice (the command
                // handler, then the process manager) and possibly out of
                // order: only a newer one than last followed counts.
                if *cohort_version <= state.staff_cohort_version {
                    return Ok(vec![]);
                }
                vec![E::StaffAssigned {
                    staff: staff.clone(),
                    cohort_version: *cohort_version,
                    by,
                }]
            }
            C::FollowEnrolment {
                participant,
                cohort_version,
            } => {
                // As a reassignment: possibly twice, possibly out of order.
                if *cohort_version <= state.participant_cohort_version
                    || state.participant() == Some(participant)
                {
                    return Ok(vec![]);
                }
                if state.participant().map(|p| &p.person) != Some(&participant.person) {
                    return Err(DomainError::invalid(
                        "participant",
                        "the amendment names another participant than the project's",
                    ));
                }
                vec![E::ParticipantAmended {
                    participant: participant.clone(),
                    cohort_version: *cohort_version,
                    by,
                }]
            }
        })
    }
}

impl ChangeProject {
    /// Who asks or answers a plan change.
    fn plan_change_role(command: &ProjectCommand) -> Option<Role> {
        match command {
            ProjectCommand::RequestPlanChange { .. } => Some(Role::Participant),
            ProjectCommand::ApprovePlanChange { .. } | ProjectCommand::ReturnPlanChange { .. } => {
                Some(Role::Mentor)
            }
            _ => None,
        }
    }

    /// The recording command a correction corrects.
    fn corrects(command: &ProjectCommand) -> Option<&'static str> {
        match command {
            ProjectCommand::CorrectProposalSeminar { .. } => Some("record_proposal_seminar"),
            ProjectCommand::CorrectFinalSeminar { .. } => Some("record_final_seminar"),
            ProjectCommand::CorrectGrade { .. } => Some("set_grade"),
            _ => None,
        }
    }
}

impl Aggregate for ChangeProject {
    const KIND: &'static str = "change_project";
    const LABEL: &'static str = "change project";
    const SNAPSHOT_VERSION: u32 = 3;
    const PERSONAL: bool = true;
    type State = ProjectState;
    type Command = ProjectCommand;
    type Event = ProjectEvent;

    /// A project is the business of the people its enrollment names, its
    /// cohort's organizer, BRIDA (which records replications), auditors
    /// and jejak itself.
    /// The participant: their key seals the names of their proposal's
    /// team and stakeholders, in every event that carries it.
    fn personal_owner(state: &ProjectState) -> Option<&str> {
        state.participant().map(|p| p.person.as_str())
    }

    fn concerns(state: &ProjectState, actor: &Actor) -> bool {
        match (&state.enrollment, &state.cohort) {
            _ if actor.role == Role::Auditor => true,
            (Some(enrollment), Some(cohort)) => {
                assigned(actor, enrollment, &cohort.organizer).is_ok()
            }
            _ => true,
        }
    }

    fn decide(
        state: &ProjectState,
        command: &Command<ProjectCommand>,
    ) -> Result<Vec<ProjectEvent>, DomainError> {
        if state.lifecycle.is_none() && !matches!(command.body, ProjectCommand::Propose { .. }) {
            return Err(DomainError::NotFound {
                what: Self::LABEL,
                id: String::new(),
            });
        }
        let workflow = command.workflow()?;
        if let ProjectCommand::FollowCohortWorkflow { .. } = &command.body {
            // Not a step of the lifecycle: the cohort's organizer moves a
            // project that has not left the initial state.
            let organizer = state.cohort.as_ref().map(|c| c.organizer.as_str());
            if command.actor.role != Role::Organizer || Some(command.actor.id.as_str()) != organizer
            {
                return Err(DomainError::forbidden(
                    "only the organizer of the project's cohort moves it to another workflow",
                ));
            }
            if state.lifecycle.as_deref() != Some(workflow.initial.as_str()) {
                return Err(DomainError::WrongState {
                    command: "move the project to another workflow".into(),
                    kind: "change project",
                    state: state.lifecycle.clone().unwrap_or_default(),
                    hint: format!(
                        "only a project still in '{}' follows its cohort to another workflow",
                        workflow.initial
                    ),
                });
            }
            return Self::decide_body(state, command);
        }
        if let ProjectCommand::FollowInnovationReplication(_) = &command.body {
            if command.actor.role != Role::System {
                return Err(DomainError::forbidden(
                    "jejak alone carries an innovation's replication to its change project",
                ));
            }
            let current = state.lifecycle.clone().unwrap_or_default();
            let Some(step) = workflow.step("record_replication", &current) else {
                return Err(DomainError::WrongState {
                    command: "record replication".into(),
                    kind: Self::LABEL,
                    state: current,
                    hint: "a change project is replicated once it is adopted".into(),
                });
            };
            let to = step.to.clone();
            let mut events = Self::decide_body(state, command)?;
            if let Some(to) = to.filter(|to| !events.is_empty() && *to != current) {
                events.push(ProjectEvent::StateChanged {
                    from: current,
                    to,
                    command: "record_replication".to_owned(),
                });
            }
            return Ok(events);
        }
        if let ProjectCommand::AssignStaff { .. } | ProjectCommand::FollowEnrolment { .. } =
            &command.body
        {
            // Not a step of the lifecycle either: the project follows the
            // assignment its cohort's organizer made.
            let organizer = state.cohort.as_ref().map(|c| c.organizer.as_str());
            let allowed = command.actor.role == Role::System
                || (command.actor.role == Role::Organizer
                    && Some(command.actor.id.as_str()) == organizer);
            if !allowed {
                return Err(DomainError::forbidden(
                    "only the organizer of the project's cohort reassigns its people (Cohorts.ReassignStaff)",
                ));
            }
            return Self::decide_body(state, command);
        }
        if Self::plan_change_role(&command.body).is_some()
            || Self::corrects(&command.body).is_some()
        {
            // Not steps of the lifecycle: whose it is, who may, in which
            // state, then the request.
            let (Some(enrollment), Some(cohort)) = (&state.enrollment, &state.cohort) else {
                return Err(DomainError::NotFound {
                    what: Self::LABEL,
                    id: String::new(),
                });
            };
            assigned(&command.actor, enrollment, &cohort.organizer)?;
        }
        if let Some(role) = Self::plan_change_role(&command.body) {
            // The plan changes after acceptance, while the project is in
            // the training or after it (before, the proposal is revised).
            let name = Self::command_name(&command.body).replace('_', " ");
            if command.actor.role != role {
                return Err(DomainError::forbidden(format!(
                    "{} may not {name}; the project's {role} does",
                    command.actor.role.a()
                )));
            }
            let current = state.lifecycle.clone().unwrap_or_default();
            if current == workflow.initial || workflow.is_final(&current) {
                return Err(DomainError::WrongState {
                    command: name,
                    kind: Self::LABEL,
                    state: current,
                    hint: format!(
                        "the plan changes once the proposal is accepted (in '{}' the participant revises the proposal)",
                        workflow.initial
                    ),
                });
            }
            return Self::decide_body(state, command);
        }
        if let Some(recording) = Self::corrects(&command.body) {
            // A correction is allowed to whoever records the result, in
            // the states where it is recorded.
            let name = Self::command_name(&command.body).replace('_', " ");
            let steps: Vec<_> = workflow
                .transitions
                .iter()
                .filter(|t| t.command == recording)
                .collect();
            let current = state.lifecycle.clone().unwrap_or_default();
            if !steps.is_empty() && !steps.iter().any(|t| t.roles.contains(&command.actor.role)) {
                return Err(DomainError::forbidden(format!(
                    "{} may not {name}; whoever may {} may",
                    command.actor.role.a(),
                    recording.replace('_', " ")
                )));
            }
            if !steps.iter().any(|t| t.from.contains(&current)) {
                let allowed: Vec<&str> = steps
                    .iter()
                    .flat_map(|t| t.from.iter().map(String::as_str))
                    .collect();
                return Err(DomainError::WrongState {
                    command: name,
                    kind: Self::LABEL,
                    state: current,
                    hint: if allowed.is_empty() {
                        format!("workflow {} has no such step", workflow.name)
                    } else {
                        format!("it is allowed only while {}", allowed.join(" or "))
                    },
                });
            }
            return Self::decide_body(state, command);
        }
        // The request itself first (it is pure): bad input is named as such.
        let mut events = Self::decide_body(state, command)?;
        // Whose it is comes before what state it is in: a stranger learns nothing.
        match (&command.body, &state.enrollment, &state.cohort) {
            (ProjectCommand::Propose { enrollment, .. }, _, _) => {
                if command.actor.role == Role::Participant
                    && command.actor.id != enrollment.participant.person.as_str()
                {
                    return Err(DomainError::forbidden(
                        "a participant may propose only their own change project",
                    ));
                }
                if workflow.kind != crate::workflow::WorkflowKind::ChangeProject {
                    return Err(DomainError::invalid(
                        "workflow",
                        "is not a change-project workflow",
                    ));
                }
            }
            (_, Some(enrollment), Some(cohort)) => {
                assigned(&command.actor, enrollment, &cohort.organizer)?
            }
            _ => {
                return Err(DomainError::NotFound {
                    what: "change project",
                    id: String::new(),
                });
            }
        }
        let transition = workflow.transition::<Self>(state, command)?;
        let to = workflow.preconditions::<Self>(transition, state, command)?;
        if events.is_empty() {
            return Ok(events);
        }
        if let Some(to) = to {
            events.push(ProjectEvent::StateChanged {
                from: state.lifecycle.clone().unwrap_or_default(),
                to,
                command: Self::command_name(&command.body).to_owned(),
            });
        }
        Ok(events)
    }

    fn evolve(mut s: ProjectState, event: &ProjectEvent) -> ProjectState {
        use ProjectEvent as E;
        let plan_milestones = |s: &mut ProjectState, proposal: &Proposal| {
            let old = std::mem::take(&mut s.milestones);
            for plan in &proposal.milestones {
                let kept = old.get(&plan.id).cloned();
                let mut m = kept.unwrap_or(Milestone {
                    plan: plan.clone(),
                    status: MilestoneStatus::Planned,
                    evidence: vec![],
                    overdue: false,
                    returned_reason: None,
                });
                if m.plan.due != plan.due {
                    m.overdue = false;
                }
                m.plan = plan.clone();
                s.milestones.insert(plan.id.clone(), m);
            }
        };
        match event {
            E::ProjectProposed {
                project_id,
                cohort,
                enrollment,
                workflow,
                proposal,
            } => {
                s.project_id = Some(project_id.clone());
                s.cohort = Some(cohort.clone());
                s.enrollment = Some(enrollment.clone());
                s.workflow = Some(workflow.clone());
                plan_milestones(&mut s, proposal);
                s.proposal = Some(proposal.clone());
            }
            E::ProposalRevised { proposal } => {
                plan_milestones(&mut s, proposal);
                s.proposal = Some(proposal.clone());
                s.action_plan_approved = false;
                s.proposal_ready = false;
                if s.proposal_seminar == Some(false) {
                    s.proposal_seminar = None;
                }
            }
            E::ChangeAreaAgreed { .. } => s.change_area_agreed = true,
            E::ActionPlanApproved { .. } => {
                s.action_plan_approved = true;
                s.action_plan_returned_reason = None;
            }
            E::ActionPlanReturned { reason, .. } => {
                s.action_plan_approved = false;
                s.action_plan_returned_reason = Some(reason.clone());
            }
            E::CommentAdded { .. } => {}
            E::ProposalMarkedReady { .. } => s.proposal_ready = true,
            E::ProposalSeminarHeld {
                accepted, notes, ..
            }
            | E::ProposalSeminarCorrected {
                accepted, notes, ..
            } => {
                s.proposal_seminar = Some(*accepted);
                s.proposal_seminar_notes.clone_from(notes);
            }
            E::WorkplacePhaseStarted { on, .. } => s.workplace_started_on = Some(*on),
            E::EvidenceSubmitted {
                milestone_id,
                attachments,
                ..
            } => {
                if let Some(m) = s.milestones.get_mut(milestone_id) {
                    m.status = MilestoneStatus::Submitted;
                    m.evidence.extend(attachments.iter().cloned());
                }
            }
            E::MilestoneApproved { milestone_id, .. } => {
                if let Some(m) = s.milestones.get_mut(milestone_id) {
                    m.status = MilestoneStatus::Approved;
                    m.returned_reason = None;
                }
            }
            E::MilestoneReturned {
                milestone_id,
                reason,
                ..
            } => {
                if let Some(m) = s.milestones.get_mut(milestone_id) {
                    m.status = MilestoneStatus::Returned;
                    m.returned_reason = Some(reason.clone());
                }
            }
            E::MilestoneOverdue { milestone_id, .. } => {
                if let Some(m) = s.milestones.get_mut(milestone_id) {
                    m.overdue = true;
                }
            }
            E::FinalReportSubmitted {
                summary,
                attachments,
            } => {
                s.final_report = Some(summary.clone());
                s.final_report_attachments.clone_from(attachments);
            }
            E::ReportMarkedReady { .. } => s.report_ready = true,
            E::FinalSeminarHeld { score, passed, .. }
            | E::FinalSeminarCorrected { score, passed, .. } => {
                s.final_score = Some(*score);
                s.final_passed = *passed;
            }
            E::Graded { grade, .. } | E::GradeCorrected { grade, .. } => s.grade = Some(*grade),
            E::GraduationDeferred { reason, .. } => s.closing_reason = Some(reason.clone()),
            E::GraduationResumed { .. } => s.closing_reason = None,
            E::AdoptionEndorsed { .. } => s.adoption_endorsed = true,
            E::InnovationLinked { innovation_id } => s.innovation_id = Some(innovation_id.clone()),
            E::ReplicationRecorded { replication, .. } => s.replications.push(replication.clone()),
            E::Withdrawn { reason, .. } => s.closing_reason = Some(reason.clone()),
            E::WorkflowChanged { workflow, .. } => {
                if let Some(cohort) = s.cohort.as_mut() {
                    cohort.workflow.clone_from(&workflow.name);
                    cohort.workflow_version = Some(workflow.version);
                }
                s.workflow = Some(workflow.clone());
            }
            E::PlanChangeRequested { milestones, .. } => {
                s.pending_plan = Some(milestones.clone());
            }
            E::PlanChangeReturned { .. } => s.pending_plan = None,
            E::PlanChangeApproved { milestones, .. } => {
                s.pending_plan = None;
                if let Some(mut proposal) = s.proposal.take() {
                    proposal.milestones.clone_from(milestones);
                    plan_milestones(&mut s, &proposal);
                    s.proposal = Some(proposal);
                }
            }
            E::StaffAssigned {
                staff,
                cohort_version,
                ..
            } => {
                s.staff_cohort_version = *cohort_version;
                if let Some(enrollment) = s.enrollment.as_mut() {
                    enrollment.mentor.clone_from(&staff.mentor);
                    enrollment.coach.clone_from(&staff.coach);
                    enrollment.examiners.clone_from(&staff.examiners);
                }
            }
            E::ParticipantAmended {
                participant,
                cohort_version,
                ..
            } => {
                s.participant_cohort_version = *cohort_version;
                if let Some(enrollment) = s.enrollment.as_mut() {
                    enrollment.participant = participant.clone();
                }
            }
            E::StateChanged { to, .. } => s.lifecycle = Some(to.clone()),
        }
        s
    }

    fn command_name(command: &ProjectCommand) -> &'static str {
        use ProjectCommand as C;
        match command {
            C::Propose { .. } => "propose",
            C::ReviseProposal { .. } => "revise_proposal",
            C::AgreeChangeArea => "agree_change_area",
            C::ApproveActionPlan { .. } => "approve_action_plan",
            C::ReturnActionPlan { .. } => "return_action_plan",
            C::Comment { .. } => "comment",
            C::MarkProposalReady => "mark_proposal_ready",
            C::RecordProposalSeminar { .. } => "record_proposal_seminar",
            C::StartWorkplacePhase => "start_workplace_phase",
            C::SubmitEvidence { .. } => "submit_evidence",
            C::ApproveMilestone { .. } => "approve_milestone",
            C::ReturnMilestone { .. } => "return_milestone",
            C::MarkMilestoneOverdue { .. } => "mark_milestone_overdue",
            C::SubmitFinalReport { .. } => "submit_final_report",
            C::MarkReportReady => "mark_report_ready",
            C::RecordFinalSeminar { .. } => "record_final_seminar",
            C::SetGrade { .. } => "set_grade",
            C::DeferGraduation { .. } => "defer_graduation",
            C::Resume => "resume",
            C::EndorseAdoption { .. } => "endorse_adoption",
            C::LinkInnovation { .. } => "link_innovation",
            C::RecordReplication(_) => "record_replication",
            C::FollowInnovationReplication(_) => "follow_innovation_replication",
            C::Withdraw { .. } => "withdraw",
            C::FollowCohortWorkflow { .. } => "follow_cohort_workflow",
            C::AssignStaff { .. } => "assign_staff",
            C::FollowEnrolment { .. } => "follow_enrolment",
            C::RequestPlanChange { .. } => "request_plan_change",
            C::ApprovePlanChange { .. } => "approve_plan_change",
            C::ReturnPlanChange { .. } => "return_plan_change",
            C::CorrectProposalSeminar { .. } => "correct_proposal_seminar",
            C::CorrectFinalSeminar { .. } => "correct_final_seminar",
            C::CorrectGrade { .. } => "correct_grade",
        }
    }

    fn workflow_of(state: &ProjectState) -> Option<&WorkflowRef> {
        state.workflow.as_ref()
    }

    fn workflow_for_new(command: &ProjectCommand) -> Option<WorkflowPin> {
        match command {
            // The cohort's pinned version; the newest only for cohorts opened
            // before cohorts pinned one.
            ProjectCommand::Propose { cohort, .. } => Some(WorkflowPin {
                name: cohort.workflow.clone(),
                version: cohort.workflow_version,
            }),
            _ => None,
        }
    }
}

impl WorkflowSubject for ChangeProject {
    fn lifecycle(state: &ProjectState) -> Option<&str> {
        state.lifecycle.as_deref()
    }

    fn guard_holds(state: &ProjectState, guard: Guard, command: &Command<ProjectCommand>) -> bool {
        let named = match &command.body {
            ProjectCommand::ApproveMilestone { milestone_id, .. }
            | ProjectCommand::ReturnMilestone { milestone_id, .. } => {
                state.milestones.get(milestone_id)
            }
            _ => None,
        };
        let proposal = match &command.body {
            ProjectCommand::Propose { proposal, .. }
            | ProjectCommand::ReviseProposal { proposal } => Some(proposal),
            _ => state.proposal.as_ref(),
        };
        match guard {
            Guard::MilestonePlanPresent => {
                proposal.is_some_and(|p| p.milestones.iter().any(|m| m.horizon == Horizon::Short))
            }
            Guard::ProposalNotYetAccepted => state.proposal_seminar != Some(true),
            // An unknown milestone passes the guard; decide names it precisely.
            Guard::EvidenceAttached => named.is_none_or(|m| !m.evidence.is_empty()),
            Guard::MilestoneSubmitted => {
                named.is_none_or(|m| m.status == MilestoneStatus::Submitted)
            }
            Guard::AllShortTermMilestonesApproved => state
                .milestones
                .values()
                .filter(|m| m.plan.horizon == Horizon::Short)
                .all(|m| m.status == MilestoneStatus::Approved),
            Guard::FinalReportSubmitted => state.final_report.is_some(),
            Guard::FeasibilityJudgedFeasible
            | Guard::Designated
            | Guard::PilotEvaluated
            | Guard::InnovationEvidenceAttached => false,
        }
    }

    fn signed(state: &ProjectState, sign_off: SignOff) -> bool {
        match sign_off {
            SignOff::MentorChangeArea => state.change_area_agreed,
            SignOff::MentorActionPlan => state.action_plan_approved,
            SignOff::CoachProposalReady => state.proposal_ready,
            SignOff::ExaminerProposalSeminar => state.proposal_seminar == Some(true),
            SignOff::CoachReportReady => state.report_ready,
            SignOff::ExaminerFinalSeminar => state.final_passed,
            SignOff::OrganizerGrade => state.grade.is_some(),
            SignOff::MentorAdoption => state.adoption_endorsed,
        }
    }
}
