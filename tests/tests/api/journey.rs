use jejak_proto::v1 as pb;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tokio_stream::StreamExt as _;

use super::*;

on_both_backends!(
    the_whole_journey_from_cohort_to_replication_and_audit,
    watch_inbox_delivers_a_submission_made_after_it_opened
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

fn evidence(id: &str, m: &str) -> pb::SubmitEvidenceRequest {
    pb::SubmitEvidenceRequest {
        expected_version: None,
        request_id: id.into(),
        project_id: project_id(),
        milestone_id: m.into(),
        attachments: vec![file("notulen.pdf")],
        note: String::new(),
    }
}

/// Follows the log from `after` until an event of `event_type` arrives; returns its position.
async fn event_after(
    app: &jejak_tests::app::TestApp,
    auditor: &str,
    after: u64,
    event_type: &str,
) -> u64 {
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

async fn the_whole_journey_from_cohort_to_replication_and_audit(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);

    let proposed = proposed(&app, &p).await;
    // The project's id is opaque: nothing of the participant in it.
    let pid = id_of(&proposed);
    assert!(uuid::Uuid::parse_str(&pid).is_ok(), "{pid}");
    assert!(!proposed.stream_id.contains(NIP), "{}", proposed.stream_id);
    assert_eq!(proposed.events, ["ProjectProposed", "StateChanged"]);
    let project = app
        .projects(&p.participant)
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: proposed.position,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (project.state.as_str(), project.short_term.unwrap().total),
        ("proposed", 3)
    );
    // Named by its code, it is the same project; the participant is named
    // by their person id.
    assert_eq!(
        (project.project_id.as_str(), project.code.as_str()),
        (pid.as_str(), project_id().as_str())
    );
    assert!(uuid::Uuid::parse_str(&project.participant).is_ok());

    let mentor = || app.mentoring(&p.mentor);
    mentor().agree_change_area(action("agree")).await.unwrap();
    mentor()
        .approve_action_plan(action("approve-plan"))
        .await
        .unwrap();
    let seminar = pb::ProposalSeminarRequest {
        expected_version: None,
        request_id: "seminar".into(),
        project_id: project_id(),
        accepted: true,
        notes: String::new(),
    };
    app.seminars(&p.examiner)
        .record_proposal_seminar(seminar)
        .await
        .unwrap();
    let started = app
        .cohorts(&p.organizer)
        .start_workplace_phase(action("start"))
        .await
        .unwrap()
        .into_inner();
    assert!(
        started
            .events
            .contains(&"WorkplacePhaseStarted".to_string())
    );

    for m in ["m1", "m2", "m3"] {
        app.projects(&p.participant)
            .submit_evidence(evidence(&format!("ev-{m}"), m))
            .await
            .unwrap();
    }
    mentor()
        .return_milestone(decision("return-m2", "m2", "Daftar hadir belum ada"))
        .await
        .unwrap();
    let resubmitted = app
        .projects(&p.participant)
        .submit_evidence(evidence("ev-m2-again", "m2"))
        .await
        .unwrap()
        .into_inner();
    let seen = app
        .projects(&p.participant)
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: resubmitted.position,
        })
        .await
        .unwrap()
        .into_inner();
    let m2 = seen.milestones.iter().find(|m| m.id == "m2").unwrap();
    assert_eq!(
        (m2.status, m2.returned_reason.as_str()),
        (
            pb::MilestoneStatus::Submitted as i32,
            "Daftar hadir belum ada"
        )
    );
    for m in ["m1", "m2", "m3"] {
        mentor()
            .approve_milestone(decision(&format!("ok-{m}"), m, ""))
            .await
            .unwrap();
    }

    let report = pb::SubmitFinalReportRequest {
        expected_version: None,
        request_id: "report".into(),
        project_id: project_id(),
        summary: "Antrian daring berjalan".into(),
        attachments: vec![file("laporan.pdf")],
    };
    app.projects(&p.participant)
        .submit_final_report(report)
        .await
        .unwrap();
    let ratings = ["m1", "m2", "m3"]
        .map(|m| pb::TargetRating {
            milestone_id: m.into(),
            rating: pb::Rating::Exceeds as i32,
        })
        .to_vec();
    let final_seminar = pb::FinalSeminarRequest {
        expected_version: None,
        request_id: "final".into(),
        project_id: project_id(),
        ratings,
        score: 91,
        notes: String::new(),
    };
    app.seminars(&p.examiner)
        .record_final_seminar(final_seminar)
        .await
        .unwrap();
    let grade = pb::SetGradeRequest {
        expected_version: None,
        request_id: "grade".into(),
        project_id: project_id(),
        grade: "sangat memuaskan".into(),
    };
    let graded = app
        .seminars(&p.organizer)
        .set_grade(grade)
        .await
        .unwrap()
        .into_inner();
    let endorsed = mentor()
        .endorse_adoption(action("endorse"))
        .await
        .unwrap()
        .into_inner();
    assert!(endorsed.events.contains(&"StateChanged".to_string()));

    // Its innovation appears in the register, source "change project".
    let registered = event_after(&app, &p.auditor, endorsed.position, "InnovationRegistered").await;
    let innovation_id = jejak_engine::domain::values::InnovationId::from_project(
        &jejak_engine::domain::values::ProjectId::parse(&pid).unwrap(),
    )
    .to_string();
    let innovation = app
        .innovations(&p.brida)
        .get_innovation(pb::GetInnovationRequest {
            innovation_id: innovation_id.clone(),
            min_position: registered,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            innovation.source,
            innovation.opd.as_str(),
            innovation.origin_project.clone()
        ),
        (pb::Source::ChangeProject as i32, "dpmptsp", pid.clone())
    );
    let listed = app
        .innovations(&p.officer)
        .list_innovations(pb::ListInnovationsRequest {
            min_position: registered,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.innovations.len(),
        1,
        "the DPMPTSP officer sees their OPD's innovation"
    );

    // An adopted change project's innovation is implemented (penerapan),
    // and carries the project's title and change area.
    let carried = event_after(&app, &p.auditor, registered, "ProjectStageCarried").await;
    let innovation = app
        .innovations(&p.brida)
        .get_innovation(pb::GetInnovationRequest {
            innovation_id: innovation_id.clone(),
            min_position: carried + 1,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            innovation.stage.as_str(),
            innovation.name.as_str(),
            innovation.sector.as_str()
        ),
        (
            "adopted",
            "Antrian daring perizinan berusaha",
            "Pelayanan perizinan"
        )
    );

    // Another OPD replicates it.
    let inv = || app.innovations(&p.brida);
    let agreement = pb::Agreement {
        kind: "PKS".into(),
        number: "7/PKS/2026".into(),
        signed_on: "2026-09-01".into(),
        document: None,
    };
    let replicated = inv()
        .record_replication(pb::InnovationReplicationRequest {
            expected_version: None,
            request_id: "replicate".into(),
            innovation_id: innovation_id.clone(),
            adopter_opd: "dpmptsp".into(),
            adopter_region: "Kota Serang".into(),
            agreement: Some(agreement),
        })
        .await
        .unwrap()
        .into_inner();
    let replica_registered = event_after(
        &app,
        &p.auditor,
        replicated.position,
        "InnovationRegistered",
    )
    .await;
    let original = inv()
        .get_innovation(pb::GetInnovationRequest {
            innovation_id: innovation_id.clone(),
            min_position: replica_registered,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (original.stage.as_str(), original.replication_count),
        ("replicated", 1)
    );
    let replica = inv()
        .get_innovation(pb::GetInnovationRequest {
            innovation_id: original.replicas[0].clone(),
            min_position: replica_registered,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (replica.replica_of.as_str(), replica.region.as_str()),
        (innovation_id.as_str(), "Kota Serang")
    );

    // An auditor reads the whole history, the state before adoption, and verifies.
    let audit = || app.audit(&p.auditor);
    let history = audit()
        .read_stream(pb::ReadStreamRequest {
            stream_id: proposed.stream_id.clone(),
            from_version: 0,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        history.events.first().map(|e| e.event_type.as_str()),
        Some("ProjectProposed")
    );
    assert!(
        history
            .events
            .iter()
            .all(|e| !e.metadata_json.is_empty() && e.hash.len() == 64)
    );
    let before = audit()
        .get_state_at(pb::GetStateAtRequest {
            kind: pb::StreamKind::ChangeProject as i32,
            id: project_id(),
            version: graded.stream_version,
            at: None,
            effective: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(before.lifecycle, "piloted");
    let now = audit()
        .get_state_at(pb::GetStateAtRequest {
            kind: pb::StreamKind::ChangeProject as i32,
            id: project_id(),
            version: history.stream_version,
            at: None,
            effective: false,
        })
        .await
        .unwrap()
        .into_inner();
    // Replicating its innovation replicated the project too.
    assert_eq!(now.lifecycle, "replicated");
    let digest = audit()
        .get_digest(pb::GetDigestRequest {})
        .await
        .unwrap()
        .into_inner();
    let verified = audit()
        .verify(pb::VerifyRequest {
            from_position: 0,
            to_position: 0,
            digest: Some(digest.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(verified.intact, "{}", verified.message);
    assert!(verified.to_position >= digest.position);
    let activity = audit()
        .get_activity(pb::GetActivityRequest {
            actor_id: "mentor-1".into(),
            after_position: 0,
            limit: 0,
            min_position: digest.position,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        activity
            .entries
            .iter()
            .any(|e| e.event_type == "MilestoneReturned")
    );
    app.stop().await;
}

async fn watch_inbox_delivers_a_submission_made_after_it_opened(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let proposed = proposed(&app, &p).await;
    let mut inbox = app
        .mentoring(&p.mentor)
        .watch_inbox(pb::GetInboxRequest {
            min_position: proposed.position,
        })
        .await
        .unwrap()
        .into_inner();
    let first = inbox.next().await.unwrap().unwrap();
    assert_eq!(
        (first.kind, first.project_id.as_str()),
        (pb::InboxKind::Proposal as i32, id_of(&proposed).as_str())
    );

    app.mentoring(&p.mentor)
        .agree_change_area(action("agree"))
        .await
        .unwrap();
    app.mentoring(&p.mentor)
        .approve_action_plan(action("approve"))
        .await
        .unwrap();
    let seminar = pb::ProposalSeminarRequest {
        expected_version: None,
        request_id: "seminar".into(),
        project_id: project_id(),
        accepted: true,
        notes: String::new(),
    };
    app.seminars(&p.examiner)
        .record_proposal_seminar(seminar)
        .await
        .unwrap();
    app.cohorts(&p.organizer)
        .start_workplace_phase(action("start"))
        .await
        .unwrap();
    app.projects(&p.participant)
        .submit_evidence(evidence("ev-m1", "m1"))
        .await
        .unwrap();

    let next = tokio::time::timeout(std::time::Duration::from_secs(30), inbox.next())
        .await
        .expect("an item arrives")
        .unwrap()
        .unwrap();
    assert_eq!(
        (next.kind, next.milestone_id.as_str()),
        (pb::InboxKind::MilestoneEvidence as i32, "m1")
    );
    let unary = app
        .mentoring(&p.mentor)
        .get_inbox(pb::GetInboxRequest { min_position: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unary.items.len(), 1);
    app.stop().await;
}
