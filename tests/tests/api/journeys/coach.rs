//! The coach (widyaiswara): comments, the page, reassignment, and on PKN
//! the sign-off before each seminar.

use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(
    a_coach_comments_until_another_coach_takes_over,
    a_pkn_coach_signs_off_before_each_seminar,
);

async fn a_coach_comments_until_another_coach_takes_over(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    proposed(&app, &p).await;
    let commented = app
        .projects(&p.coach)
        .comment(noted("coach-says", "Data dasar perlu sumber"))
        .await
        .unwrap()
        .into_inner();
    // The coach reads the whole page: proposal and every note.
    let d = page(&app, &p.coach, commented.position).await.unwrap();
    assert_eq!(
        d.proposal.clone().unwrap().baseline,
        "Rata-rata 3 jam menunggu"
    );
    assert!(notes(&d).contains(&said("comment", "coach-1", "Data dasar perlu sumber")));
    // A comment says something.
    let empty = app
        .projects(&p.coach)
        .comment(noted("coach-nothing", ""))
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument, "{empty:?}");
    // Reassigned: coach-1 is refused from then on, coach-2 comments.
    app.cohorts(&p.organizer)
        .reassign_staff(pb::EnrolParticipantRequest {
            request_id: "reassign-coach".into(),
            coach: "coach-2".into(),
            ..enrol()
        })
        .await
        .unwrap();
    let refused = app
        .projects(&p.coach)
        .comment(noted("coach-again", "Masih saya"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused.code(), Code::PermissionDenied | Code::NotFound),
        "{refused:?}"
    );
    let coach2 = app.token(Role::Coach, "coach-2");
    let written = app
        .projects(&coach2)
        .comment(noted("coach2-says", "Saya lanjutkan pendampingan"))
        .await
        .unwrap()
        .into_inner();
    let d = page(&app, &coach2, written.position).await.unwrap();
    let all = notes(&d);
    assert!(all.contains(&said("comment", "coach-1", "Data dasar perlu sumber")));
    assert!(all.contains(&said("comment", "coach-2", "Saya lanjutkan pendampingan")));
    assert_eq!(d.project.clone().unwrap().coach, "coach-2");
    app.stop().await;
}

async fn a_pkn_coach_signs_off_before_each_seminar(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    app.cohorts(&p.organizer)
        .open_cohort(pb::OpenCohortRequest {
            level: pb::TrainingLevel::PknIi as i32,
            ..open_cohort()
        })
        .await
        .unwrap();
    app.cohorts(&p.organizer)
        .enrol_participant(enrol())
        .await
        .unwrap();
    let proposed = app
        .projects(&p.participant)
        .propose(propose())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        get(&app, &p.coach, proposed.position).await.workflow,
        "change-project-pkn v1"
    );
    let mentor = || app.mentoring(&p.mentor);
    mentor().agree_change_area(action("agree")).await.unwrap();
    mentor()
        .approve_action_plan(action("approve-plan"))
        .await
        .unwrap();
    let ready = |id: &str, seminar: pb::SeminarKind| pb::MarkReadyRequest {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        seminar: seminar as i32,
    };
    let seminar = pb::ProposalSeminarRequest {
        expected_version: None,
        request_id: "seminar".into(),
        project_id: project_id(),
        accepted: true,
        notes: String::new(),
    };
    // No proposal seminar before the coach says the proposal is ready.
    let early = app
        .seminars(&p.examiner)
        .record_proposal_seminar(seminar.clone())
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");
    app.projects(&p.coach)
        .mark_ready_for_seminar(ready("proposal-ready", pb::SeminarKind::Proposal))
        .await
        .unwrap();
    app.seminars(&p.examiner)
        .record_proposal_seminar(seminar)
        .await
        .unwrap();
    app.cohorts(&p.organizer)
        .start_workplace_phase(action("start"))
        .await
        .unwrap();
    for m in ["m1", "m2", "m3"] {
        app.projects(&p.participant)
            .submit_evidence(submit(&format!("ev-{m}"), m, vec![file("bukti.pdf")]))
            .await
            .unwrap();
        mentor()
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
    // Nor a final seminar before the coach says the report is ready.
    let early = app
        .seminars(&p.examiner)
        .record_final_seminar(final_seminar("final", 91))
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");
    app.projects(&p.coach)
        .mark_ready_for_seminar(ready("report-ready", pb::SeminarKind::Final))
        .await
        .unwrap();
    let held = app
        .seminars(&p.examiner)
        .record_final_seminar(final_seminar("final", 91))
        .await
        .unwrap()
        .into_inner();
    // The page shows both sign-offs, by the coach.
    let d = page(&app, &p.participant, held.position).await.unwrap();
    let all = notes(&d);
    for kind in ["proposal_ready", "report_ready"] {
        assert!(
            all.iter().any(|(k, by, _)| k == kind && by == "coach-1"),
            "{kind} in {all:#?}"
        );
    }
    app.stop().await;
}
