//! The organizer: enrolment against the region's units, the cohort-wide
//! start, reassignment, a grade recorded once and corrected.

use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(an_organizer_runs_a_cohort);

async fn an_organizer_runs_a_cohort(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    add_opds(
        &app,
        &p.admin,
        &[("dpmptsp", "DPMPTSP"), ("dinkes", "Dinas Kesehatan")],
    )
    .await;
    app.cohorts(&p.organizer)
        .open_cohort(open_cohort())
        .await
        .unwrap();
    // An OPD the region does not have is refused, the nearest named.
    let mut typo = enrol();
    typo.participant.as_mut().unwrap().opd = "dinkess".into();
    let refused = app
        .cohorts(&p.organizer)
        .enrol_participant(typo)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains("did you mean dinkes"),
        "{refused:?}"
    );
    // Two participants, found by NIP afterwards.
    app.cohorts(&p.organizer)
        .enrol_participant(enrol())
        .await
        .unwrap();
    let second_nip = "199001012015032001";
    let mut second = enrol();
    second.participant = Some(pb::ParticipantInfo {
        nip: second_nip.into(),
        name: "Dewi Lestari".into(),
        position: "Kepala Seksi".into(),
        opd: "dinkes".into(),
    });
    app.cohorts(&p.organizer)
        .enrol_participant(second)
        .await
        .unwrap();
    let found = find(&app, &p.organizer, second_nip).await.unwrap();
    assert!(!found.person_id.is_empty(), "{found:?}");
    // Both propose; mentor and examiner accept both.
    let second_token = app.token(Role::Participant, second_nip);
    app.projects(&p.participant)
        .propose(propose())
        .await
        .unwrap();
    app.projects(&second_token)
        .propose(propose())
        .await
        .unwrap();
    let second_code = format!("{COHORT}/002");
    for code in [project_id(), second_code.clone()] {
        let on = |id: &str| pb::ProjectAction {
            project_id: code.clone(),
            ..action(&format!("{id}-{code}"))
        };
        app.mentoring(&p.mentor)
            .agree_change_area(on("agree"))
            .await
            .unwrap();
        app.mentoring(&p.mentor)
            .approve_action_plan(on("approve-plan"))
            .await
            .unwrap();
        app.seminars(&p.examiner)
            .record_proposal_seminar(pb::ProposalSeminarRequest {
                expected_version: None,
                request_id: format!("seminar-{code}"),
                project_id: code.clone(),
                accepted: true,
                notes: String::new(),
            })
            .await
            .unwrap();
    }
    // The whole cohort starts its workplace phase at once.
    let started = app
        .cohorts(&p.organizer)
        .start_workplace_phase_all(pb::StartWorkplacePhaseAllRequest {
            request_id: "start-all".into(),
            cohort_id: COHORT.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.started, 2, "{started:?}");
    let last = started
        .projects
        .iter()
        .filter_map(|s| s.written.as_ref().map(|w| w.position))
        .max()
        .unwrap();
    for code in [project_id(), second_code.clone()] {
        let project = app
            .projects(&p.organizer)
            .get_project(pb::GetProjectRequest {
                project_id: code.clone(),
                min_position: last,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(project.state, "piloted", "{code}");
    }
    // Staff reassigned: the project's page names the new mentor.
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
    assert_eq!(
        get(&app, &p.organizer, reassigned.position).await.mentor,
        "mentor-2"
    );
    let new_mentor = app.token(Role::Mentor, "mentor-2");
    // Up to the final seminar, with the new mentor.
    for m in ["m1", "m2", "m3"] {
        app.projects(&p.participant)
            .submit_evidence(submit(&format!("ev-{m}"), m, vec![file("bukti.pdf")]))
            .await
            .unwrap();
        app.mentoring(&new_mentor)
            .approve_milestone(decision(&format!("ok-{m}"), m, ""))
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
    // A grade is set once; a mistake is corrected with a reason.
    app.seminars(&p.organizer)
        .set_grade(grade("grade", "memuaskan"))
        .await
        .unwrap();
    let twice = app
        .seminars(&p.organizer)
        .set_grade(grade("grade-again", "sangat memuaskan"))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition, "{twice:?}");
    let corrected = app
        .seminars(&p.organizer)
        .correct_grade(pb::CorrectGradeRequest {
            expected_version: None,
            request_id: "fix-grade".into(),
            project_id: project_id(),
            grade: "sangat memuaskan".into(),
            reason: "Rekap nilai keliru".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let progress = app
        .cohorts(&p.organizer)
        .get_cohort_progress(pb::GetCohortProgressRequest {
            cohort_id: COHORT.into(),
            min_position: corrected.position,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(progress.grades[0].grade, "sangat memuaskan");
    let events = history(&app, &p.auditor, &corrected.stream_id).await;
    let k = kinds(&events);
    assert!(
        k.contains(&"Graded") && k.contains(&"GradeCorrected"),
        "{k:?}"
    );
    app.stop().await;
}
