//! Every role refused where it does not belong, across every RPC; and no
//! token, an expired token, a forged token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_tests::app::{TestApp, spawn_app};
use jejak_tests::{TestDb, on_both_backends};
use tonic::{Code, Status};

use super::oracle::{INNOVATION_STRANGERS, ON_A_PROJECT, ON_AN_INNOVATION, PROJECT_STRANGERS};
use super::*;

on_both_backends!(
    every_rpc_refuses_the_roles_that_do_not_belong,
    every_rpc_needs_a_valid_token
);

const INNOVATION: &str = "inv-1";

/// Calls `rpc` with `token` (or none); only the status matters.
async fn call(app: &TestApp, rpc: &str, token: Option<&str>) -> Result<(), Status> {
    call_on(app, rpc, token, &project_id(), INNOVATION).await
}

/// Calls `rpc` with `token` on project `pid` or innovation `inv`.
pub(crate) async fn call_on(
    app: &TestApp,
    rpc: &str,
    token: Option<&str>,
    pid: &str,
    inv: &str,
) -> Result<(), Status> {
    let ch = app.authed(token);
    let pid = pid.to_owned();
    let decision = |m: &str| pb::MilestoneDecision {
        expected_version: None,
        request_id: String::new(),
        project_id: pid.clone(),
        milestone_id: m.into(),
        reason: "Alasan".into(),
    };
    let reason = || pb::ReasonRequest {
        expected_version: None,
        request_id: String::new(),
        project_id: pid.clone(),
        reason: "Alasan".into(),
    };
    let act = || pb::ProjectAction {
        expected_version: None,
        request_id: String::new(),
        project_id: pid.clone(),
        note: "Catatan".into(),
    };
    let dated = |on: &str| pb::DatedRequest {
        expected_version: None,
        request_id: String::new(),
        innovation_id: inv.into(),
        on: on.into(),
        text: "Teks".into(),
    };
    let agreement = || {
        Some(pb::Agreement {
            kind: "PKS".into(),
            number: "1".into(),
            signed_on: "2026-09-01".into(),
            document: None,
        })
    };
    let mut cohorts = pb::cohorts_client::CohortsClient::new(ch.clone());
    let mut projects = pb::change_projects_client::ChangeProjectsClient::new(ch.clone());
    let mut mentoring = pb::mentoring_client::MentoringClient::new(ch.clone());
    let mut seminars = pb::seminars_client::SeminarsClient::new(ch.clone());
    let mut innovations = pb::innovations_client::InnovationsClient::new(ch.clone());
    let mut audit = pb::audit_client::AuditClient::new(ch.clone());
    let mut admin = pb::admin_client::AdminClient::new(ch.clone());
    let mut evidence = pb::evidence_client::EvidenceClient::new(ch.clone());
    let mut notifications = pb::notifications_client::NotificationsClient::new(ch.clone());
    match rpc {
        "Cohorts.OpenCohort" => cohorts
            .open_cohort(pb::OpenCohortRequest {
                cohort_id: "pka-2026-9".into(),
                ..open_cohort()
            })
            .await
            .map(drop),
        "Cohorts.EnrolParticipant" => cohorts.enrol_participant(enrol()).await.map(drop),
        "Cohorts.ReassignStaff" => cohorts.reassign_staff(enrol()).await.map(drop),
        "Cohorts.AmendEnrolment" => cohorts
            .amend_enrolment(pb::AmendEnrolmentRequest {
                cohort_id: COHORT.into(),
                nip: enrol().participant.unwrap_or_default().nip,
                position: Some("Kepala Bidang".into()),
                ..Default::default()
            })
            .await
            .map(drop),
        "Cohorts.StartWorkplacePhase" => cohorts.start_workplace_phase(act()).await.map(drop),
        "Cohorts.ListCohorts" => cohorts
            .list_cohorts(pb::ListCohortsRequest::default())
            .await
            .map(drop),
        "Cohorts.GetCohortProgress" => cohorts
            .get_cohort_progress(pb::GetCohortProgressRequest {
                cohort_id: COHORT.into(),
                min_position: 0,
            })
            .await
            .map(drop),
        "Cohorts.ChangeCohortWorkflow" => cohorts
            .change_cohort_workflow(pb::ChangeCohortWorkflowRequest {
                request_id: String::new(),
                cohort_id: COHORT.into(),
                workflow: "change-project-pka".into(),
                version: 0,
                expected_version: None,
            })
            .await
            .map(drop),
        "ChangeProjects.Propose" => projects.propose(propose()).await.map(drop),
        "ChangeProjects.ReviseProposal" => projects
            .revise_proposal(pb::ReviseProposalRequest {
                expected_version: None,
                request_id: String::new(),
                project_id: pid.clone(),
                proposal: Some(proposal()),
            })
            .await
            .map(drop),
        "ChangeProjects.SubmitEvidence" => projects
            .submit_evidence(pb::SubmitEvidenceRequest {
                expected_version: None,
                request_id: String::new(),
                project_id: pid.clone(),
                milestone_id: "m1".into(),
                attachments: vec![file("a.pdf")],
                note: String::new(),
            })
            .await
            .map(drop),
        "ChangeProjects.SubmitFinalReport" => projects
            .submit_final_report(pb::SubmitFinalReportRequest {
                expected_version: None,
                request_id: String::new(),
                project_id: pid.clone(),
                summary: "S".into(),
                attachments: vec![file("r.pdf")],
            })
            .await
            .map(drop),
        "ChangeProjects.Withdraw" => projects.withdraw(reason()).await.map(drop),
        "ChangeProjects.Comment" => projects.comment(act()).await.map(drop),
        "ChangeProjects.MarkReadyForSeminar" => projects
            .mark_ready_for_seminar(pb::MarkReadyRequest {
                expected_version: None,
                request_id: String::new(),
                project_id: pid.clone(),
                seminar: pb::SeminarKind::Proposal as i32,
            })
            .await
            .map(drop),
        "ChangeProjects.GetProject" => projects
            .get_project(pb::GetProjectRequest {
                project_id: pid.clone(),
                min_position: 0,
            })
            .await
            .map(drop),
        "ChangeProjects.GetProjectDetail" => projects
            .get_project_detail(pb::GetProjectRequest {
                project_id: pid.clone(),
                min_position: 0,
            })
            .await
            .map(drop),
        "Cohorts.StartWorkplacePhaseAll" => cohorts
            .start_workplace_phase_all(pb::StartWorkplacePhaseAllRequest {
                request_id: String::new(),
                cohort_id: COHORT.into(),
            })
            .await
            .map(drop),
        "Admin.AddUnit" => admin
            .add_unit(pb::AddUnitRequest {
                request_id: String::new(),
                unit: Some(pb::Unit {
                    code: "dinkes".into(),
                    name: "Dinas Kesehatan".into(),
                    kind: "opd".into(),
                    parent: String::new(),
                }),
            })
            .await
            .map(drop),
        "Admin.RenameUnit" => admin
            .rename_unit(pb::RenameUnitRequest {
                request_id: String::new(),
                code: "dinkes".into(),
                name: "Dinkes".into(),
            })
            .await
            .map(drop),
        "Admin.ListUnits" => admin
            .list_units(pb::ListUnitsRequest::default())
            .await
            .map(drop),
        "ChangeProjects.ListProjects" => projects
            .list_projects(pb::ListProjectsRequest::default())
            .await
            .map(drop),
        "Mentoring.GetInbox" => mentoring
            .get_inbox(pb::GetInboxRequest::default())
            .await
            .map(drop),
        "Mentoring.WatchInbox" => mentoring
            .watch_inbox(pb::GetInboxRequest::default())
            .await
            .map(drop),
        "Mentoring.AgreeChangeArea" => mentoring.agree_change_area(act()).await.map(drop),
        "Mentoring.ApproveActionPlan" => mentoring.approve_action_plan(act()).await.map(drop),
        "Mentoring.ReturnActionPlan" => mentoring.return_action_plan(reason()).await.map(drop),
        "Mentoring.ApproveMilestone" => mentoring.approve_milestone(decision("m1")).await.map(drop),
        "Mentoring.ReturnMilestone" => mentoring.return_milestone(decision("m1")).await.map(drop),
        "Mentoring.EndorseAdoption" => mentoring.endorse_adoption(act()).await.map(drop),
        "Mentoring.RecordReplication" => mentoring
            .record_replication(pb::ProjectReplicationRequest {
                expected_version: None,
                request_id: String::new(),
                project_id: pid.clone(),
                adopter_opd: "disdik".into(),
                adopter_region: "Kota Serang".into(),
                agreement: agreement(),
            })
            .await
            .map(drop),
        "Seminars.RecordProposalSeminar" => seminars
            .record_proposal_seminar(pb::ProposalSeminarRequest {
                expected_version: None,
                request_id: String::new(),
                project_id: pid.clone(),
                accepted: true,
                notes: String::new(),
            })
            .await
            .map(drop),
        "Seminars.RecordFinalSeminar" => seminars
            .record_final_seminar(pb::FinalSeminarRequest {
                expected_version: None,
                request_id: String::new(),
                project_id: pid.clone(),
                ratings: ["m1", "m2", "m3"]
                    .map(|m| pb::TargetRating {
                        milestone_id: m.into(),
                        rating: pb::Rating::Meets as i32,
                    })
                    .to_vec(),
                score: 80,
                notes: String::new(),
            })
            .await
            .map(drop),
        "Seminars.SetGrade" => seminars
            .set_grade(pb::SetGradeRequest {
                expected_version: None,
                request_id: String::new(),
                project_id: pid.clone(),
                grade: "memuaskan".into(),
            })
            .await
            .map(drop),
        "Seminars.DeferGraduation" => seminars.defer_graduation(reason()).await.map(drop),
        "Seminars.ResumeParticipant" => seminars.resume_participant(act()).await.map(drop),
        "Innovations.RegisterInnovation" => innovations
            .register_innovation(register("inv-2"))
            .await
            .map(drop),
        "Innovations.JudgeFeasibility" => innovations
            .judge_feasibility(pb::JudgeFeasibilityRequest {
                expected_version: None,
                request_id: String::new(),
                innovation_id: inv.into(),
                feasible: true,
                notes: String::new(),
            })
            .await
            .map(drop),
        "Innovations.Designate" => innovations
            .designate(pb::DesignateRequest {
                expected_version: None,
                request_id: String::new(),
                innovation_id: inv.into(),
                decree_number: "SK 1".into(),
                decree_date: "2026-01-01".into(),
            })
            .await
            .map(drop),
        "Innovations.StartPilot" => innovations.start_pilot(dated("2026-02-01")).await.map(drop),
        "Innovations.EvaluatePilot" => innovations
            .evaluate_pilot(dated("2026-02-02"))
            .await
            .map(drop),
        "Innovations.Implement" => innovations.implement(dated("2026-02-03")).await.map(drop),
        "Innovations.MarkDormant" => innovations
            .mark_dormant(dated("2026-02-04"))
            .await
            .map(drop),
        "Innovations.Resume" => innovations.resume(dated("2026-02-05")).await.map(drop),
        "Innovations.RecordReplication" => innovations
            .record_replication(pb::InnovationReplicationRequest {
                expected_version: None,
                request_id: String::new(),
                innovation_id: inv.into(),
                adopter_opd: "disdik".into(),
                adopter_region: "Kota Serang".into(),
                agreement: agreement(),
            })
            .await
            .map(drop),
        "Innovations.AddEvidence" => innovations
            .add_evidence(pb::AddEvidenceRequest {
                expected_version: None,
                request_id: String::new(),
                innovation_id: inv.into(),
                indicator: "regulasi".into(),
                attachment: Some(file("sk.pdf")),
            })
            .await
            .map(drop),
        "Innovations.RecordAward" => innovations
            .record_award(pb::RecordAwardRequest {
                expected_version: None,
                request_id: String::new(),
                innovation_id: inv.into(),
                title: "Top".into(),
                year: 2026,
                awarded_by: "Kemen".into(),
            })
            .await
            .map(drop),
        "ChangeProjects.RequestPlanChange" => projects
            .request_plan_change(pb::PlanChangeRequest {
                expected_version: None,
                request_id: String::new(),
                project_id: pid.clone(),
                milestones: proposal().milestones,
                reason: "Alasan".into(),
            })
            .await
            .map(drop),
        "Mentoring.ApprovePlanChange" => mentoring.approve_plan_change(act()).await.map(drop),
        "Mentoring.ReturnPlanChange" => mentoring.return_plan_change(reason()).await.map(drop),
        "Seminars.CorrectProposalSeminar" => seminars
            .correct_proposal_seminar(pb::CorrectProposalSeminarRequest {
                expected_version: None,
                request_id: String::new(),
                project_id: pid.clone(),
                accepted: true,
                notes: String::new(),
                reason: "Alasan".into(),
            })
            .await
            .map(drop),
        "Seminars.CorrectFinalSeminar" => seminars
            .correct_final_seminar(pb::CorrectFinalSeminarRequest {
                expected_version: None,
                request_id: String::new(),
                project_id: pid.clone(),
                ratings: vec![],
                score: 80,
                notes: String::new(),
                reason: "Alasan".into(),
            })
            .await
            .map(drop),
        "Seminars.CorrectGrade" => seminars
            .correct_grade(pb::CorrectGradeRequest {
                expected_version: None,
                request_id: String::new(),
                project_id: pid.clone(),
                grade: "memuaskan".into(),
                reason: "Alasan".into(),
            })
            .await
            .map(drop),
        "Innovations.AmendProfile" => innovations
            .amend_profile(pb::AmendProfileRequest {
                request_id: String::new(),
                innovation_id: inv.into(),
                name: "Nama baru".into(),
                form: pb::Form::PublicService as i32,
                sector: "kesehatan".into(),
                goal: "Tujuan".into(),
                benefit: "Manfaat".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "Innovations.GetInnovation" => innovations
            .get_innovation(pb::GetInnovationRequest {
                innovation_id: inv.into(),
                min_position: 0,
            })
            .await
            .map(drop),
        "Innovations.GetInnovationDetail" => innovations
            .get_innovation_detail(pb::GetInnovationRequest {
                innovation_id: inv.into(),
                min_position: 0,
            })
            .await
            .map(drop),
        "Innovations.ListInnovations" => innovations
            .list_innovations(pb::ListInnovationsRequest::default())
            .await
            .map(drop),
        "Innovations.GetStatistics" => innovations
            .get_statistics(pb::GetStatisticsRequest::default())
            .await
            .map(drop),
        "Audit.ReadStream" => audit
            .read_stream(pb::ReadStreamRequest {
                stream_id: format!("change_project-{pid}"),
                from_version: 0,
                limit: 0,
            })
            .await
            .map(drop),
        "Audit.ReadLog" => audit
            .read_log(pb::ReadLogRequest::default())
            .await
            .map(drop),
        "Audit.FollowLog" => audit
            .follow_log(pb::ReadLogRequest::default())
            .await
            .map(drop),
        "Audit.GetStateAt" => audit
            .get_state_at(pb::GetStateAtRequest {
                kind: pb::StreamKind::ChangeProject as i32,
                id: pid.clone(),
                version: 1,
                at: None,
                effective: false,
            })
            .await
            .map(drop),
        "Audit.Verify" => audit.verify(pb::VerifyRequest::default()).await.map(drop),
        "Audit.GetDigest" => audit.get_digest(pb::GetDigestRequest {}).await.map(drop),
        "Audit.GetActivity" => audit
            .get_activity(pb::GetActivityRequest {
                actor_id: "mentor-1".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "Admin.GetProjectionStatus" => admin
            .get_projection_status(pb::GetProjectionStatusRequest {})
            .await
            .map(drop),
        "Admin.RebuildProjection" => admin
            .rebuild_projection(pb::RebuildProjectionRequest {
                name: "cohorts".into(),
            })
            .await
            .map(drop),
        "Admin.ListWorkflows" => admin
            .list_workflows(pb::ListWorkflowsRequest {})
            .await
            .map(drop),
        "Admin.GetWorkflow" => admin
            .get_workflow(pb::GetWorkflowRequest {
                name: "innovation".into(),
                version: 0,
            })
            .await
            .map(drop),
        "Admin.RegisterWorkflow" => admin
            .register_workflow(pb::RegisterWorkflowRequest {
                request_id: String::new(),
                file_name: "w.toml".into(),
                source: WORKFLOW.into(),
            })
            .await
            .map(drop),
        "Admin.RevokeTokens" => admin
            .revoke_tokens(pb::RevokeTokensRequest {
                request_id: String::new(),
                token_id: "some-token".into(),
                subject: String::new(),
                issued_before: String::new(),
                reason: String::new(),
            })
            .await
            .map(drop),
        "Admin.ErasePerson" => admin
            .erase_person(pb::ErasePersonRequest {
                request_id: String::new(),
                person_id: "0192f5e4-7c1a-7b3e-9d2a-5f0c8e1b2a3d".into(),
                basis: "UU 27/2022 Pasal 8".into(),
            })
            .await
            .map(drop),
        "Evidence.Upload" => {
            let parts = [
                pb::UploadRequest {
                    part: Some(pb::upload_request::Part::Metadata(pb::UploadMetadata {
                        project_id: pid.clone(),
                        innovation_id: String::new(),
                        name: "notulen.pdf".into(),
                        media_type: "application/pdf".into(),
                    })),
                },
                pb::UploadRequest {
                    part: Some(pb::upload_request::Part::Chunk(b"%PDF-1.4".to_vec())),
                },
            ];
            evidence.upload(tokio_stream::iter(parts)).await.map(drop)
        }
        "Evidence.Download" => evidence
            .download(pb::DownloadRequest {
                file: format!("jejak:sha256/{}", "ab".repeat(32)),
                project_id: pid.clone(),
                innovation_id: String::new(),
            })
            .await
            .map(drop),
        "Evidence.AuditFiles" => evidence
            .audit_files(pb::AuditFilesRequest {})
            .await
            .map(drop),
        "Notifications.SetContact" => notifications
            .set_contact(pb::SetContactRequest {
                contact: Some(pb::Contact {
                    email: "someone@cilegonkota.go.id".into(),
                    ..pb::Contact::default()
                }),
            })
            .await
            .map(drop),
        "Notifications.GetContact" => notifications
            .get_contact(pb::GetContactRequest {})
            .await
            .map(drop),
        "Notifications.ClearContact" => notifications
            .clear_contact(pb::ClearContactRequest {})
            .await
            .map(drop),
        "Notifications.ListOutbox" => notifications
            .list_outbox(pb::ListOutboxRequest::default())
            .await
            .map(drop),
        "Notifications.RetryOutboxMessage" => notifications
            .retry_outbox_message(pb::RetryOutboxMessageRequest {
                id: "0193a0b2-0000-7000-8000-000000000000".into(),
            })
            .await
            .map(drop),
        "Notifications.DismissOutboxMessage" => notifications
            .dismiss_outbox_message(pb::DismissOutboxMessageRequest {
                id: "0193a0b2-0000-7000-8000-000000000000".into(),
                reason: String::new(),
            })
            .await
            .map(drop),
        other => panic!("no such RPC in the table: {other}"),
    }
}

const WORKFLOW: &str = r#"
name = "custom-innovation"
version = 1
kind = "innovation"
initial = "proposed"
[[states]]
name = "proposed"
[[transitions]]
command = "register"
to = "proposed"
roles = ["brida_officer"]
"#;

pub(crate) fn register(id: &str) -> pb::RegisterInnovationRequest {
    pb::RegisterInnovationRequest {
        expected_version: None,
        request_id: String::new(),
        innovation_id: id.into(),
        name: "Posyandu Remaja".into(),
        opd: "dinkes".into(),
        unit: "Puskesmas Cibeber".into(),
        region: "Kota Cilegon".into(),
        source: pb::Source::HealthCompetition as i32,
        initiator_type: "ASN".into(),
        form: pb::Form::PublicService as i32,
        digital: true,
        sector: "kesehatan".into(),
        sdgs: vec![3],
        goal: "Tujuan".into(),
        benefit: "Manfaat".into(),
        budget: 0,
        legal_basis: String::new(),
    }
}

/// Who is refused on each RPC (keys of `tokens`).
const TABLE: &[(&str, &[&str])] = &[
    (
        "Cohorts.OpenCohort",
        &["participant", "mentor", "auditor", "admin", "brida"],
    ),
    (
        "Cohorts.EnrolParticipant",
        &["other-organizer", "participant", "auditor"],
    ),
    (
        "Cohorts.ReassignStaff",
        &["other-organizer", "mentor", "auditor"],
    ),
    (
        "Cohorts.AmendEnrolment",
        &["other-organizer", "mentor", "participant", "auditor"],
    ),
    (
        "Cohorts.StartWorkplacePhase",
        &["mentor", "participant", "auditor", "other-organizer"],
    ),
    ("Cohorts.ListCohorts", &["participant", "mentor", "admin"]),
    (
        "Cohorts.GetCohortProgress",
        &["participant", "mentor", "other-organizer"],
    ),
    (
        "Cohorts.ChangeCohortWorkflow",
        &["participant", "mentor", "admin", "other-organizer"],
    ),
    (
        "ChangeProjects.Propose",
        &["mentor", "auditor", "organizer", "other-participant"],
    ),
    (
        "ChangeProjects.ReviseProposal",
        &["mentor", "auditor", "other-participant"],
    ),
    (
        "ChangeProjects.SubmitEvidence",
        &["mentor", "auditor", "other-participant", "officer"],
    ),
    (
        "ChangeProjects.SubmitFinalReport",
        &["mentor", "auditor", "other-participant"],
    ),
    (
        "ChangeProjects.Withdraw",
        &["mentor", "auditor", "other-participant"],
    ),
    (
        "ChangeProjects.Comment",
        &["participant", "auditor", "other-mentor"],
    ),
    (
        "ChangeProjects.MarkReadyForSeminar",
        &["participant", "mentor", "other-coach"],
    ),
    (
        "ChangeProjects.GetProject",
        &["other-participant", "other-mentor", "officer", "admin"],
    ),
    (
        "ChangeProjects.GetProjectDetail",
        &["other-participant", "other-mentor", "officer", "admin"],
    ),
    (
        "Cohorts.StartWorkplacePhaseAll",
        &["mentor", "participant", "auditor", "other-organizer"],
    ),
    (
        "Admin.AddUnit",
        &["organizer", "participant", "auditor", "mentor"],
    ),
    (
        "Admin.RenameUnit",
        &["organizer", "participant", "auditor", "brida"],
    ),
    (
        "Mentoring.GetInbox",
        &["participant", "auditor", "organizer"],
    ),
    ("Mentoring.WatchInbox", &["participant", "auditor"]),
    (
        "Mentoring.AgreeChangeArea",
        &["participant", "other-mentor", "auditor", "organizer"],
    ),
    (
        "Mentoring.ApproveActionPlan",
        &["participant", "other-mentor", "auditor"],
    ),
    (
        "Mentoring.ReturnActionPlan",
        &["participant", "other-mentor", "auditor"],
    ),
    (
        "Mentoring.ApproveMilestone",
        &["participant", "other-mentor", "auditor", "coach"],
    ),
    (
        "Mentoring.ReturnMilestone",
        &["participant", "other-mentor", "auditor"],
    ),
    (
        "Mentoring.EndorseAdoption",
        &["participant", "other-mentor", "organizer", "auditor"],
    ),
    (
        "Mentoring.RecordReplication",
        &["participant", "auditor", "other-mentor"],
    ),
    (
        "Seminars.RecordProposalSeminar",
        &["mentor", "other-examiner", "auditor", "participant"],
    ),
    (
        "Seminars.RecordFinalSeminar",
        &["mentor", "participant", "other-examiner"],
    ),
    (
        "Seminars.SetGrade",
        &["examiner", "other-organizer", "participant"],
    ),
    (
        "Seminars.DeferGraduation",
        &["mentor", "participant", "other-organizer"],
    ),
    ("Seminars.ResumeParticipant", &["mentor", "participant"]),
    (
        "ChangeProjects.RequestPlanChange",
        &["mentor", "auditor", "other-participant", "organizer"],
    ),
    (
        "Mentoring.ApprovePlanChange",
        &["participant", "other-mentor", "auditor", "organizer"],
    ),
    (
        "Mentoring.ReturnPlanChange",
        &["participant", "other-mentor", "auditor"],
    ),
    (
        "Seminars.CorrectProposalSeminar",
        &["mentor", "other-examiner", "auditor", "participant"],
    ),
    (
        "Seminars.CorrectFinalSeminar",
        &["mentor", "participant", "other-examiner", "organizer"],
    ),
    (
        "Seminars.CorrectGrade",
        &["examiner", "other-organizer", "participant"],
    ),
    (
        "Innovations.AmendProfile",
        &["officer", "auditor", "participant", "mentor"],
    ),
    (
        "Innovations.RegisterInnovation",
        &["officer", "mentor", "auditor", "participant"],
    ),
    (
        "Innovations.JudgeFeasibility",
        &["officer", "auditor", "participant"],
    ),
    ("Innovations.Designate", &["officer", "auditor", "mentor"]),
    ("Innovations.StartPilot", &["officer", "auditor"]),
    ("Innovations.EvaluatePilot", &["officer", "auditor"]),
    ("Innovations.Implement", &["officer", "auditor"]),
    ("Innovations.MarkDormant", &["officer", "auditor"]),
    ("Innovations.Resume", &["officer", "auditor"]),
    (
        "Innovations.RecordReplication",
        &["officer", "auditor", "participant"],
    ),
    (
        "Innovations.AddEvidence",
        &["officer", "auditor", "participant"],
    ),
    ("Innovations.RecordAward", &["officer", "auditor"]),
    (
        "Innovations.GetInnovation",
        &["officer", "participant", "mentor"],
    ),
    (
        "Innovations.GetInnovationDetail",
        &["officer", "participant", "mentor"],
    ),
    (
        "Innovations.ListInnovations",
        &["participant", "mentor", "organizer"],
    ),
    ("Innovations.GetStatistics", &["participant", "mentor"]),
    (
        "Audit.ReadStream",
        &["participant", "mentor", "organizer", "brida", "admin"],
    ),
    ("Audit.ReadLog", &["participant", "mentor", "brida"]),
    ("Audit.FollowLog", &["participant", "organizer", "admin"]),
    ("Audit.GetStateAt", &["participant", "mentor", "brida"]),
    ("Audit.Verify", &["participant", "mentor", "admin"]),
    ("Audit.GetDigest", &["participant", "organizer"]),
    ("Audit.GetActivity", &["participant", "other-mentor"]),
    ("Admin.GetProjectionStatus", &["participant", "mentor"]),
    (
        "Admin.RebuildProjection",
        &["auditor", "participant", "organizer"],
    ),
    (
        "Admin.RegisterWorkflow",
        &["mentor", "participant", "auditor", "officer"],
    ),
    (
        "Admin.RevokeTokens",
        &["organizer", "participant", "auditor", "brida"],
    ),
    (
        "Admin.ErasePerson",
        &["organizer", "participant", "auditor", "mentor"],
    ),
    (
        "Evidence.Upload",
        &["coach", "examiner", "organizer", "auditor", "other-mentor"],
    ),
    (
        "Evidence.Download",
        &["other-participant", "officer", "admin"],
    ),
    ("Evidence.AuditFiles", &["participant", "mentor", "admin"]),
    (
        "Notifications.SetContact",
        &["auditor", "admin", "brida", "officer", "coach", "examiner"],
    ),
    ("Notifications.GetContact", &["auditor", "admin"]),
    ("Notifications.ClearContact", &["auditor", "brida"]),
    (
        "Notifications.ListOutbox",
        &["participant", "mentor", "organizer", "auditor"],
    ),
    (
        "Notifications.RetryOutboxMessage",
        &["participant", "mentor", "organizer", "auditor"],
    ),
    (
        "Notifications.DismissOutboxMessage",
        &["participant", "mentor", "organizer", "auditor"],
    ),
];

/// Every RPC of the API, for the token checks.
const ALL: &[&str] = &[
    "Cohorts.OpenCohort",
    "Cohorts.EnrolParticipant",
    "Cohorts.ReassignStaff",
    "Cohorts.AmendEnrolment",
    "Cohorts.StartWorkplacePhase",
    "Cohorts.ListCohorts",
    "Cohorts.GetCohortProgress",
    "Cohorts.ChangeCohortWorkflow",
    "ChangeProjects.Propose",
    "ChangeProjects.ReviseProposal",
    "ChangeProjects.SubmitEvidence",
    "ChangeProjects.SubmitFinalReport",
    "ChangeProjects.Withdraw",
    "ChangeProjects.Comment",
    "ChangeProjects.MarkReadyForSeminar",
    "ChangeProjects.GetProject",
    "ChangeProjects.ListProjects",
    "ChangeProjects.GetProjectDetail",
    "Cohorts.StartWorkplacePhaseAll",
    "Admin.AddUnit",
    "Admin.RenameUnit",
    "Admin.ListUnits",
    "Mentoring.GetInbox",
    "Mentoring.WatchInbox",
    "Mentoring.AgreeChangeArea",
    "Mentoring.ApproveActionPlan",
    "Mentoring.ReturnActionPlan",
    "Mentoring.ApproveMilestone",
    "Mentoring.ReturnMilestone",
    "Mentoring.EndorseAdoption",
    "Mentoring.RecordReplication",
    "Seminars.RecordProposalSeminar",
    "Seminars.RecordFinalSeminar",
    "Seminars.SetGrade",
    "Seminars.DeferGraduation",
    "Seminars.ResumeParticipant",
    "ChangeProjects.RequestPlanChange",
    "Mentoring.ApprovePlanChange",
    "Mentoring.ReturnPlanChange",
    "Seminars.CorrectProposalSeminar",
    "Seminars.CorrectFinalSeminar",
    "Seminars.CorrectGrade",
    "Innovations.AmendProfile",
    "Innovations.RegisterInnovation",
    "Innovations.JudgeFeasibility",
    "Innovations.Designate",
    "Innovations.StartPilot",
    "Innovations.EvaluatePilot",
    "Innovations.Implement",
    "Innovations.MarkDormant",
    "Innovations.Resume",
    "Innovations.RecordReplication",
    "Innovations.AddEvidence",
    "Innovations.RecordAward",
    "Innovations.GetInnovation",
    "Innovations.GetInnovationDetail",
    "Innovations.ListInnovations",
    "Innovations.GetStatistics",
    "Audit.ReadStream",
    "Audit.ReadLog",
    "Audit.FollowLog",
    "Audit.GetStateAt",
    "Audit.Verify",
    "Audit.GetDigest",
    "Audit.GetActivity",
    "Admin.GetProjectionStatus",
    "Admin.RebuildProjection",
    "Admin.ListWorkflows",
    "Admin.GetWorkflow",
    "Admin.RegisterWorkflow",
    "Admin.RevokeTokens",
    "Admin.ErasePerson",
    "Evidence.Upload",
    "Evidence.Download",
    "Evidence.AuditFiles",
    "Notifications.SetContact",
    "Notifications.GetContact",
    "Notifications.ClearContact",
    "Notifications.ListOutbox",
    "Notifications.RetryOutboxMessage",
    "Notifications.DismissOutboxMessage",
];

pub(crate) async fn fixture(
    db: &TestDb,
) -> (TestApp, std::collections::HashMap<&'static str, String>) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    proposed(&app, &p).await;
    let written = app
        .innovations(&p.brida)
        .register_innovation(register(INNOVATION))
        .await
        .expect("register")
        .into_inner();
    let runner = app.app.views().runner();
    for view in runner.names() {
        runner
            .wait_for(view, written.position, Duration::from_secs(30))
            .await
            .expect("the views catch up");
    }
    let tokens = std::collections::HashMap::from([
        ("participant", p.participant.clone()),
        (
            "other-participant",
            app.token(Role::Participant, "199001012015032001"),
        ),
        ("mentor", p.mentor.clone()),
        ("other-mentor", app.token(Role::Mentor, "mentor-9")),
        ("coach", p.coach.clone()),
        ("other-coach", app.token(Role::Coach, "coach-9")),
        ("examiner", p.examiner.clone()),
        ("other-examiner", app.token(Role::Examiner, "examiner-9")),
        ("organizer", p.organizer.clone()),
        ("other-organizer", app.token(Role::Organizer, "organizer-9")),
        ("brida", p.brida.clone()),
        ("officer", p.officer.clone()),
        ("auditor", p.auditor.clone()),
        ("admin", p.admin.clone()),
    ]);
    (app, tokens)
}

async fn every_rpc_refuses_the_roles_that_do_not_belong(db: &TestDb) {
    let (app, tokens) = fixture(db).await;
    let before = app.app.engine().store().digest().await.unwrap();
    for (rpc, refused) in TABLE {
        for who in *refused {
            // A stranger to the project or innovation is told it does not
            // exist (see `oracle.rs`); everyone else why they may not.
            let stranger = (ON_A_PROJECT.contains(rpc) && PROJECT_STRANGERS.contains(who))
                || (ON_AN_INNOVATION.contains(rpc) && INNOVATION_STRANGERS.contains(who))
                || (matches!(
                    *rpc,
                    "Cohorts.GetCohortProgress"
                        | "Cohorts.StartWorkplacePhaseAll"
                        | "Cohorts.AmendEnrolment"
                ) && *who == "other-organizer");
            let expected = if stranger {
                Code::NotFound
            } else {
                Code::PermissionDenied
            };
            let result = call(&app, rpc, Some(&tokens[who])).await;
            match result {
                Err(status) if status.code() == expected => {
                    assert!(!status.message().is_empty(), "{rpc} as {who}: a reason");
                }
                other => panic!("{rpc} as {who}: expected {expected:?}, got {other:?}"),
            }
        }
    }
    assert_eq!(
        app.app.engine().store().digest().await.unwrap(),
        before,
        "no refused call wrote anything"
    );
    // Lists never return a row the caller may not see.
    let listed = app
        .projects(&tokens["other-participant"])
        .list_projects(pb::ListProjectsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.projects.is_empty());
    let listed = app
        .projects(&tokens["officer"])
        .list_projects(pb::ListProjectsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.projects.is_empty());
    let listed = app
        .innovations(&tokens["officer"])
        .list_innovations(pb::ListInnovationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed.innovations.is_empty(),
        "a DPMPTSP officer does not see the health office's innovations"
    );
    let listed = app
        .projects(&tokens["mentor"])
        .list_projects(pb::ListProjectsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.projects.len(), 1);
    app.stop().await;
}

async fn every_rpc_needs_a_valid_token(db: &TestDb) {
    let (app, tokens) = fixture(db).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = jejak_server::auth::Claims {
        sub: "insp-1".into(),
        nip: None,
        role: "auditor".into(),
        opd: None,
        provider: None,
        iss: "jejak".into(),
        aud: "jejak".into(),
        iat: now - 7_200,
        nbf: None,
        exp: now - 3_600,
        jti: None,
        backdate: false,
    };
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(jejak_tests::app::TEST_SECRET),
    )
    .unwrap();
    let forged = jejak_server::Keys::new(b"another-secret-that-is-long-enough-to-use")
        .unwrap()
        .issue("insp-1", Role::Auditor, None, Duration::from_secs(600));
    let unknown_role = {
        let claims = jejak_server::auth::Claims {
            role: "mayor".into(),
            exp: now + 600,
            iat: now,
            ..claims.clone()
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(jejak_tests::app::TEST_SECRET),
        )
        .unwrap()
    };
    for rpc in ALL {
        for (label, token, words) in [
            ("no token", None, "no token"),
            ("expired", Some(expired.as_str()), "expired"),
            ("forged", Some(forged.as_str()), "signature"),
            ("unknown role", Some(unknown_role.as_str()), "unknown role"),
            ("garbage", Some("not.a.jwt"), "malformed"),
        ] {
            match call(&app, rpc, token).await {
                Err(status) if status.code() == Code::Unauthenticated => {
                    assert!(
                        status.message().contains(words),
                        "{rpc} with {label}: '{}'",
                        status.message()
                    );
                }
                other => panic!("{rpc} with {label}: expected UNAUTHENTICATED, got {other:?}"),
            }
        }
    }
    // Health and reflection need no token.
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel());
    let served = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "jejak.v1.Audit".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        served.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let _ = tokens;
    macro_rules! services_listed {
        ($pb:path) => {{
            use $pb as r;
            let mut client =
                r::server_reflection_client::ServerReflectionClient::new(app.channel());
            let request = r::ServerReflectionRequest {
                host: String::new(),
                message_request: Some(r::server_reflection_request::MessageRequest::ListServices(
                    String::new(),
                )),
            };
            let mut answers = client
                .server_reflection_info(tokio_stream::iter([request]))
                .await
                .unwrap()
                .into_inner();
            let answer = answers.message().await.unwrap().expect("an answer");
            match answer.message_response {
                Some(r::server_reflection_response::MessageResponse::ListServicesResponse(
                    list,
                )) => list.service.into_iter().map(|s| s.name).collect::<Vec<_>>(),
                other => panic!("expected a service list, got {other:?}"),
            }
        }};
    }
    for listed in [
        services_listed!(tonic_reflection::pb::v1),
        services_listed!(tonic_reflection::pb::v1alpha),
    ] {
        for service in [
            "jejak.v1.Mentoring",
            "jejak.v1.Audit",
            "jejak.v1.Innovations",
            "grpc.health.v1.Health",
        ] {
            assert!(
                listed.iter().any(|s| s == service),
                "{service} in {listed:?}"
            );
        }
    }
    app.stop().await;
}
