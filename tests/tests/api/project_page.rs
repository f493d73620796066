//! What a participant sees: a project's whole page (GetProjectDetail) with
//! the proposal, each milestone's expected output and evidence, every
//! decision and comment with its text, both seminars and the grade, each
//! with who and when; for the people of the project only, the read
//! recorded. And the organizer starting the workplace phase of a whole
//! cohort at once, safely retried.

use jejak_proto::v1 as pb;
use jejak_tests::app::{TestApp, spawn_app};
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(
    a_project_page_shows_every_decision_with_its_note_and_who_and_when,
    only_the_projects_people_read_its_page_and_the_read_is_recorded,
    the_organizer_starts_every_ready_project_of_a_cohort_at_once
);

fn decision(id: &str, m: &str, reason: &str) -> pb::MilestoneDecision {
    pb::MilestoneDecision {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        milestone_id: m.into(),
        reason: reason.into(),
    }
}

fn evidence(id: &str, m: &str, note: &str) -> pb::SubmitEvidenceRequest {
    pb::SubmitEvidenceRequest {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        milestone_id: m.into(),
        attachments: vec![file(&format!("bukti-{m}.pdf"))],
        note: note.into(),
    }
}

fn noted(id: &str, note: &str) -> pb::ProjectAction {
    pb::ProjectAction {
        note: note.into(),
        ..action(id)
    }
}

async fn page(
    app: &TestApp,
    token: &str,
    position: u64,
) -> Result<pb::ProjectDetail, tonic::Status> {
    app.projects(token)
        .get_project_detail(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: position,
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Who, in which role, said what, of each note.
fn notes(d: &pb::ProjectDetail) -> Vec<(String, String, String, String, String)> {
    d.notes
        .iter()
        .map(|n| {
            let s = n.stamp.clone().unwrap_or_default();
            (
                n.kind.clone(),
                s.by,
                s.role,
                n.milestone_id.clone(),
                n.text.clone(),
            )
        })
        .collect()
}

async fn a_project_page_shows_every_decision_with_its_note_and_who_and_when(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    proposed(&app, &p).await;
    let mentor = || app.mentoring(&p.mentor);
    mentor().agree_change_area(action("agree")).await.unwrap();
    mentor()
        .return_action_plan(pb::ReasonRequest {
            expected_version: None,
            request_id: "return-plan".into(),
            project_id: project_id(),
            reason: "Perjelas kondisi awal".into(),
        })
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
    app.cohorts(&p.organizer)
        .start_workplace_phase(action("start"))
        .await
        .unwrap();
    // The participant submits; the mentor returns m1 once.
    let participant = || app.projects(&p.participant);
    participant()
        .submit_evidence(evidence("ev-m1", "m1", "SK tim"))
        .await
        .unwrap();
    mentor()
        .return_milestone(decision("return-m1", "m1", "Daftar hadir belum ada"))
        .await
        .unwrap();
    participant()
        .submit_evidence(evidence("ev-m1-again", "m1", "Dengan daftar hadir"))
        .await
        .unwrap();
    for m in ["m1", "m2", "m3"] {
        if m != "m1" {
            participant()
                .submit_evidence(evidence(&format!("ev-{m}"), m, ""))
                .await
                .unwrap();
        }
        mentor()
            .approve_milestone(decision(&format!("ok-{m}"), m, "Bagus"))
            .await
            .unwrap();
    }
    participant()
        .submit_final_report(pb::SubmitFinalReportRequest {
            expected_version: None,
            request_id: "report".into(),
            project_id: project_id(),
            summary: "Antrian daring berjalan".into(),
            attachments: vec![file("laporan.pdf")],
        })
        .await
        .unwrap();
    let rating = |m: &str, r: pb::Rating| pb::TargetRating {
        milestone_id: m.into(),
        rating: r as i32,
    };
    app.seminars(&p.examiner)
        .record_final_seminar(pb::FinalSeminarRequest {
            expected_version: None,
            request_id: "final".into(),
            project_id: project_id(),
            ratings: vec![
                rating("m1", pb::Rating::Exceeds),
                rating("m2", pb::Rating::Meets),
                rating("m3", pb::Rating::Below),
            ],
            score: 84,
            notes: "Target m3 belum penuh".into(),
        })
        .await
        .unwrap();
    let graded = app
        .seminars(&p.organizer)
        .set_grade(pb::SetGradeRequest {
            expected_version: None,
            request_id: "grade".into(),
            project_id: project_id(),
            grade: "sangat memuaskan".into(),
        })
        .await
        .unwrap()
        .into_inner();

    let d = page(&app, &p.participant, graded.position).await.unwrap();
    let project = d.project.clone().unwrap();
    assert_eq!(project.code, project_id());
    // The proposal, its team's and stakeholders' names opened.
    let proposal = d.proposal.clone().unwrap();
    assert_eq!(proposal.change_area, "Pelayanan perizinan");
    assert_eq!(proposal.baseline, "Rata-rata 3 jam menunggu");
    assert_eq!(
        (
            proposal.goal_short_term.as_str(),
            proposal.goal_medium_term.as_str()
        ),
        ("Antrian daring di satu loket", "Semua loket")
    );
    assert_eq!(proposal.team[0].name, "Budi");
    assert_eq!(proposal.stakeholders[0].name, "Kepala DPMPTSP");
    // Each milestone: expected output, every submission with who and when.
    let m1 = &d.milestones[0];
    let plan = m1.plan.clone().unwrap();
    assert_eq!(plan.id, "m1");
    assert_eq!(
        plan.expected_output,
        "SK tim efektif, notulen, daftar hadir"
    );
    assert_eq!(m1.status, pb::MilestoneStatus::Approved as i32);
    let submitted: Vec<(&str, &str)> = m1
        .submissions
        .iter()
        .map(|s| (s.note.as_str(), s.attachments[0].name.as_str()))
        .collect();
    assert_eq!(
        submitted,
        [
            ("SK tim", "bukti-m1.pdf"),
            ("Dengan daftar hadir", "bukti-m1.pdf")
        ]
    );
    let stamp = m1.submissions[0].stamp.clone().unwrap();
    assert_eq!(stamp.role, "participant");
    assert_eq!(stamp.by, project.participant);
    // When the log recorded each: the second after the first.
    let again = m1.submissions[1].stamp.clone().unwrap();
    assert!(stamp.at.unwrap().seconds > 0);
    assert!(
        (stamp.at.unwrap().seconds, stamp.at.unwrap().nanos)
            <= (again.at.unwrap().seconds, again.at.unwrap().nanos)
    );
    // Every decision and comment with its note, in order.
    let mentor_says = |kind: &str, m: &str, text: &str| {
        (
            kind.to_owned(),
            "mentor-1".to_owned(),
            "mentor".to_owned(),
            m.to_owned(),
            text.to_owned(),
        )
    };
    let all = notes(&d);
    for expected in [
        mentor_says("change_area_agreed", "", ""),
        mentor_says("action_plan_returned", "", "Perjelas kondisi awal"),
        mentor_says("action_plan_approved", "", "Lanjutkan"),
        (
            "comment".into(),
            "coach-1".into(),
            "coach".into(),
            String::new(),
            "Indikator m2 perlu angka".into(),
        ),
        mentor_says("milestone_returned", "m1", "Daftar hadir belum ada"),
        mentor_says("milestone_approved", "m1", "Bagus"),
    ] {
        assert!(all.contains(&expected), "{expected:?} in {all:#?}");
    }
    let returned = all
        .iter()
        .position(|n| n.0 == "milestone_returned")
        .unwrap();
    let approved = all
        .iter()
        .position(|n| n.0 == "milestone_approved")
        .unwrap();
    assert!(returned < approved, "oldest first: {all:#?}");
    // Both seminars, with notes and per-target ratings; the grade with who set it.
    let [proposal_seminar] = &d.proposal_seminars[..] else {
        panic!("one proposal seminar: {d:?}");
    };
    assert!(proposal_seminar.accepted);
    assert_eq!(proposal_seminar.notes, "Layak dilanjutkan");
    assert_eq!(proposal_seminar.stamp.clone().unwrap().by, "examiner-1");
    let [final_seminar] = &d.final_seminars[..] else {
        panic!("one final seminar: {d:?}");
    };
    assert_eq!(
        (
            final_seminar.accepted,
            final_seminar.score,
            final_seminar.notes.as_str()
        ),
        (true, Some(84), "Target m3 belum penuh")
    );
    let ratings: Vec<(&str, &str)> = final_seminar
        .ratings
        .iter()
        .map(|r| (r.milestone_id.as_str(), r.rating.as_str()))
        .collect();
    assert_eq!(
        ratings,
        [("m1", "exceeds"), ("m2", "meets"), ("m3", "below")]
    );
    assert_eq!(d.grade.replace('_', " "), "sangat memuaskan");
    assert_eq!(d.graded.clone().unwrap().by, "organizer-1");
    assert_eq!(
        d.final_report.clone().unwrap().summary,
        "Antrian daring berjalan"
    );
    assert_eq!(d.workplace_started_on, "2026-03-02");
    // The mentor reads the same page.
    assert_eq!(page(&app, &p.mentor, 0).await.unwrap().notes, d.notes);
}

async fn only_the_projects_people_read_its_page_and_the_read_is_recorded(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let written = proposed(&app, &p).await;
    for token in [
        &p.participant,
        &p.mentor,
        &p.coach,
        &p.examiner,
        &p.organizer,
        &p.auditor,
    ] {
        page(&app, token, written.position).await.unwrap();
    }
    for token in [
        app.token(jejak_engine::domain::Role::Mentor, "mentor-9"),
        app.token(
            jejak_engine::domain::Role::Participant,
            "199001012015032001",
        ),
        p.officer.clone(),
        p.brida.clone(),
        p.admin.clone(),
    ] {
        let refused = page(&app, &token, 0).await.unwrap_err();
        assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    }
    // The mentor's read of her names is recorded; her own is not.
    let person = find(&app, &p.organizer, NIP).await.unwrap().person_id;
    let report = app
        .admin(&p.participant)
        .get_privacy_report(pb::PrivacyReportRequest { person_id: person })
        .await
        .unwrap()
        .into_inner();
    let reads: Vec<(&str, &str, &str)> = report
        .reads
        .iter()
        .filter(|r| r.why.starts_with("Projects.GetProjectDetail"))
        .map(|r| (r.reader.as_str(), r.why.as_str(), r.what.as_str()))
        .collect();
    assert!(
        reads.contains(&(
            "mentor-1",
            "Projects.GetProjectDetail as mentor",
            "nip,name,position,team,stakeholders"
        )),
        "{reads:?}"
    );
    assert!(
        !reads.iter().any(|r| r.1.ends_with("as participant")),
        "{reads:?}"
    );
}

async fn the_organizer_starts_every_ready_project_of_a_cohort_at_once(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    proposed(&app, &p).await;
    // A second participant, enrolled, who proposes nothing.
    let mut second = enrol();
    second.participant = Some(pb::ParticipantInfo {
        nip: "199001012015032001".into(),
        name: "Dewi Lestari".into(),
        position: "Kepala Seksi".into(),
        opd: "dinkes".into(),
    });
    app.cohorts(&p.organizer)
        .enrol_participant(second)
        .await
        .unwrap();
    let all = |id: &str, token: &str| {
        let request = pb::StartWorkplacePhaseAllRequest {
            request_id: id.into(),
            cohort_id: COHORT.into(),
        };
        let mut client = app.cohorts(token);
        async move {
            client
                .start_workplace_phase_all(request)
                .await
                .map(tonic::Response::into_inner)
        }
    };
    // Nothing is ready yet: nothing starts, each says why.
    let early = all("start-early", &p.organizer).await.unwrap();
    assert_eq!(early.started, 0);
    assert_eq!(early.projects.len(), 2);
    assert!(
        early.projects[0].reason.contains("cannot"),
        "{:?}",
        early.projects[0]
    );
    assert_eq!(early.projects[1].reason, "no proposal yet");

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
    let started = all("start-all", &p.organizer).await.unwrap();
    assert_eq!(started.started, 1);
    let first = &started.projects[0];
    assert!(first.started && first.reason.is_empty(), "{first:?}");
    assert_eq!(first.code, project_id());
    let written = first.written.clone().unwrap();
    assert!(
        written
            .events
            .contains(&"WorkplacePhaseStarted".to_string())
    );
    // A retry with the same request id writes nothing new.
    let again = all("start-all", &p.organizer).await.unwrap();
    assert!(again.projects[0].written.clone().unwrap().duplicate);
    let head = app.app.engine().store().digest().await.unwrap();
    assert_eq!(head.position, written.position);
    // Another request finds it started already.
    let later = all("start-later", &p.organizer).await.unwrap();
    assert_eq!(later.started, 0);
    assert!(later.projects[0].already, "{later:?}");
    assert!(
        later.projects[0].reason.starts_with("started on "),
        "{later:?}"
    );
    // Only the cohort's organizer.
    let stranger = app.token(jejak_engine::domain::Role::Organizer, "organizer-9");
    assert_eq!(
        all("x", &stranger).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        all("x", &p.mentor).await.unwrap_err().code(),
        Code::PermissionDenied
    );
}
