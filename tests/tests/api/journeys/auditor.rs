//! The auditor: who did what when, one person's trail, a past state, the
//! stored files against the log, the chain.

use jejak_proto::v1 as pb;
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(an_auditor_reads_who_did_what_when);

async fn an_auditor_reads_who_did_what_when(db: &TestDb) {
    let (app, _files) = app_with_folder(db).await;
    let p = People::of(&app);
    in_workplace(&app, &p).await;
    let content = pdf(b"Daftar hadir rapat tim efektif");
    let stored = upload(
        &app,
        &p.participant,
        "hadir.pdf",
        "application/pdf",
        &content,
    )
    .await
    .unwrap()
    .attachment
    .unwrap();
    let submitted = app
        .projects(&p.participant)
        .submit_evidence(submit("ev-m1", "m1", vec![stored.clone()]))
        .await
        .unwrap()
        .into_inner();
    let approved = app
        .mentoring(&p.mentor)
        .approve_milestone(decision("ok-m1", "m1", "Lengkap"))
        .await
        .unwrap()
        .into_inner();

    // The project's history: every event with who, in which role, and when.
    let events = history(&app, &p.auditor, &approved.stream_id).await;
    let who = |kind: &str| {
        let e = events.iter().find(|e| e.event_type == kind).unwrap();
        let metadata: serde_json::Value = serde_json::from_str(&e.metadata_json).unwrap();
        (
            metadata["actor_id"].as_str().unwrap_or_default().to_owned(),
            metadata["actor_role"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            e.recorded_at.is_some(),
        )
    };
    assert_eq!(
        who("ChangeAreaAgreed"),
        ("mentor-1".into(), "mentor".into(), true)
    );
    assert_eq!(
        who("ProposalSeminarHeld"),
        ("examiner-1".into(), "examiner".into(), true)
    );
    assert_eq!(
        who("MilestoneApproved"),
        ("mentor-1".into(), "mentor".into(), true)
    );
    // Nothing personal in the log's words about the participant.
    for e in &events {
        assert!(!e.payload_json.contains(NIP), "{}", e.event_type);
        assert!(
            !e.payload_json.contains("Siti Rahmawati"),
            "{}",
            e.event_type
        );
    }

    // One person's activity: the mentor's writes, oldest first.
    let activity = app
        .audit(&p.auditor)
        .get_activity(pb::GetActivityRequest {
            actor_id: "mentor-1".into(),
            after_position: 0,
            limit: 0,
            min_position: approved.position,
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let did: Vec<&str> = activity.iter().map(|a| a.event_type.as_str()).collect();
    assert_eq!(
        did,
        [
            "ChangeAreaAgreed",
            "ActionPlanApproved",
            "MilestoneApproved"
        ],
        "{activity:?}"
    );
    assert!(activity.iter().all(|a| a.actor_role == "mentor"));
    // The participant's, named by her NIP.
    let hers = app
        .audit(&p.auditor)
        .get_activity(pb::GetActivityRequest {
            actor_id: NIP.into(),
            after_position: 0,
            limit: 0,
            min_position: approved.position,
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(
        hers.iter().any(|a| a.event_type == "EvidenceSubmitted"),
        "{hers:?}"
    );
    // Only auditors read another person's trail.
    let refused = app
        .audit(&p.mentor)
        .get_activity(pb::GetActivityRequest {
            actor_id: "examiner-1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    // The project as it stood before the evidence came.
    let before = app
        .audit(&p.auditor)
        .get_state_at(pb::GetStateAtRequest {
            effective: false,
            kind: pb::StreamKind::ChangeProject as i32,
            id: project_id(),
            version: submitted.stream_version - 1,
            at: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(before.version, submitted.stream_version - 1);
    assert!(
        !before.state_json.contains(&stored.sha256),
        "{}",
        before.state_json
    );
    let after = app
        .audit(&p.auditor)
        .get_state_at(pb::GetStateAtRequest {
            effective: false,
            kind: pb::StreamKind::ChangeProject as i32,
            id: project_id(),
            version: submitted.stream_version,
            at: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        after.state_json.contains(&stored.sha256),
        "{}",
        after.state_json
    );

    // The stored files match the log, until one is altered.
    let files = app
        .evidence(&p.auditor)
        .audit_files(pb::AuditFilesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!((files.checked, files.intact), (1, 1), "{files:?}");
    let kept = app.app.evidence().store.file_of(&stored.sha256).unwrap();
    std::fs::write(&kept, b"diubah").unwrap();
    let files = app
        .evidence(&p.auditor)
        .audit_files(pb::AuditFilesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!((files.checked, files.intact), (1, 0), "{files:?}");
    assert_eq!(files.findings[0].sha256, stored.sha256);
    assert_eq!(files.findings[0].problem, pb::FileProblem::Altered as i32);
    // And the chain itself is intact.
    let verified = app
        .audit(&p.auditor)
        .verify(pb::VerifyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(verified.intact, "{verified:?}");
    app.stop().await;
}
