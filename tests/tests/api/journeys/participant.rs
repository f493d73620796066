//! The participant: her proposal, her mentor's and coach's notes, both
//! seminars and her grade on her page; her evidence uploaded; her plan
//! changed after acceptance.

use jejak_proto::v1 as pb;
use jejak_tests::{TestDb, on_both_backends};
use sha2::{Digest as _, Sha256};

use super::*;

on_both_backends!(a_participant_follows_her_project_and_changes_her_plan);

async fn a_participant_follows_her_project_and_changes_her_plan(db: &TestDb) {
    let (app, _files) = app_with_folder(db).await;
    let p = People::of(&app);
    let proposed = proposed(&app, &p).await;
    // Her proposal, as she wrote it.
    let d = page(&app, &p.participant, proposed.position).await.unwrap();
    let mine = d.proposal.clone().unwrap();
    assert_eq!(
        (mine.title.as_str(), mine.problem.as_str()),
        (
            "Antrian daring perizinan berusaha",
            "Antrian panjang di loket"
        )
    );
    assert_eq!(mine.team[0].name, "Budi");
    assert_eq!(
        d.milestones[0].plan.clone().unwrap().expected_output,
        "SK tim efektif, notulen, daftar hadir"
    );

    // Her mentor returns the plan once, then approves it with a note; her
    // coach comments; the examiners accept it.
    let mentor = || app.mentoring(&p.mentor);
    mentor().agree_change_area(action("agree")).await.unwrap();
    mentor()
        .return_action_plan(reason("return-plan", "Perjelas kondisi awal"))
        .await
        .unwrap();
    mentor()
        .approve_action_plan(noted("approve-plan", "Lanjutkan"))
        .await
        .unwrap();
    app.projects(&p.coach)
        .comment(noted("coach-says", "Indikator m2 perlu angka"))
        .await
        .unwrap();
    app.seminars(&p.examiner)
        .record_proposal_seminar(pb::ProposalSeminarRequest {
            expected_version: None,
            request_id: "seminar".into(),
            project_id: project_id(),
            accepted: true,
            notes: "Layak dilanjutkan".into(),
        })
        .await
        .unwrap();
    let started = app
        .cohorts(&p.organizer)
        .start_workplace_phase(action("start"))
        .await
        .unwrap()
        .into_inner();
    let d = page(&app, &p.participant, started.position).await.unwrap();
    let all = notes(&d);
    for expected in [
        said("action_plan_returned", "mentor-1", "Perjelas kondisi awal"),
        said("action_plan_approved", "mentor-1", "Lanjutkan"),
        said("comment", "coach-1", "Indikator m2 perlu angka"),
    ] {
        assert!(all.contains(&expected), "{expected:?} in {all:#?}");
    }
    assert_eq!(d.proposal_seminars[0].notes, "Layak dilanjutkan");
    assert!(!d.workplace_started_on.is_empty());

    // She uploads her notulen and submits it; the mentor returns it with a
    // reason, which she reads; she submits again and it is approved.
    let notulen = pdf(b"Notulen rapat tim efektif, 7 orang hadir");
    let stored = upload(
        &app,
        &p.participant,
        "notulen.pdf",
        "application/pdf",
        &notulen,
    )
    .await
    .unwrap()
    .attachment
    .unwrap();
    assert_eq!(stored.sha256, hex::encode(Sha256::digest(&notulen)));
    app.projects(&p.participant)
        .submit_evidence(submit("ev-m1", "m1", vec![stored.clone()]))
        .await
        .unwrap();
    mentor()
        .return_milestone(decision("return-m1", "m1", "Daftar hadir belum ada"))
        .await
        .unwrap();
    let returned = page(&app, &p.participant, 0).await.unwrap();
    assert!(
        notes(&returned).contains(&said(
            "milestone_returned",
            "mentor-1",
            "Daftar hadir belum ada"
        )),
        "{:#?}",
        returned.notes
    );
    app.projects(&p.participant)
        .submit_evidence(submit("ev-m1-again", "m1", vec![stored.clone()]))
        .await
        .unwrap();
    mentor()
        .approve_milestone(decision("ok-m1", "m1", "Bagus"))
        .await
        .unwrap();
    // Her own file comes back to her as she sent it.
    let (_, bytes) = download(&app, &p.participant, &stored.uri).await.unwrap();
    assert_eq!(bytes, notulen);

    // After acceptance, she asks to move m3; her mentor approves; her plan
    // shows the new date.
    app.projects(&p.participant)
        .request_plan_change(plan_change("change", "2026-06-25"))
        .await
        .unwrap();
    let approved = mentor()
        .approve_plan_change(action("approve-change"))
        .await
        .unwrap()
        .into_inner();
    let d = page(&app, &p.participant, approved.position).await.unwrap();
    let m3 = d
        .milestones
        .iter()
        .find(|m| m.plan.clone().unwrap().id == "m3")
        .unwrap();
    assert_eq!(m3.plan.clone().unwrap().due, "2026-06-25");
    assert_eq!(
        d.milestones[0].submissions.len(),
        2,
        "both submissions of m1 stay on her page"
    );

    // The rest of her targets, the report, the final seminar and her grade.
    for m in ["m2", "m3"] {
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
            summary: "Antrian daring berjalan".into(),
            attachments: vec![file("laporan.pdf")],
        })
        .await
        .unwrap();
    app.seminars(&p.examiner)
        .record_final_seminar(pb::FinalSeminarRequest {
            notes: "Target tercapai".into(),
            ..final_seminar("final", 91)
        })
        .await
        .unwrap();
    let graded = app
        .seminars(&p.organizer)
        .set_grade(grade("grade", "sangat memuaskan"))
        .await
        .unwrap()
        .into_inner();
    let d = page(&app, &p.participant, graded.position).await.unwrap();
    let [final_seminar] = &d.final_seminars[..] else {
        panic!("one final seminar: {d:?}");
    };
    assert_eq!(
        (final_seminar.score, final_seminar.notes.as_str()),
        (Some(91), "Target tercapai")
    );
    assert_eq!(final_seminar.ratings.len(), 3);
    assert_eq!(d.grade, "sangat memuaskan");
    assert_eq!(d.graded.clone().unwrap().by, "organizer-1");
    assert_eq!(
        d.final_report.clone().unwrap().summary,
        "Antrian daring berjalan"
    );
    let board = get(&app, &p.participant, graded.position).await;
    assert_eq!(board.grade, "sangat memuaskan");
    app.stop().await;
}
