//! Changes after the fact, each recorded as such (ADR 0027): staff
//! reassignment, milestone-plan changes, corrections of seminar results
//! and grades, profile amendments, a project's replication.

use std::path::PathBuf;

use jejak_proto::v1 as pb;

use super::files;
use crate::client::{Connection, Failure, Outcome};

/// `cohort reassign`: the participant's new mentor, coach and examiners.
#[derive(Debug, clap::Args)]
pub struct ReassignArgs {
    /// The cohort.
    pub cohort: String,
    /// The participant's NIP: the participant stays as enrolled.
    #[arg(long)]
    pub nip: String,
    /// The mentor's user id from now on.
    #[arg(long)]
    pub mentor: String,
    /// The coach's user id from now on.
    #[arg(long)]
    pub coach: String,
    /// The examiners' user ids from now on.
    #[arg(long = "examiner", required = true)]
    pub examiners: Vec<String>,
}

/// `cohort reassign`.
pub async fn reassign(c: &Connection, a: ReassignArgs) -> Outcome {
    let r = pb::EnrolParticipantRequest {
        expected_version: None,
        request_id: c.request_id(),
        cohort_id: a.cohort,
        participant: Some(pb::ParticipantInfo {
            nip: a.nip,
            ..Default::default()
        }),
        mentor: a.mentor,
        coach: a.coach,
        examiners: a.examiners,
    };
    c.written(
        "staff reassigned",
        &c.cohorts()?.reassign_staff(r).await?.into_inner(),
    )
}

/// `cohort amend-enrolment`: corrects a participant's name, position or
/// OPD as the enrolment recorded them; only the fields given change.
#[derive(Debug, clap::Args)]
pub struct AmendEnrolmentArgs {
    /// The cohort.
    pub cohort: String,
    /// The participant's NIP (not amended: it is who they are).
    #[arg(long)]
    pub nip: String,
    /// Their name as it should read.
    #[arg(long)]
    pub name: Option<String>,
    /// Their position (jabatan).
    #[arg(long)]
    pub position: Option<String>,
    /// Their OPD's code.
    #[arg(long)]
    pub opd: Option<String>,
}

/// `cohort amend-enrolment`.
pub async fn amend_enrolment(c: &Connection, a: AmendEnrolmentArgs) -> Outcome {
    if a.name.is_none() && a.position.is_none() && a.opd.is_none() {
        return Err(Failure::Usage(
            "say what to amend: --name, --position or --opd".into(),
        ));
    }
    let r = pb::AmendEnrolmentRequest {
        expected_version: None,
        request_id: c.request_id(),
        cohort_id: a.cohort,
        nip: a.nip,
        name: a.name,
        position: a.position,
        opd: a.opd,
    };
    c.written(
        "enrolment amended",
        &c.cohorts()?.amend_enrolment(r).await?.into_inner(),
    )
}

/// `project change-plan`: the participant asks to change the accepted plan.
#[derive(Debug, clap::Args)]
pub struct ChangePlanArgs {
    /// The project.
    pub project: String,
    /// The plan as it is to stand: a file of `[[milestones]]` (a proposal
    /// file does too); approved milestones stay as they are.
    #[arg(long)]
    pub file: PathBuf,
    /// Why the plan changes.
    #[arg(long)]
    pub reason: String,
}

/// `project change-plan`.
pub async fn change_plan(c: &Connection, a: ChangePlanArgs) -> Outcome {
    let r = pb::PlanChangeRequest {
        expected_version: None,
        request_id: c.request_id(),
        project_id: a.project,
        milestones: files::plan(&a.file)?,
        reason: a.reason,
    };
    c.written(
        "plan change requested",
        &c.projects()?.request_plan_change(r).await?.into_inner(),
    )
}

/// `project replicate`: another unit or region took the change over.
#[derive(Debug, clap::Args)]
pub struct ReplicateArgs {
    /// The project.
    pub project: String,
    /// The adopter's OPD.
    #[arg(long)]
    pub opd: String,
    /// The adopter's region.
    #[arg(long)]
    pub region: String,
    /// PKS, MoU or letter.
    #[arg(long, default_value = "PKS")]
    pub kind: String,
    /// Its number.
    #[arg(long)]
    pub number: String,
    /// Signed on, YYYY-MM-DD.
    #[arg(long)]
    pub signed: String,
}

/// `project replicate` (the mentor or BRIDA).
pub async fn replicate(c: &Connection, a: ReplicateArgs) -> Outcome {
    let r = pb::ProjectReplicationRequest {
        expected_version: None,
        request_id: c.request_id(),
        project_id: a.project,
        adopter_opd: a.opd,
        adopter_region: a.region,
        agreement: Some(pb::Agreement {
            kind: a.kind,
            number: a.number,
            signed_on: a.signed,
            document: None,
        }),
    };
    c.written(
        "replication recorded",
        &c.mentoring()?.record_replication(r).await?.into_inner(),
    )
}

/// `mentor approve-change` / `mentor return-change`.
#[derive(Debug, clap::Args)]
pub struct PlanAnswerArgs {
    /// The project.
    pub project: String,
    /// A note (approving) or the reason (returning; required).
    #[arg(long, default_value = "")]
    pub note: String,
}

/// `mentor approve-change`.
pub async fn approve_change(c: &Connection, a: PlanAnswerArgs) -> Outcome {
    let r = pb::ProjectAction {
        expected_version: None,
        request_id: c.request_id(),
        project_id: a.project,
        note: a.note,
    };
    c.written(
        "plan change approved",
        &c.mentoring()?.approve_plan_change(r).await?.into_inner(),
    )
}

/// `mentor return-change`.
pub async fn return_change(c: &Connection, a: PlanAnswerArgs) -> Outcome {
    let r = pb::ReasonRequest {
        expected_version: None,
        request_id: c.request_id(),
        project_id: a.project,
        reason: a.note,
    };
    c.written(
        "plan change returned",
        &c.mentoring()?.return_plan_change(r).await?.into_inner(),
    )
}

/// `seminar correct-proposal`.
#[derive(Debug, clap::Args)]
pub struct CorrectProposalArgs {
    /// The project.
    pub project: String,
    /// Accepted (otherwise: to be revised, with --notes).
    #[arg(long)]
    pub accepted: bool,
    /// Notes.
    #[arg(long, default_value = "")]
    pub notes: String,
    /// Why the recorded result was wrong.
    #[arg(long)]
    pub reason: String,
}

/// `seminar correct-proposal` (the examiner).
pub async fn correct_proposal(c: &Connection, a: CorrectProposalArgs) -> Outcome {
    let r = pb::CorrectProposalSeminarRequest {
        expected_version: None,
        request_id: c.request_id(),
        project_id: a.project,
        accepted: a.accepted,
        notes: a.notes,
        reason: a.reason,
    };
    c.written(
        "proposal seminar corrected",
        &c.seminars()?
            .correct_proposal_seminar(r)
            .await?
            .into_inner(),
    )
}

/// `seminar correct-final`.
#[derive(Debug, clap::Args)]
pub struct CorrectFinalArgs {
    /// The project.
    pub project: String,
    /// MILESTONE=below|meets|exceeds, once per short-term milestone.
    #[arg(long = "rate", required = true)]
    pub ratings: Vec<String>,
    /// Score 0–100 (60 passes).
    #[arg(long)]
    pub score: u32,
    /// Notes.
    #[arg(long, default_value = "")]
    pub notes: String,
    /// Why the recorded result was wrong.
    #[arg(long)]
    pub reason: String,
}

/// The `--rate MILESTONE=RATING` arguments.
pub fn ratings(given: &[String]) -> Result<Vec<pb::TargetRating>, Failure> {
    given
        .iter()
        .map(|r| {
            let (milestone, rating) = r.split_once('=').ok_or_else(|| {
                Failure::Usage(format!(
                    "--rate takes MILESTONE=below|meets|exceeds, not '{r}'"
                ))
            })?;
            let rating = match rating.trim() {
                "below" | "kurang" => pb::Rating::Below,
                "meets" | "sesuai" => pb::Rating::Meets,
                "exceeds" | "melampaui" => pb::Rating::Exceeds,
                other => {
                    return Err(Failure::Usage(format!(
                        "'{other}' is not a rating; use below, meets or exceeds"
                    )));
                }
            };
            Ok(pb::TargetRating {
                milestone_id: milestone.trim().to_owned(),
                rating: rating as i32,
            })
        })
        .collect()
}

/// `seminar correct-final` (the examiner).
pub async fn correct_final(c: &Connection, a: CorrectFinalArgs) -> Outcome {
    let r = pb::CorrectFinalSeminarRequest {
        expected_version: None,
        request_id: c.request_id(),
        project_id: a.project,
        ratings: ratings(&a.ratings)?,
        score: a.score,
        notes: a.notes,
        reason: a.reason,
    };
    c.written(
        "final seminar corrected",
        &c.seminars()?.correct_final_seminar(r).await?.into_inner(),
    )
}

/// `seminar correct-grade`.
#[derive(Debug, clap::Args)]
pub struct CorrectGradeArgs {
    /// The project.
    pub project: String,
    /// The right predikat: sangat memuaskan, memuaskan, cukup memuaskan or
    /// kurang memuaskan.
    pub grade: String,
    /// Why the recorded grade was wrong.
    #[arg(long)]
    pub reason: String,
}

/// `seminar correct-grade` (the organizer).
pub async fn correct_grade(c: &Connection, a: CorrectGradeArgs) -> Outcome {
    let r = pb::CorrectGradeRequest {
        expected_version: None,
        request_id: c.request_id(),
        project_id: a.project,
        grade: a.grade,
        reason: a.reason,
    };
    c.written(
        "grade corrected",
        &c.seminars()?.correct_grade(r).await?.into_inner(),
    )
}

/// `innovation amend`: the profile as it is to stand.
#[derive(Debug, clap::Args)]
pub struct AmendArgs {
    /// The innovation.
    pub id: String,
    /// Name.
    #[arg(long)]
    pub name: Option<String>,
    /// Unit (e.g. a puskesmas); "" for none.
    #[arg(long)]
    pub unit: Option<String>,
    /// governance, public_service or other.
    #[arg(long)]
    pub form: Option<String>,
    /// Digital: true or false.
    #[arg(long)]
    pub digital: Option<bool>,
    /// Sector (urusan).
    #[arg(long)]
    pub sector: Option<String>,
    /// SDGs (1–17), each once (`--sdg 3 --sdg 16`); `--no-sdgs` for none.
    #[arg(long = "sdg")]
    pub sdgs: Vec<u32>,
    /// Serves no SDG any more.
    #[arg(long, conflicts_with = "sdgs")]
    pub no_sdgs: bool,
    /// Goal.
    #[arg(long)]
    pub goal: Option<String>,
    /// Benefit.
    #[arg(long)]
    pub benefit: Option<String>,
    /// Budget in rupiah (0 for none).
    #[arg(long)]
    pub budget: Option<u64>,
    /// Legal basis (the regulation or decree it rests on); "" for none.
    #[arg(long)]
    pub legal_basis: Option<String>,
}

/// `--form`.
pub fn form(text: &str) -> Result<i32, Failure> {
    Ok((match text {
        "governance" => pb::Form::Governance,
        "public_service" => pb::Form::PublicService,
        "other" => pb::Form::Other,
        other => {
            return Err(Failure::Usage(format!(
                "--form is governance, public_service or other, not '{other}'"
            )));
        }
    }) as i32)
}

/// `innovation amend` (its OPD's officer or BRIDA): changes the fields
/// given, keeps the others as the innovation holds them now.
pub async fn amend(c: &Connection, a: AmendArgs) -> Outcome {
    let mut client = c.innovations()?;
    let now = client
        .get_innovation_detail(pb::GetInnovationRequest {
            innovation_id: a.id.clone(),
            min_position: 0,
        })
        .await?
        .into_inner();
    let entry = now.entry.unwrap_or_default();
    let form = match &a.form {
        Some(text) => form(text)?,
        None => entry.form,
    };
    let sdgs = match (a.no_sdgs, a.sdgs.is_empty()) {
        (true, _) => Vec::new(),
        (false, true) => now.sdgs,
        (false, false) => a.sdgs,
    };
    let r = pb::AmendProfileRequest {
        expected_version: None,
        request_id: c.request_id(),
        innovation_id: a.id,
        name: a.name.unwrap_or(entry.name),
        unit: a.unit.unwrap_or(entry.unit),
        form,
        digital: a.digital.unwrap_or(entry.digital),
        sector: a.sector.unwrap_or(entry.sector),
        sdgs,
        goal: a.goal.unwrap_or(now.goal),
        benefit: a.benefit.unwrap_or(now.benefit),
        budget: a.budget.unwrap_or(now.budget),
        legal_basis: a.legal_basis.unwrap_or(now.legal_basis),
    };
    c.written(
        "profile amended",
        &client.amend_profile(r).await?.into_inner(),
    )
}
