//! The examiner: each seminar recorded once, a mistake corrected with a
//! reason, both kept in the history.

use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(an_examiner_records_each_seminar_once_and_corrects_it);

async fn an_examiner_records_each_seminar_once_and_corrects_it(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    proposed(&app, &p).await;
    let mentor = || app.mentoring(&p.mentor);
    mentor().agree_change_area(action("agree")).await.unwrap();
    mentor()
        .approve_action_plan(action("approve-plan"))
        .await
        .unwrap();
    let seminar = |id: &str, accepted: bool, notes: &str| pb::ProposalSeminarRequest {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        accepted,
        notes: notes.into(),
    };
    app.seminars(&p.examiner)
        .record_proposal_seminar(seminar("seminar", false, "Indikator belum terukur"))
        .await
        .unwrap();
    // Recorded once: a mistaken result is corrected with a reason.
    let again = app
        .seminars(&p.examiner)
        .record_proposal_seminar(seminar("seminar-again", true, ""))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
    let corrected = app
        .seminars(&p.examiner)
        .correct_proposal_seminar(pb::CorrectProposalSeminarRequest {
            expected_version: None,
            request_id: "fix-proposal".into(),
            project_id: project_id(),
            accepted: true,
            notes: "Layak dilanjutkan".into(),
            reason: "Hasil tertukar dengan peserta lain".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let d = page(&app, &p.examiner, corrected.position).await.unwrap();
    let last = d.proposal_seminars.last().unwrap();
    assert!(last.accepted, "{:?}", d.proposal_seminars);
    assert_eq!(last.notes, "Layak dilanjutkan");
    // The correction lets the workplace phase start.
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
    // The examiner reads the report before the final seminar.
    let d = page(&app, &p.examiner, 0).await.unwrap();
    assert_eq!(d.final_report.clone().unwrap().summary, "Selesai");
    app.seminars(&p.examiner)
        .record_final_seminar(final_seminar("final", 91))
        .await
        .unwrap();
    let again = app
        .seminars(&p.examiner)
        .record_final_seminar(final_seminar("final-again", 70))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
    let fixed = app
        .seminars(&p.examiner)
        .correct_final_seminar(pb::CorrectFinalSeminarRequest {
            expected_version: None,
            request_id: "fix-final".into(),
            project_id: project_id(),
            ratings: ratings(),
            score: 88,
            notes: "Nilai dikoreksi".into(),
            reason: "Salah ketik nilai".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let board = get(&app, &p.examiner, fixed.position).await;
    assert_eq!(board.final_score, Some(88));
    // Both results stay in the history, the correction with its reason.
    let events = history(&app, &p.auditor, &fixed.stream_id).await;
    let k = kinds(&events);
    for kind in [
        "ProposalSeminarHeld",
        "ProposalSeminarCorrected",
        "FinalSeminarHeld",
        "FinalSeminarCorrected",
    ] {
        assert!(k.contains(&kind), "{kind} in {k:?}");
    }
    let correction = events
        .iter()
        .find(|e| e.event_type == "FinalSeminarCorrected")
        .unwrap();
    assert!(correction.payload_json.contains("Salah ketik nilai"));
    // Another examiner is no examiner of this project.
    let stranger = app.token(Role::Examiner, "examiner-9");
    let refused = app
        .seminars(&stranger)
        .correct_final_seminar(pb::CorrectFinalSeminarRequest {
            expected_version: None,
            request_id: "stranger".into(),
            project_id: project_id(),
            ratings: ratings(),
            score: 10,
            notes: String::new(),
            reason: "x".into(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(refused.code(), Code::PermissionDenied | Code::NotFound),
        "{refused:?}"
    );
    app.stop().await;
}
