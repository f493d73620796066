//! Erasing a person over gRPC (ADR 0021): operators only, with a basis;
//! the log still verifies.

use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

on_both_backends!(an_operator_erases_a_person_and_the_log_still_verifies);

async fn an_operator_erases_a_person_and_the_log_still_verifies(db: &TestDb) {
    let app = spawn_app(db).await;
    let person = uuid::Uuid::now_v7().to_string();
    app.app
        .engine()
        .privacy()
        .seal(
            &person,
            "participant",
            &serde_json::json!({"name": "Siti Rahmawati"}),
        )
        .await
        .unwrap();
    let request = |basis: &str| pb::ErasePersonRequest {
        request_id: String::new(),
        person_id: person.clone(),
        basis: basis.into(),
    };
    let admin = app.token(Role::Admin, "op-1");
    let auditor = app.token(Role::Auditor, "insp-1");
    let refused = app
        .admin(&auditor)
        .erase_person(request("UU 27/2022 Pasal 8"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let refused = app
        .admin(&admin)
        .erase_person(request(""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("basis"), "{refused:?}");

    let answer = app
        .admin(&admin)
        .erase_person(request("UU 27/2022 Pasal 8: request of 2026-11-02"))
        .await
        .unwrap()
        .into_inner();
    let written = answer.result.unwrap();
    assert_eq!(written.events, ["PersonErased"]);
    assert_eq!(written.stream_id, "privacy");
    assert!(!answer.scrubbed.is_empty());
    assert_eq!(answer.views_rebuilding, ["project_board", "cohorts"]);

    let again = app
        .admin(&admin)
        .erase_person(request("UU 27/2022 Pasal 8"))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::InvalidArgument, "{again:?}");
    assert!(again.message().contains("erased already"), "{again:?}");

    let verified = app
        .audit(&auditor)
        .verify(pb::VerifyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(verified.intact, "{verified:?}");
    app.stop().await;
}
