//! The rules of the lifecycles over gRPC (ADR 0027): reassignment takes
//! effect on the project and its inbox items, an amended enrolment on
//! the project's views and page, results and grades are
//! recorded once and corrected with a reason, the plan changes through the
//! mentor, an innovation's profile is amended, and replication meets in
//! both lifecycles, once.

use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_tests::app::{TestApp, spawn_app};
use jejak_tests::{TestDb, on_both_backends};
use tokio_stream::StreamExt as _;
use tonic::Code;

use super::*;

on_both_backends!(
    a_reassignment_moves_the_project_and_its_inbox_to_the_new_mentor,
    an_amended_enrolment_reaches_the_project_sealed,
    results_and_grades_are_recorded_once_and_corrected_with_a_reason,
    the_plan_changes_after_acceptance_through_the_mentor,
    an_officer_amends_an_innovations_profile,
    a_projects_replication_meets_its_innovation_once
);

pub(super) fn reason(request_id: &str, text: &str) -> pb::ReasonRequest {
    pb::ReasonRequest {
        expected_version: None,
        request_id: request_id.into(),
        project_id: project_id(),
        reason: text.into(),
    }
}

/// Follows the log from `after` until an event of `event_type` arrives.
pub(super) async fn event_after(app: &TestApp, auditor: &str, after: u64, event_type: &str) -> u64 {
    let mut log = app
        .audit(auditor)
        .follow_log(pb::ReadLogRequest {
            after_position: after,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let wait = async {
        while let Some(event) = log.next().await {
            let event = event.unwrap();
            if event.event_type == event_type {
                return event.position;
            }
        }
        panic!("the log ended");
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("no {event_type} after {after}"))
}

pub(super) async fn get(app: &TestApp, token: &str, position: u64) -> pb::Project {
    app.projects(token)
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: position,
        })
        .await
        .unwrap()
        .into_inner()
}

pub(super) async fn inbox(app: &TestApp, token: &str, position: u64) -> Vec<pb::InboxItem> {
    app.mentoring(token)
        .get_inbox(pb::GetInboxRequest {
            min_position: position,
        })
        .await
        .unwrap()
        .into_inner()
        .items
}

/// Up to the workplace phase.
async fn piloted(app: &TestApp, p: &People) {
    proposed(app, p).await;
    let mentor = || app.mentoring(&p.mentor);
    mentor().agree_change_area(action("agree")).await.unwrap();
    mentor()
        .approve_action_plan(action("approve-plan"))
        .await
        .unwrap();
    app.seminars(&p.examiner)
        .record_proposal_seminar(pb::ProposalSeminarRequest {
            expected_version: None,
            request_id: "seminar".into(),
            project_id: project_id(),
            accepted: true,
            notes: String::new(),
        })
        .await
        .unwrap();
    app.cohorts(&p.organizer)
        .start_workplace_phase(action("start"))
        .await
        .unwrap();
}

/// Up to adoption.
pub(super) async fn adopted(app: &TestApp, p: &People) -> pb::WriteResult {
    graded(app, p).await;
    app.mentoring(&p.mentor)
        .endorse_adoption(action("endorse"))
        .await
        .unwrap()
        .into_inner()
}

/// Up to the grade.
async fn graded(app: &TestApp, p: &People) {
    piloted(app, p).await;
    for m in ["m1", "m2", "m3"] {
        app.projects(&p.participant)
            .submit_evidence(pb::SubmitEvidenceRequest {
                expected_version: None,
                request_id: format!("ev-{m}"),
                project_id: project_id(),
                milestone_id: m.into(),
                attachments: vec![file("notulen.pdf")],
                note: String::new(),
            })
            .await
            .unwrap();
        app.mentoring(&p.mentor)
            .approve_milestone(pb::MilestoneDecision {
                expected_version: None,
                request_id: format!("ok-{m}"),
                project_id: project_id(),
                milestone_id: m.into(),
                reason: String::new(),
            })
            .await
            .unwrap();
    }
    app.projects(&p.participant)
        .submit_final_report(pb::SubmitFinalReportRequest {
            expected_version: None,
            request_id: "report".into(),
            project_id: project_id(),
            summary: "Selesai".into(),
            attachments: vec![file("laporan.pdf")],
        })
        .await
        .unwrap();
    app.seminars(&p.examiner)
        .record_final_seminar(final_seminar("final", 91))
        .await
        .unwrap();
    app.seminars(&p.organizer)
        .set_grade(grade("grade", "sangat memuaskan"))
        .await
        .unwrap();
}

pub(super) fn ratings() -> Vec<pb::TargetRating> {
    ["m1", "m2", "m3"]
        .map(|m| pb::TargetRating {
            milestone_id: m.into(),
            rating: pb::Rating::Meets as i32,
        })
        .to_vec()
}

pub(super) fn final_seminar(request_id: &str, score: u32) -> pb::FinalSeminarRequest {
    pb::FinalSeminarRequest {
        expected_version: None,
        request_id: request_id.into(),
        project_id: project_id(),
        ratings: ratings(),
        score,
        notes: String::new(),
    }
}

pub(super) fn grade(request_id: &str, grade: &str) -> pb::SetGradeRequest {
    pb::SetGradeRequest {
        expected_version: None,
        request_id: request_id.into(),
        project_id: project_id(),
        grade: grade.into(),
    }
}

async fn a_reassignment_moves_the_project_and_its_inbox_to_the_new_mentor(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let proposed = proposed(&app, &p).await;
    let new_mentor = app.token(Role::Mentor, "mentor-2");
    // The proposal waits for the mentor the participant was enrolled with.
    assert_eq!(inbox(&app, &p.mentor, proposed.position).await.len(), 1);
    assert!(inbox(&app, &new_mentor, proposed.position).await.is_empty());
    let reassigned = app
        .cohorts(&p.organizer)
        .reassign_staff(pb::EnrolParticipantRequest {
            request_id: "reassign".into(),
            mentor: "mentor-2".into(),
            ..enrol()
        })
        .await
        .unwrap()
        .into_inner();
    // The project follows at once: the old mentor is refused, the new one
    // decides, and the open item is in the new mentor's inbox.
    let refused = app
        .mentoring(&p.mentor)
        .agree_change_area(action("old-agrees"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused.code(), Code::PermissionDenied | Code::NotFound),
        "{refused:?}"
    );
    let moved = inbox(&app, &new_mentor, reassigned.position).await;
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].kind, pb::InboxKind::Proposal as i32);
    assert!(inbox(&app, &p.mentor, reassigned.position).await.is_empty());
    let agreed = app
        .mentoring(&new_mentor)
        .agree_change_area(action("new-agrees"))
        .await
        .unwrap()
        .into_inner();
    let project = get(&app, &new_mentor, agreed.position).await;
    assert_eq!(project.mentor, "mentor-2");
    // The same request again changes nothing.
    let again = app
        .cohorts(&p.organizer)
        .reassign_staff(pb::EnrolParticipantRequest {
            request_id: "reassign".into(),
            mentor: "mentor-2".into(),
            ..enrol()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(again.duplicate);
    // Named by NIP alone, the participant stays as enrolled; a NIP not
    // enrolled there, or another organizer, is told it is not found.
    let by_nip = |nip: &str, mentor: &str| pb::EnrolParticipantRequest {
        request_id: format!("by-nip-{mentor}"),
        mentor: mentor.into(),
        participant: Some(pb::ParticipantInfo {
            nip: nip.into(),
            ..Default::default()
        }),
        ..enrol()
    };
    let moved = app
        .cohorts(&p.organizer)
        .reassign_staff(by_nip(super::NIP, "mentor-3"))
        .await
        .unwrap()
        .into_inner();
    let project = get(&app, &app.token(Role::Mentor, "mentor-3"), moved.position).await;
    assert_eq!(project.mentor, "mentor-3");
    assert_eq!(
        project.participant_name, "Siti Rahmawati",
        "still as enrolled"
    );
    let unknown = app
        .cohorts(&p.organizer)
        .reassign_staff(by_nip("198001012005011001", "mentor-4"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound, "{unknown:?}");
    let stranger = app
        .cohorts(&app.token(Role::Organizer, "organizer-9"))
        .reassign_staff(by_nip(super::NIP, "mentor-4"))
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), tonic::Code::NotFound, "{stranger:?}");
    // History shows who decided what: the project's stream holds the
    // reassignment and the new mentor's agreement by name.
    let history = app
        .audit(&p.auditor)
        .read_stream(pb::ReadStreamRequest {
            stream_id: proposed.stream_id.clone(),
            from_version: 0,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let kinds: Vec<&str> = history
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    let assigned = kinds.iter().position(|k| *k == "StaffAssigned").unwrap();
    let agreed_at = kinds.iter().position(|k| *k == "ChangeAreaAgreed").unwrap();
    assert!(assigned < agreed_at, "{kinds:?}");
    assert!(history.events[agreed_at].payload_json.contains("mentor-2"));
    app.stop().await;
}

async fn results_and_grades_are_recorded_once_and_corrected_with_a_reason(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    graded(&app, &p).await;
    // The grade on the wire is the predikat as written.
    let project = get(&app, &p.participant, 0).await;
    assert_eq!(project.grade, "sangat memuaskan");
    let second = app
        .seminars(&p.examiner)
        .record_final_seminar(final_seminar("final-again", 70))
        .await
        .unwrap_err();
    assert_eq!(second.code(), Code::FailedPrecondition, "{second:?}");
    assert!(second.message().contains("recorded already"), "{second:?}");
    let second = app
        .seminars(&p.organizer)
        .set_grade(grade("grade-again", "memuaskan"))
        .await
        .unwrap_err();
    assert_eq!(second.code(), Code::FailedPrecondition, "{second:?}");
    let correct = |id: &str, reason: &str| pb::CorrectGradeRequest {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        // The old spelling is still read.
        grade: "cukup_memuaskan".into(),
        reason: reason.into(),
    };
    let reasonless = app
        .seminars(&p.organizer)
        .correct_grade(correct("no-reason", ""))
        .await
        .unwrap_err();
    assert_eq!(reasonless.code(), Code::InvalidArgument, "{reasonless:?}");
    let corrected = app
        .seminars(&p.organizer)
        .correct_grade(correct("fix", "Rekap nilai keliru"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(corrected.events, ["GradeCorrected"]);
    let fixed = app
        .seminars(&p.examiner)
        .correct_final_seminar(pb::CorrectFinalSeminarRequest {
            expected_version: None,
            request_id: "fix-final".into(),
            project_id: project_id(),
            ratings: ratings(),
            score: 88,
            notes: String::new(),
            reason: "Nilai tertukar dengan peserta lain".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let project = get(&app, &p.participant, fixed.position).await;
    assert_eq!(
        (project.grade.as_str(), project.final_score),
        ("cukup memuaskan", Some(88))
    );
    let progress = app
        .cohorts(&p.organizer)
        .get_cohort_progress(pb::GetCohortProgressRequest {
            cohort_id: COHORT.into(),
            min_position: fixed.position,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(progress.grades[0].grade, "cukup memuaskan");
    // Both results stay in the history.
    let history = app
        .audit(&p.auditor)
        .read_stream(pb::ReadStreamRequest {
            stream_id: fixed.stream_id.clone(),
            from_version: 0,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let kinds: Vec<&str> = history
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    for kind in [
        "FinalSeminarHeld",
        "FinalSeminarCorrected",
        "Graded",
        "GradeCorrected",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    // The proposal seminar is corrected only while it is the proposal's turn.
    let late = app
        .seminars(&p.examiner)
        .correct_proposal_seminar(pb::CorrectProposalSeminarRequest {
            expected_version: None,
            request_id: "fix-proposal".into(),
            project_id: project_id(),
            accepted: true,
            notes: String::new(),
            reason: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");
    // After adoption, the grade is no longer corrected.
    app.mentoring(&p.mentor)
        .endorse_adoption(action("endorse"))
        .await
        .unwrap();
    let late = app
        .seminars(&p.organizer)
        .correct_grade(correct("late", "Salah rekap"))
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");
    app.stop().await;
}

async fn the_plan_changes_after_acceptance_through_the_mentor(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    piloted(&app, &p).await;
    let mut milestones = proposal().milestones;
    milestones[2].due = "2026-06-25".into();
    let request = |id: &str| pb::PlanChangeRequest {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        milestones: milestones.clone(),
        reason: "Rapat pleno diundur".into(),
    };
    let requested = app
        .projects(&p.participant)
        .request_plan_change(request("change"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(requested.events, ["PlanChangeRequested"]);
    // It waits in the mentor's inbox, with what it asks and why.
    let waiting = inbox(&app, &p.mentor, requested.position).await;
    let item = waiting
        .iter()
        .find(|i| i.kind == pb::InboxKind::PlanChange as i32)
        .unwrap_or_else(|| panic!("{waiting:?}"));
    assert_eq!(item.reason, "Rapat pleno diundur");
    assert_eq!(item.requested_plan, milestones);
    let refused = app
        .mentoring(&p.mentor)
        .return_plan_change(reason("return", ""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let approved = app
        .mentoring(&p.mentor)
        .approve_plan_change(action("approve-change"))
        .await
        .unwrap()
        .into_inner();
    let project = get(&app, &p.participant, approved.position).await;
    let m3 = project.milestones.iter().find(|m| m.id == "m3").unwrap();
    assert_eq!(m3.due, "2026-06-25");
    assert!(
        inbox(&app, &p.mentor, approved.position)
            .await
            .iter()
            .all(|i| i.kind != pb::InboxKind::PlanChange as i32)
    );
    // Nothing waits any more.
    let none = app
        .mentoring(&p.mentor)
        .approve_plan_change(action("approve-again"))
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::FailedPrecondition);
    app.stop().await;
}

async fn an_officer_amends_an_innovations_profile(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    app.innovations(&p.officer)
        .register_innovation(pb::RegisterInnovationRequest {
            opd: "dpmptsp".into(),
            ..super::refusals::register("inv-dp")
        })
        .await
        .unwrap();
    let amend = |name: &str| pb::AmendProfileRequest {
        request_id: format!("amend-{name}"),
        innovation_id: "inv-dp".into(),
        name: name.into(),
        unit: String::new(),
        form: pb::Form::PublicService as i32,
        digital: true,
        sector: "penanaman modal".into(),
        sdgs: vec![9],
        goal: "Izin terbit sehari".into(),
        benefit: "Investor tidak menunggu".into(),
        budget: 5_000_000,
        legal_basis: "Perwal 7/2026".into(),
        expected_version: None,
    };
    let amended = app
        .innovations(&p.officer)
        .amend_profile(amend("Perizinan kilat"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amended.events, ["ProfileAmended"]);
    let entry = app
        .innovations(&p.officer)
        .get_innovation(pb::GetInnovationRequest {
            innovation_id: "inv-dp".into(),
            min_position: amended.position,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (entry.name.as_str(), entry.sector.as_str(), entry.digital),
        ("Perizinan kilat", "penanaman modal", true)
    );
    // Another OPD's officer is told the innovation does not exist.
    let other = app.officer_token("officer-2", "dinsos");
    let refused = app
        .innovations(&other)
        .amend_profile(amend("Bukan milik saya"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    app.stop().await;
}

async fn a_projects_replication_meets_its_innovation_once(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let endorsed = adopted(&app, &p).await;
    event_after(&app, &p.auditor, endorsed.position, "ProjectStageCarried").await;
    let replicate = |id: &str, opd: &str, region: &str| pb::ProjectReplicationRequest {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        adopter_opd: opd.into(),
        adopter_region: region.into(),
        agreement: Some(pb::Agreement {
            kind: "PKS".into(),
            number: "9/PKS/2026".into(),
            signed_on: "2026-09-01".into(),
            document: None,
        }),
    };
    // The project's own OPD in its own region does not replicate it.
    let own = app
        .mentoring(&p.mentor)
        .record_replication(replicate("own", "dpmptsp", "Kota Cilegon"))
        .await
        .unwrap_err();
    assert_eq!(own.code(), Code::InvalidArgument, "{own:?}");
    let replicated = app
        .mentoring(&p.mentor)
        .record_replication(replicate("serang", "dpmptsp", "Kota Serang"))
        .await
        .unwrap()
        .into_inner();
    // Its innovation records the replication, which registers the
    // adopter's own innovation, linked to it.
    let registered = event_after(
        &app,
        &p.auditor,
        replicated.position,
        "InnovationRegistered",
    )
    .await;
    let project = get(&app, &p.participant, registered).await;
    assert_eq!(project.state, "replicated");
    let original = app
        .innovations(&p.brida)
        .get_innovation(pb::GetInnovationRequest {
            innovation_id: project.innovation_id.clone(),
            min_position: registered,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (original.stage.as_str(), original.replication_count),
        ("replicated", 1)
    );
    let replica = app
        .innovations(&p.brida)
        .get_innovation(pb::GetInnovationRequest {
            innovation_id: original.replicas[0].clone(),
            min_position: registered,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replica.replica_of, project.innovation_id);
    // A second adopter, recorded on the innovation's side, marks the
    // project too; each adopter is counted once.
    let second = app
        .innovations(&p.brida)
        .record_replication(pb::InnovationReplicationRequest {
            expected_version: None,
            request_id: "pandeglang".into(),
            innovation_id: project.innovation_id.clone(),
            adopter_opd: "dinsos".into(),
            adopter_region: "Kabupaten Pandeglang".into(),
            agreement: Some(pb::Agreement {
                kind: "MoU".into(),
                number: "2/MoU/2026".into(),
                signed_on: "2026-10-01".into(),
                document: None,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let registered = event_after(&app, &p.auditor, second.position, "InnovationRegistered").await;
    let project = get(&app, &p.participant, registered).await;
    let history = app
        .audit(&p.auditor)
        .read_stream(pb::ReadStreamRequest {
            stream_id: replicated.stream_id.clone(),
            from_version: 0,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let replications = history
        .events
        .iter()
        .filter(|e| e.event_type == "ReplicationRecorded")
        .count();
    assert_eq!((project.state.as_str(), replications), ("replicated", 2));
    let original = app
        .innovations(&p.brida)
        .get_innovation(pb::GetInnovationRequest {
            innovation_id: project.innovation_id.clone(),
            min_position: registered,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(original.replication_count, 2);
    // The register counts distinct adopters as the index does.
    let stats = app
        .innovations(&p.brida)
        .get_statistics(pb::GetStatisticsRequest {
            min_position: registered,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stats.by_adopters.get("2"),
        Some(&1),
        "{:?}",
        stats.by_adopters
    );
    assert_eq!(stats.by_adopters.get("1"), None);
    app.stop().await;
}

async fn an_amended_enrolment_reaches_the_project_sealed(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let proposed = proposed(&app, &p).await;
    let amend = |request_id: &str| pb::AmendEnrolmentRequest {
        request_id: request_id.into(),
        cohort_id: COHORT.into(),
        nip: super::NIP.into(),
        name: Some("Siti Rahmawati Putri".into()),
        opd: Some("dinkes".into()),
        ..Default::default()
    };
    let amended = app
        .cohorts(&p.organizer)
        .amend_enrolment(amend("amend"))
        .await
        .unwrap()
        .into_inner();
    assert!(!amended.events.is_empty());
    // The project's row and page read the amended values; the position
    // stays as enrolled, since it was not given.
    let project = get(&app, &p.organizer, amended.position).await;
    assert_eq!(project.participant_name, "Siti Rahmawati Putri");
    assert_eq!(project.opd, "dinkes");
    let project = get(&app, &p.participant, amended.position).await;
    assert_eq!(project.participant_name, "Siti Rahmawati Putri");
    let page = app
        .projects(&p.mentor)
        .get_project_detail(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: amended.position,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        page.project.as_ref().unwrap().participant_name,
        "Siti Rahmawati Putri"
    );
    let note = page
        .notes
        .iter()
        .find(|n| n.kind == "participant_amended")
        .expect("the amendment is on the page");
    assert_eq!(note.text, "name, opd");
    // The same request again, and the same values under another, write
    // nothing.
    let again = app
        .cohorts(&p.organizer)
        .amend_enrolment(amend("amend"))
        .await
        .unwrap()
        .into_inner();
    assert!(again.duplicate);
    let same = app
        .cohorts(&p.organizer)
        .amend_enrolment(amend("amend-again"))
        .await
        .unwrap()
        .into_inner();
    assert!(same.events.is_empty());
    // The new name is sealed in both streams, like the enrolment's.
    for stream_id in [proposed.stream_id.clone(), format!("cohort-{COHORT}")] {
        let history = app
            .audit(&p.auditor)
            .read_stream(pb::ReadStreamRequest {
                stream_id: stream_id.clone(),
                from_version: 0,
                limit: 0,
            })
            .await
            .unwrap()
            .into_inner();
        let amended = history
            .events
            .iter()
            .find(|e| {
                matches!(
                    e.event_type.as_str(),
                    "EnrolmentAmended" | "ParticipantAmended"
                )
            })
            .unwrap_or_else(|| panic!("{stream_id} holds the amendment"));
        assert!(
            !amended.payload_json.contains("Putri"),
            "{}",
            amended.payload_json
        );
        assert!(
            amended.payload_json.contains("sealed"),
            "{}",
            amended.payload_json
        );
    }
    // Who may: the cohort's organizer; a mentor is refused, another
    // organizer and a NIP not enrolled are told it is not found; nothing to
    // amend, or a bad value, is invalid.
    let refused = app
        .cohorts(&p.mentor)
        .amend_enrolment(amend("mentor"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let stranger = app
        .cohorts(&app.token(Role::Organizer, "organizer-9"))
        .amend_enrolment(amend("stranger"))
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound, "{stranger:?}");
    let unknown = app
        .cohorts(&p.organizer)
        .amend_enrolment(pb::AmendEnrolmentRequest {
            nip: "198001012005011001".into(),
            ..amend("unknown")
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    let nothing = app
        .cohorts(&p.organizer)
        .amend_enrolment(pb::AmendEnrolmentRequest {
            name: None,
            opd: None,
            ..amend("nothing")
        })
        .await
        .unwrap_err();
    assert_eq!(nothing.code(), Code::InvalidArgument, "{nothing:?}");
    let empty = app
        .cohorts(&p.organizer)
        .amend_enrolment(pb::AmendEnrolmentRequest {
            name: Some("  ".into()),
            ..amend("empty")
        })
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument, "{empty:?}");
    assert!(empty.message().contains("name"), "{empty:?}");
    app.stop().await;
}
