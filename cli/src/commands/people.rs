//! Commands of organizers, participants, coaches, mentors and examiners.

use std::path::PathBuf;

use clap::Subcommand;
use jejak_proto::v1 as pb;
use tokio_stream::StreamExt as _;

use super::{changes, files};
use crate::client::{Connection, Failure, Outcome, print_json, table, time};

fn level(text: &str) -> Result<i32, Failure> {
    Ok((match text
        .trim()
        .to_ascii_lowercase()
        .replace(['-', ' '], "_")
        .as_str()
    {
        "pkn_i" => pb::TrainingLevel::PknI,
        "pkn_ii" => pb::TrainingLevel::PknIi,
        "pka" => pb::TrainingLevel::Pka,
        "pkp" => pb::TrainingLevel::Pkp,
        "diklatpim_i" => pb::TrainingLevel::DiklatpimI,
        "diklatpim_ii" => pb::TrainingLevel::DiklatpimIi,
        "diklatpim_iii" => pb::TrainingLevel::DiklatpimIii,
        "diklatpim_iv" => pb::TrainingLevel::DiklatpimIv,
        _ => {
            return Err(Failure::Usage(format!(
                "'{text}' is not a level; use pkn_i, pkn_ii, pka, pkp or diklatpim_i … diklatpim_iv"
            )));
        }
    }) as i32)
}

/// Organizers: cohorts.
#[derive(Debug, Subcommand)]
pub enum CohortCommand {
    /// Opens a cohort that you run.
    Open {
        /// Its id, e.g. pka-2026-3.
        id: String,
        /// Level: pkn_i, pkn_ii, pka, pkp, diklatpim_i … diklatpim_iv.
        #[arg(long)]
        level: String,
        /// Training provider.
        #[arg(long)]
        provider: String,
        /// Year.
        #[arg(long)]
        year: i32,
        /// Cohort number.
        #[arg(long)]
        number: u32,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        starts: String,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        ends: String,
        /// Change-project workflow (default: the level's).
        #[arg(long, default_value = "")]
        workflow: String,
        /// The version of it to pin (default: the newest).
        #[arg(long, default_value_t = 0)]
        workflow_version: u32,
    },
    /// Enrols a participant with mentor, coach and examiners.
    Enrol {
        /// The cohort.
        cohort: String,
        /// The participant's NIP.
        #[arg(long)]
        nip: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Position.
        #[arg(long)]
        position: String,
        /// OPD code.
        #[arg(long)]
        opd: String,
        /// Mentor's user id.
        #[arg(long)]
        mentor: String,
        /// Coach's user id.
        #[arg(long)]
        coach: String,
        /// Examiners' user ids.
        #[arg(long = "examiner", required = true)]
        examiners: Vec<String>,
    },
    /// Starts a project's workplace phase; with --all, of every project of
    /// the cohort that is ready for it.
    StartPhase {
        /// The project: its id or its code (e.g. pka-2026-9/017); with
        /// --all, the cohort (e.g. pka-2026-9).
        project: String,
        /// Start every accepted project of the cohort named (with
        /// --request-id, a retry starts nothing twice).
        #[arg(long)]
        all: bool,
    },
    /// Finds a participant by NIP: their person id (the subject of their
    /// tokens) and, per cohort you may see, their project's code and id.
    Find {
        /// The participant's NIP.
        #[arg(long)]
        nip: String,
        /// Only this cohort.
        #[arg(long)]
        cohort: Option<String>,
    },
    /// Cohorts you may see.
    List,
    /// How a cohort is doing.
    Progress {
        /// The cohort.
        cohort: String,
    },
    /// Moves a cohort you run, with its projects, to another workflow or
    /// version (refused once any of its projects has left the initial state).
    ChangeWorkflow {
        /// The cohort.
        cohort: String,
        /// The change-project workflow: global, or one of your provider's.
        #[arg(long)]
        workflow: String,
        /// Its version (default: the newest).
        #[arg(long, default_value_t = 0)]
        version: u32,
    },
    /// Reassigns a participant's mentor, coach or examiners: from now on
    /// they decide on the project, and the earlier ones are refused.
    Reassign(changes::ReassignArgs),
    /// Corrects a participant's name, position or OPD as their enrolment
    /// recorded them (only the flags given); their project shows the
    /// amended values.
    AmendEnrolment(changes::AmendEnrolmentArgs),
}

/// Participants (and coaches): their change project.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Proposes your project in a cohort, from a proposal file (TOML).
    Propose {
        /// The cohort.
        #[arg(long)]
        cohort: String,
        /// The proposal file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Revises the proposal or plans milestones anew, from a proposal file.
    Plan {
        /// The project.
        project: String,
        /// The proposal file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Shows one project's whole page: proposal, milestones and evidence,
    /// every decision and comment, seminars and grade, with who and when.
    Show {
        /// The project.
        project: String,
    },
    /// Where one project stands, as the board's row: state, targets
    /// approved, next due date, overdue count.
    Status {
        /// The project.
        project: String,
    },
    /// Lists the projects you may see.
    List {
        /// Only this cohort.
        #[arg(long, default_value = "")]
        cohort: String,
        /// Only this OPD.
        #[arg(long, default_value = "")]
        opd: String,
        /// Only this mentor's.
        #[arg(long, default_value = "")]
        mentor: String,
        /// Only this state.
        #[arg(long, default_value = "")]
        state: String,
    },
    /// Submits evidence for a milestone: files uploaded (--attach), or kept
    /// elsewhere (--link URL --sha256 HASH, the hash your word).
    Evidence {
        /// The project.
        project: String,
        /// The milestone.
        #[arg(long)]
        milestone: String,
        #[command(flatten)]
        evidence: super::evidence::EvidenceArgs,
        /// A note.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Submits the final report.
    Report {
        /// The project.
        project: String,
        /// Summary.
        #[arg(long)]
        summary: String,
        /// The report and its annexes: uploaded (--attach) or kept elsewhere
        /// (--link URL --sha256 HASH).
        #[command(flatten)]
        evidence: super::evidence::EvidenceArgs,
    },
    /// Withdraws from the training.
    Withdraw {
        /// The project.
        project: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Comments (coach, mentor, examiner, organizer).
    Comment {
        /// The project.
        project: String,
        /// The comment.
        text: String,
    },
    /// Marks the proposal or the final report ready for seminar (coach).
    Ready {
        /// The project.
        project: String,
        /// proposal or final.
        #[arg(long)]
        seminar: String,
    },
    /// Asks your mentor to change the accepted milestone plan.
    ChangePlan(changes::ChangePlanArgs),
    /// Records that another unit or region took the change over (mentor, BRIDA).
    Replicate(changes::ReplicateArgs),
}

/// Mentors: the inbox and decisions.
#[derive(Debug, Subcommand)]
pub enum MentorCommand {
    /// What waits for you, oldest first.
    Inbox,
    /// Follows your inbox live (Ctrl-C to stop).
    Watch,
    /// Agrees the change area.
    Agree {
        /// The project.
        project: String,
    },
    /// Approves the action plan.
    ApprovePlan {
        /// The project.
        project: String,
        /// A note.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Returns the action plan.
    ReturnPlan {
        /// The project.
        project: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Approves a milestone.
    Approve {
        /// The project.
        project: String,
        /// The milestone.
        #[arg(long)]
        milestone: String,
        /// A note.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Returns a milestone.
    Return {
        /// The project.
        project: String,
        /// The milestone.
        #[arg(long)]
        milestone: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Endorses the adoption.
    Endorse {
        /// The project.
        project: String,
    },
    /// Approves the plan change the participant asked for (--note).
    ApproveChange(changes::PlanAnswerArgs),
    /// Returns the plan change the participant asked for (--note: why).
    ReturnChange(changes::PlanAnswerArgs),
}

/// Examiners and organizers: seminars and grades.
#[derive(Debug, Subcommand)]
pub enum SeminarCommand {
    /// Records the proposal seminar.
    Proposal {
        /// The project.
        project: String,
        /// Accepted (otherwise: to be revised, with --notes).
        #[arg(long)]
        accepted: bool,
        /// Notes.
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Records the final seminar: a rating per short-term milestone and a score.
    Final {
        /// The project.
        project: String,
        /// MILESTONE=below|meets|exceeds, once per short-term milestone.
        #[arg(long = "rate", required = true)]
        ratings: Vec<String>,
        /// Score 0–100 (60 passes).
        #[arg(long)]
        score: u32,
        /// Notes.
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Sets the final grade (organizer).
    Grade {
        /// The project.
        project: String,
        /// sangat memuaskan, memuaskan, cukup memuaskan or kurang memuaskan.
        grade: String,
    },
    /// Defers graduation (organizer).
    Defer {
        /// The project.
        project: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Resumes a deferred participant (organizer).
    Resume {
        /// The project.
        project: String,
    },
    /// Corrects a mistaken proposal-seminar result, with a reason (examiner).
    CorrectProposal(changes::CorrectProposalArgs),
    /// Corrects a mistaken final-seminar result, with a reason (examiner).
    CorrectFinal(changes::CorrectFinalArgs),
    /// Corrects a mistaken grade, with a reason (organizer).
    CorrectGrade(changes::CorrectGradeArgs),
}

fn action(c: &Connection, project: String, note: String) -> pb::ProjectAction {
    pb::ProjectAction {
        expected_version: None,
        request_id: c.request_id(),
        project_id: project,
        note,
    }
}

pub async fn cohort(c: &Connection, command: CohortCommand) -> Outcome {
    match command {
        CohortCommand::Open {
            id,
            level: l,
            provider,
            year,
            number,
            starts,
            ends,
            workflow,
            workflow_version,
        } => {
            let r = pb::OpenCohortRequest {
                expected_version: None,
                request_id: c.request_id_or(format!("open-{id}")),
                cohort_id: id,
                level: level(&l)?,
                provider,
                year,
                number,
                starts_on: starts,
                ends_on: ends,
                workflow,
                workflow_version,
            };
            c.written(
                "cohort opened",
                &c.cohorts()?.open_cohort(r).await?.into_inner(),
            )
        }
        CohortCommand::Enrol {
            cohort,
            nip,
            name,
            position,
            opd,
            mentor,
            coach,
            examiners,
        } => {
            let r = pb::EnrolParticipantRequest {
                expected_version: None,
                // A random id (or --request-id): a request id never carries a NIP.
                request_id: c.request_id(),
                cohort_id: cohort,
                participant: Some(pb::ParticipantInfo {
                    nip,
                    name,
                    position,
                    opd,
                }),
                mentor,
                coach,
                examiners,
            };
            c.written(
                "participant enrolled",
                &c.cohorts()?.enrol_participant(r).await?.into_inner(),
            )
        }
        CohortCommand::ChangeWorkflow {
            cohort,
            workflow,
            version,
        } => c.written(
            "cohort workflow",
            &c.cohorts()?
                .change_cohort_workflow(pb::ChangeCohortWorkflowRequest {
                    request_id: c.request_id(),
                    cohort_id: cohort,
                    workflow,
                    version,
                    expected_version: None,
                })
                .await?
                .into_inner(),
        ),
        CohortCommand::Reassign(args) => changes::reassign(c, args).await,
        CohortCommand::AmendEnrolment(args) => changes::amend_enrolment(c, args).await,
        CohortCommand::StartPhase { project, all: true } => {
            super::cohort_start::start_all(c, project).await
        }
        CohortCommand::StartPhase { project, .. } => c.written(
            "workplace phase",
            &c.cohorts()?
                .start_workplace_phase(action(c, project, String::new()))
                .await?
                .into_inner(),
        ),
        CohortCommand::List => {
            let list = c
                .cohorts()?
                .list_cohorts(pb::ListCohortsRequest {
                    page: Some(pb::PageRequest {
                        page_size: 500,
                        page_token: String::new(),
                    }),
                    min_position: 0,
                })
                .await?
                .into_inner();
            if c.json {
                print_json(&serde_json::json!(list.cohorts.iter().map(|k| serde_json::json!({
                    "cohort_id": k.cohort_id, "provider": k.provider, "year": k.year, "number": k.number,
                    "organizer": k.organizer, "starts_on": k.starts_on, "ends_on": k.ends_on, "workflow": k.workflow, "enrolled": k.enrolled,
                })).collect::<Vec<_>>()));
            } else {
                let rows = list.cohorts.iter().map(|k| {
                    vec![
                        k.cohort_id.clone(),
                        k.provider.clone(),
                        k.year.to_string(),
                        k.number.to_string(),
                        format!("{} – {}", k.starts_on, k.ends_on),
                        k.enrolled.to_string(),
                        k.workflow.clone(),
                    ]
                });
                say!(
                    "{}",
                    table(
                        &[
                            "cohort", "provider", "year", "no.", "period", "enrolled", "workflow"
                        ],
                        rows
                    )
                );
            }
            Ok(())
        }
        CohortCommand::Find { nip, cohort } => {
            let found = c
                .cohorts()?
                .find_participant(pb::FindParticipantRequest {
                    nip,
                    cohort_id: cohort.unwrap_or_default(),
                })
                .await?
                .into_inner();
            if c.json {
                print_json(&serde_json::json!({
                    "person_id": found.person_id,
                    "enrolments": found.enrolments.iter().map(|e| serde_json::json!({
                        "cohort_id": e.cohort_id, "code": e.code, "project_id": e.project_id,
                    })).collect::<Vec<_>>(),
                }));
            } else {
                say!("person id: {}", found.person_id);
                say!(
                    "{}",
                    table(
                        &["cohort", "code", "project"],
                        found.enrolments.iter().map(|e| vec![
                            e.cohort_id.clone(),
                            e.code.clone(),
                            e.project_id.clone()
                        ])
                    )
                );
            }
            Ok(())
        }
        CohortCommand::Progress { cohort } => {
            let p = c
                .cohorts()?
                .get_cohort_progress(pb::GetCohortProgressRequest {
                    cohort_id: cohort,
                    min_position: 0,
                })
                .await?
                .into_inner();
            let states: serde_json::Map<String, serde_json::Value> = p
                .by_state
                .iter()
                .map(|s| (s.state.clone(), s.count.into()))
                .collect();
            let grades: serde_json::Map<String, serde_json::Value> = p
                .grades
                .iter()
                .map(|g| (g.grade.clone(), g.count.into()))
                .collect();
            if c.json {
                print_json(&serde_json::json!({
                    "cohort_id": p.cohort.as_ref().map(|k| k.cohort_id.clone()), "projects": p.projects, "by_state": states,
                    "overdue_milestones": p.overdue_milestones, "late_participants": p.late_participants,
                    "proposal_accepted": p.proposal_accepted, "proposal_to_revise": p.proposal_to_revise,
                    "final_passed": p.final_passed, "final_failed": p.final_failed, "grades": grades,
                }));
            } else {
                say!(
                    "{} projects; overdue milestones: {}",
                    p.projects,
                    p.overdue_milestones
                );
                say!(
                    "{}",
                    table(
                        &["state", "projects"],
                        p.by_state.iter().map(|s| vec![
                            crate::words::lang().stage(&s.state),
                            s.count.to_string()
                        ])
                    )
                );
                say!(
                    "proposal seminars: {} accepted, {} to revise; final seminars: {} passed, {} failed",
                    p.proposal_accepted,
                    p.proposal_to_revise,
                    p.final_passed,
                    p.final_failed
                );
                if !p.late_participants.is_empty() {
                    say!("late: {}", p.late_participants.join(", "));
                }
                if !p.grades.is_empty() {
                    say!(
                        "{}",
                        table(
                            &["grade", "count"],
                            p.grades.iter().map(|g| vec![
                                crate::words::lang().grade(&g.grade),
                                g.count.to_string()
                            ])
                        )
                    );
                }
            }
            Ok(())
        }
    }
}

pub(super) fn project_json(p: &pb::Project) -> serde_json::Value {
    serde_json::json!({
        "project_id": p.project_id, "code": p.code, "title": p.title, "participant": p.participant,
        "participant_nip": p.participant_nip, "participant_name": p.participant_name,
        "opd": p.opd, "cohort_id": p.cohort_id, "mentor": p.mentor, "coach": p.coach, "examiners": p.examiners, "state": p.state,
        "workflow": p.workflow, "next_due": p.next_due, "overdue_count": p.overdue_count, "grade": p.grade,
        "innovation_id": p.innovation_id, "version": p.version,
        "milestones": p.milestones.iter().map(|m| serde_json::json!({
            "id": m.id, "title": m.title, "due": m.due, "overdue": m.overdue, "returned_reason": m.returned_reason,
            "status": pb::MilestoneStatus::try_from(m.status).map(|s| s.as_str_name().trim_start_matches("MILESTONE_STATUS_").to_lowercase()).unwrap_or_default(),
            "horizon": pb::Horizon::try_from(m.horizon).map(|h| h.as_str_name().trim_start_matches("HORIZON_").to_lowercase()).unwrap_or_default(),
        })).collect::<Vec<_>>(),
    })
}

pub async fn project(c: &Connection, command: ProjectCommand) -> Outcome {
    match command {
        ProjectCommand::ChangePlan(args) => changes::change_plan(c, args).await,
        ProjectCommand::Replicate(args) => changes::replicate(c, args).await,
        ProjectCommand::Propose { cohort, file } => {
            let r = pb::ProposeRequest {
                expected_version: None,
                request_id: c.request_id(),
                cohort_id: cohort,
                proposal: Some(files::proposal(&file)?),
            };
            c.written("proposed", &c.projects()?.propose(r).await?.into_inner())
        }
        ProjectCommand::Plan { project, file } => {
            let r = pb::ReviseProposalRequest {
                expected_version: None,
                request_id: c.request_id(),
                project_id: project,
                proposal: Some(files::proposal(&file)?),
            };
            c.written(
                "proposal revised",
                &c.projects()?.revise_proposal(r).await?.into_inner(),
            )
        }
        ProjectCommand::Show { project } => super::project_page::show(c, project).await,
        ProjectCommand::Status { project } => {
            let project = c
                .projects()?
                .get_project(pb::GetProjectRequest {
                    project_id: project,
                    min_position: 0,
                })
                .await?
                .into_inner();
            board(c, std::slice::from_ref(&project)).await;
            Ok(())
        }
        ProjectCommand::List {
            cohort,
            opd,
            mentor,
            state,
        } => {
            let mut all = Vec::new();
            let mut token = String::new();
            loop {
                let page = c
                    .projects()?
                    .list_projects(pb::ListProjectsRequest {
                        page: Some(pb::PageRequest {
                            page_size: 500,
                            page_token: token,
                        }),
                        cohort_id: cohort.clone(),
                        opd: opd.clone(),
                        mentor: mentor.clone(),
                        state: state.clone(),
                        min_position: 0,
                    })
                    .await?
                    .into_inner();
                all.extend(page.projects);
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            board(c, &all).await;
            Ok(())
        }
        ProjectCommand::Evidence {
            project,
            milestone,
            evidence,
            note,
        } => {
            let attachments = evidence
                .attachments(c, super::evidence::For::Project(&project))
                .await?;
            let r = pb::SubmitEvidenceRequest {
                expected_version: None,
                request_id: c.request_id(),
                project_id: project,
                milestone_id: milestone,
                attachments,
                note,
            };
            c.written(
                "evidence submitted",
                &c.projects()?.submit_evidence(r).await?.into_inner(),
            )
        }
        ProjectCommand::Report {
            project,
            summary,
            evidence,
        } => {
            let attachments = evidence
                .attachments(c, super::evidence::For::Project(&project))
                .await?;
            let r = pb::SubmitFinalReportRequest {
                expected_version: None,
                request_id: c.request_id(),
                project_id: project,
                summary,
                attachments,
            };
            c.written(
                "final report submitted",
                &c.projects()?.submit_final_report(r).await?.into_inner(),
            )
        }
        ProjectCommand::Withdraw { project, reason } => c.written(
            "withdrawn",
            &c.projects()?
                .withdraw(pb::ReasonRequest {
                    expected_version: None,
                    request_id: c.request_id(),
                    project_id: project,
                    reason,
                })
                .await?
                .into_inner(),
        ),
        ProjectCommand::Comment { project, text } => c.written(
            "commented",
            &c.projects()?
                .comment(action(c, project, text))
                .await?
                .into_inner(),
        ),
        ProjectCommand::Ready { project, seminar } => {
            let seminar = match seminar.as_str() {
                "proposal" => pb::SeminarKind::Proposal,
                "final" => pb::SeminarKind::Final,
                other => {
                    return Err(Failure::Usage(format!(
                        "--seminar is proposal or final, not '{other}'"
                    )));
                }
            };
            let r = pb::MarkReadyRequest {
                expected_version: None,
                request_id: c.request_id(),
                project_id: project,
                seminar: seminar as i32,
            };
            c.written(
                "marked ready",
                &c.projects()?.mark_ready_for_seminar(r).await?.into_inner(),
            )
        }
    }
}

/// An inbox item's kind as a code (`milestone_evidence`).
fn inbox_kind(i: &pb::InboxItem) -> String {
    pb::InboxKind::try_from(i.kind)
        .map(|k| {
            k.as_str_name()
                .trim_start_matches("INBOX_KIND_")
                .to_lowercase()
        })
        .unwrap_or_default()
}

fn inbox_line(i: &pb::InboxItem) -> Vec<String> {
    let kind = inbox_kind(i);
    let days = i.age_seconds / 86_400;
    let age = if days > 0 {
        format!("{days} d")
    } else {
        format!("{} h", i.age_seconds / 3_600)
    };
    let project = if i.code.is_empty() {
        i.project_id.clone()
    } else {
        i.code.clone()
    };
    vec![
        crate::words::lang().inbox_kind(&kind),
        project,
        i.title.clone(),
        i.participant_name.clone(),
        i.milestone_id.clone(),
        crate::client::local_time(i.since.as_ref()),
        age,
    ]
}

fn inbox_json(i: &pb::InboxItem) -> serde_json::Value {
    let evidence: Vec<_> = i
        .evidence
        .iter()
        .map(|a| serde_json::json!({ "name": a.name, "media_type": a.media_type, "size": a.size, "sha256": a.sha256, "uri": a.uri, "asserted": a.asserted }))
        .collect();
    serde_json::json!({ "kind": inbox_kind(i), "project_id": i.project_id, "code": i.code, "title": i.title, "change_area": i.change_area, "participant_name": i.participant_name, "milestone_id": i.milestone_id, "milestone_title": i.milestone_title, "expected_output": i.expected_output, "evidence": evidence, "reason": i.reason, "requested_plan": i.requested_plan.iter().map(|m| serde_json::json!({"id": m.id, "title": m.title, "due": m.due, "expected_output": m.expected_output})).collect::<Vec<_>>(), "since": time(i.since.as_ref()), "age_seconds": i.age_seconds })
}

/// What an inbox item asks the mentor to approve, one line each, under
/// the table: the proposal's change area, or the milestone's expected
/// output and its evidence with the way to fetch each file.
fn inbox_details(i: &pb::InboxItem) -> Vec<String> {
    let mut lines = Vec::new();
    let project = if i.code.is_empty() {
        &i.project_id
    } else {
        &i.code
    };
    match pb::InboxKind::try_from(i.kind) {
        Ok(pb::InboxKind::Proposal) => {
            lines.push(format!(
                "{project} — {}: change area: {}",
                i.title, i.change_area
            ));
        }
        Ok(pb::InboxKind::MilestoneEvidence) => {
            lines.push(format!(
                "{project} {} {}: expected output: {}",
                i.milestone_id, i.milestone_title, i.expected_output
            ));
            for a in &i.evidence {
                let size = a
                    .size
                    .map_or_else(|| "size unknown".to_owned(), |s| format!("{s} bytes"));
                let fetch = if a.asserted {
                    format!("kept at {} (hash asserted by the participant)", a.uri)
                } else {
                    format!(
                        "jejak evidence get {} --project {project} --out FILE",
                        a.uri
                    )
                };
                lines.push(format!(
                    "  {} ({}, {size}, sha256 {}): {fetch}",
                    a.name, a.media_type, a.sha256
                ));
            }
        }
        Ok(pb::InboxKind::PlanChange) => {
            lines.push(format!("{project} — plan change asked: {}", i.reason));
            for m in &i.requested_plan {
                lines.push(format!(
                    "  {} {} (due {}): {}",
                    m.id, m.title, m.due, m.expected_output
                ));
            }
        }
        _ => {}
    }
    lines
}

pub async fn mentor(c: &Connection, command: MentorCommand) -> Outcome {
    let decision = |project: String, milestone: String, reason: String| pb::MilestoneDecision {
        expected_version: None,
        request_id: c.request_id(),
        project_id: project,
        milestone_id: milestone,
        reason,
    };
    match command {
        MentorCommand::Inbox => {
            let inbox = c
                .mentoring()?
                .get_inbox(pb::GetInboxRequest { min_position: 0 })
                .await?
                .into_inner();
            if c.json {
                print_json(&serde_json::json!(
                    inbox.items.iter().map(inbox_json).collect::<Vec<_>>()
                ));
            } else if inbox.items.is_empty() {
                say!("nothing waits for you");
            } else {
                say!(
                    "{}",
                    table(
                        &[
                            "waiting",
                            "project",
                            "title",
                            "participant",
                            "milestone",
                            "since",
                            "age"
                        ],
                        inbox.items.iter().map(inbox_line)
                    )
                );
                for line in inbox.items.iter().flat_map(inbox_details) {
                    say!("{line}");
                }
            }
            Ok(())
        }
        MentorCommand::Watch => {
            let mut stream = c
                .mentoring()?
                .watch_inbox(pb::GetInboxRequest { min_position: 0 })
                .await?
                .into_inner();
            while let Some(item) = stream.next().await {
                let item = item?;
                if c.json {
                    say!("{}", inbox_json(&item));
                } else {
                    say!("{}", inbox_line(&item).join("  "));
                    for line in inbox_details(&item) {
                        say!("{line}");
                    }
                }
            }
            Ok(())
        }
        MentorCommand::Agree { project } => c.written(
            "change area agreed",
            &c.mentoring()?
                .agree_change_area(action(c, project, String::new()))
                .await?
                .into_inner(),
        ),
        MentorCommand::ApprovePlan { project, note } => c.written(
            "action plan approved",
            &c.mentoring()?
                .approve_action_plan(action(c, project, note))
                .await?
                .into_inner(),
        ),
        MentorCommand::ReturnPlan { project, reason } => c.written(
            "action plan returned",
            &c.mentoring()?
                .return_action_plan(pb::ReasonRequest {
                    expected_version: None,
                    request_id: c.request_id(),
                    project_id: project,
                    reason,
                })
                .await?
                .into_inner(),
        ),
        MentorCommand::Approve {
            project,
            milestone,
            note,
        } => c.written(
            "milestone approved",
            &c.mentoring()?
                .approve_milestone(decision(project, milestone, note))
                .await?
                .into_inner(),
        ),
        MentorCommand::Return {
            project,
            milestone,
            reason,
        } => c.written(
            "milestone returned",
            &c.mentoring()?
                .return_milestone(decision(project, milestone, reason))
                .await?
                .into_inner(),
        ),
        MentorCommand::ApproveChange(args) => changes::approve_change(c, args).await,
        MentorCommand::ReturnChange(args) => changes::return_change(c, args).await,
        MentorCommand::Endorse { project } => c.written(
            "adoption endorsed",
            &c.mentoring()?
                .endorse_adoption(action(c, project, String::new()))
                .await?
                .into_inner(),
        ),
    }
}

pub async fn seminar(c: &Connection, command: SeminarCommand) -> Outcome {
    match command {
        SeminarCommand::Proposal {
            project,
            accepted,
            notes,
        } => {
            let r = pb::ProposalSeminarRequest {
                expected_version: None,
                request_id: c.request_id(),
                project_id: project,
                accepted,
                notes,
            };
            c.written(
                "proposal seminar recorded",
                &c.seminars()?.record_proposal_seminar(r).await?.into_inner(),
            )
        }
        SeminarCommand::Final {
            project,
            ratings,
            score,
            notes,
        } => {
            let ratings = super::changes::ratings(&ratings)?;
            let r = pb::FinalSeminarRequest {
                expected_version: None,
                request_id: c.request_id(),
                project_id: project,
                ratings,
                score,
                notes,
            };
            c.written(
                "final seminar recorded",
                &c.seminars()?.record_final_seminar(r).await?.into_inner(),
            )
        }
        SeminarCommand::Grade { project, grade } => c.written(
            "graded",
            &c.seminars()?
                .set_grade(pb::SetGradeRequest {
                    expected_version: None,
                    request_id: c.request_id(),
                    project_id: project,
                    grade,
                })
                .await?
                .into_inner(),
        ),
        SeminarCommand::Defer { project, reason } => c.written(
            "graduation deferred",
            &c.seminars()?
                .defer_graduation(pb::ReasonRequest {
                    expected_version: None,
                    request_id: c.request_id(),
                    project_id: project,
                    reason,
                })
                .await?
                .into_inner(),
        ),
        SeminarCommand::CorrectProposal(args) => changes::correct_proposal(c, args).await,
        SeminarCommand::CorrectFinal(args) => changes::correct_final(c, args).await,
        SeminarCommand::CorrectGrade(args) => changes::correct_grade(c, args).await,
        SeminarCommand::Resume { project } => c.written(
            "resumed",
            &c.seminars()?
                .resume_participant(action(c, project, String::new()))
                .await?
                .into_inner(),
        ),
    }
}

/// Projects as the board shows them: one row each (JSON: every field).
async fn board(c: &Connection, all: &[pb::Project]) {
    if c.json {
        print_json(&serde_json::json!(
            all.iter().map(project_json).collect::<Vec<_>>()
        ));
    } else {
        let units = crate::client::unit_names(c).await;
        let rows = all.iter().map(|p| {
            let s = p.short_term.unwrap_or_default();
            vec![
                p.code.clone(),
                p.title.clone(),
                p.participant_name.clone(),
                crate::client::unit_name(&units, &p.opd),
                crate::words::lang().stage(&p.state),
                format!("{}/{}/{}", s.approved, s.submitted, s.total),
                p.next_due.clone(),
                p.overdue_count.to_string(),
            ]
        });
        say!(
            "{}",
            table(
                &[
                    "code",
                    "title",
                    "participant",
                    "OPD",
                    "state",
                    "short-term ok/sub/all",
                    "next due",
                    "overdue"
                ],
                rows
            )
        );
    }
}
