//! Erasing a person over gRPC (ADR 0021): operators only, with a basis;
//! the log still verifies.

use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_tests::app::spawn_app;
use jejak_tests::{TestDb, on_both_backends};
use tonic::Code;

use super::*;

on_both_backends!(
    an_operator_erases_a_person_and_the_log_still_verifies,
    a_participants_fields_are_sealed_in_the_log_and_read_as_dihapus_after_erasure,
    a_full_export_is_for_auditors_with_a_reason_recorded_in_the_log,
    reads_by_others_are_recorded_and_reported_to_the_person,
    retention_lists_what_has_passed_its_period,
);

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
    assert!(
        answer.views_rebuilding.is_empty(),
        "views open sealed fields when read"
    );

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

const NAME: &str = "Siti Rahmawati";

/// The names the proposal gives its stakeholder and team member (as JSON
/// strings: a name alone might happen to be in a ciphertext's base64).
const PROPOSAL_NAMES: [&str; 2] = ["\"Kepala DPMPTSP\"", "\"Budi\""];

async fn a_participants_fields_are_sealed_in_the_log_and_read_as_dihapus_after_erasure(
    db: &TestDb,
) {
    let app = spawn_app(db).await;
    let people = People::of(&app);
    let written = proposed(&app, &people).await;
    let get = |token: String| {
        let app = &app;
        let position = written.position;
        async move {
            app.projects(&token)
                .get_project(pb::GetProjectRequest {
                    project_id: project_id(),
                    min_position: position,
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    // Views and the wire show the fields, opened.
    let shown = get(people.mentor.clone()).await;
    assert_eq!(shown.participant_name, NAME);
    assert_eq!(shown.participant_nip, NIP);
    // The log holds them sealed: not in any payload an auditor reads.
    let mut payloads = String::new();
    for stream in ["cohort-pka-2026-1".to_owned(), written.stream_id.clone()] {
        let events = app
            .audit(&people.auditor)
            .read_stream(pb::ReadStreamRequest {
                stream_id: stream,
                from_version: 0,
                limit: 0,
            })
            .await
            .unwrap()
            .into_inner()
            .events;
        for e in events {
            payloads.push_str(&e.payload_json);
        }
    }
    assert!(payloads.contains("\"sealed\""), "{payloads}");
    assert!(payloads.contains("\"names\""), "{payloads}");
    for secret in [NIP, NAME, "Kepala Bidang Pelayanan Perizinan"]
        .into_iter()
        .chain(PROPOSAL_NAMES)
    {
        assert!(!payloads.contains(secret), "{secret} in {payloads}");
    }
    // A past state of the project shows its proposal's names, opened.
    let project_state = || {
        let app = &app;
        let auditor = people.auditor.clone();
        async move {
            app.audit(&auditor)
                .get_state_at(pb::GetStateAtRequest {
                    kind: pb::StreamKind::ChangeProject as i32,
                    id: project_id(),
                    version: 1,
                    at: None,
                    effective: false,
                })
                .await
                .unwrap()
                .into_inner()
                .state_json
        }
    };
    let state = project_state().await;
    for secret in PROPOSAL_NAMES {
        assert!(state.contains(secret), "{secret} not in {state}");
    }
    let person = app
        .cohorts(&people.organizer)
        .find_participant(pb::FindParticipantRequest {
            nip: NIP.into(),
            cohort_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .person_id;

    let erased = app
        .admin(&people.admin)
        .erase_person(pb::ErasePersonRequest {
            request_id: String::new(),
            person_id: person.clone(),
            basis: "UU 27/2022 Pasal 8: request of 2026-11-02".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let after = erased.result.unwrap().position;
    // The project, the mentor's inbox and the cohort read "[dihapus]".
    let shown = get(people.mentor.clone()).await;
    assert_eq!(shown.participant_name, "[dihapus]");
    assert_eq!(shown.participant_nip, "[dihapus]");
    let inbox = app
        .mentoring(&people.mentor)
        .get_inbox(pb::GetInboxRequest {
            min_position: after,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!inbox.items.is_empty());
    assert!(
        inbox
            .items
            .iter()
            .all(|i| i.participant_name == "[dihapus]"),
        "{inbox:?}"
    );
    let state = app
        .audit(&people.auditor)
        .get_state_at(pb::GetStateAtRequest {
            kind: pb::StreamKind::Cohort as i32,
            id: COHORT.into(),
            version: 2,
            at: None,
            effective: false,
        })
        .await
        .unwrap()
        .into_inner()
        .state_json;
    assert!(state.contains("[dihapus]"), "{state}");
    assert!(!state.contains(NAME) && !state.contains(NIP), "{state}");
    // So do the names their proposal gave its team and stakeholders.
    let state = project_state().await;
    for secret in PROPOSAL_NAMES {
        assert!(!state.contains(secret), "{secret} in {state}");
    }
    assert!(
        state.contains("\"name\":\"[dihapus]\",\"role\":\"Koordinator\""),
        "{state}"
    );
    // Nobody finds them by NIP any more.
    let gone = app
        .cohorts(&people.organizer)
        .find_participant(pb::FindParticipantRequest {
            nip: NIP.into(),
            cohort_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound, "{gone:?}");
    let verified = app
        .audit(&people.auditor)
        .verify(pb::VerifyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(verified.intact, "{verified:?}");
    app.stop().await;
}

async fn read_log(
    app: &jejak_tests::app::TestApp,
    token: &str,
    full_reason: &str,
) -> Result<Vec<pb::Event>, tonic::Status> {
    use tokio_stream::StreamExt as _;
    let mut stream = app
        .audit(token)
        .read_log(pb::ReadLogRequest {
            after_position: 0,
            full_reason: full_reason.into(),
        })
        .await?
        .into_inner();
    let mut events = Vec::new();
    while let Some(e) = stream.next().await {
        events.push(e?);
    }
    Ok(events)
}

async fn a_full_export_is_for_auditors_with_a_reason_recorded_in_the_log(db: &TestDb) {
    let app = spawn_app(db).await;
    let people = People::of(&app);
    proposed(&app, &people).await;
    // Redacted by default: the stored bytes, sealed, nothing opened.
    let redacted = read_log(&app, &people.auditor, "").await.unwrap();
    assert!(redacted.iter().all(|e| e.opened_json.is_empty()));
    assert!(redacted.iter().all(|e| !e.payload_json.contains(NAME)));
    // Full: auditors only, with a reason.
    let refused = read_log(&app, &people.admin, "a look").await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let refused = read_log(&app, &people.auditor, "x").await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("full_reason"), "{refused:?}");
    let full = read_log(
        &app,
        &people.auditor,
        "Inspektorat: pemeriksaan 700/12/2026",
    )
    .await
    .unwrap();
    let opened: Vec<&pb::Event> = full.iter().filter(|e| !e.opened_json.is_empty()).collect();
    assert_eq!(opened.len(), 2, "the enrolment and the proposal");
    for e in &opened {
        assert!(
            e.opened_json.contains(NAME) && e.opened_json.contains(NIP),
            "{e:?}"
        );
        assert!(
            !e.payload_json.contains(NAME),
            "the stored payload stays sealed"
        );
    }
    // The same events, byte for byte, as the redacted read: the hashes hold.
    for (a, b) in redacted.iter().zip(&full) {
        assert_eq!((&a.payload_json, &a.hash), (&b.payload_json, &b.hash));
    }
    // Recorded first: who (the actor), when (its time), why (the reason).
    let recorded = app
        .audit(&people.auditor)
        .read_stream(pb::ReadStreamRequest {
            stream_id: "privacy".into(),
            from_version: 0,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let [event] = &recorded[..] else {
        panic!("one record of the export: {recorded:?}");
    };
    assert_eq!(event.event_type, "PersonalDataExported");
    assert!(event.payload_json.contains("700/12/2026"), "{event:?}");
    assert!(event.metadata_json.contains("insp-1"), "{event:?}");
    let verified = app
        .audit(&people.auditor)
        .verify(pb::VerifyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(verified.intact, "{verified:?}");
    app.stop().await;
}

async fn report(
    app: &jejak_tests::app::TestApp,
    token: &str,
    person: &str,
) -> Result<pb::PrivacyReport, tonic::Status> {
    app.admin(token)
        .get_privacy_report(pb::PrivacyReportRequest {
            person_id: person.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn person_of(app: &jejak_tests::app::TestApp, people: &People) -> String {
    app.cohorts(&people.organizer)
        .find_participant(pb::FindParticipantRequest {
            nip: NIP.into(),
            cohort_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .person_id
}

async fn reads_by_others_are_recorded_and_reported_to_the_person(db: &TestDb) {
    let app = spawn_app(db).await;
    let people = People::of(&app);
    let written = proposed(&app, &people).await;
    let person = person_of(&app, &people).await;
    let get = |token: String| {
        let app = &app;
        async move {
            app.projects(&token)
                .get_project(pb::GetProjectRequest {
                    project_id: project_id(),
                    min_position: written.position,
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    // The person reads their own project: not a read by someone else.
    assert_eq!(get(people.participant.clone()).await.participant_name, NAME);
    get(people.mentor.clone()).await;
    app.mentoring(&people.mentor)
        .get_inbox(pb::GetInboxRequest {
            min_position: written.position,
        })
        .await
        .unwrap();

    // The person asks what is held about them.
    let own = report(&app, &people.participant, &person).await.unwrap();
    assert!(!own.erased);
    let [enrolment] = &own.enrolments[..] else {
        panic!("one enrolment: {own:?}");
    };
    assert_eq!(
        (enrolment.name.as_str(), enrolment.nip.as_str()),
        (NAME, NIP)
    );
    assert_eq!(enrolment.code, project_id());
    assert_eq!(enrolment.project_state, "proposed");
    assert!(
        own.events
            .iter()
            .any(|e| e.event_type == "ParticipantEnrolled")
    );
    assert!(
        own.events
            .iter()
            .any(|e| e.event_type == "ProjectProposed" && e.relation == "names them")
    );
    let reads: Vec<(&str, &str)> = own
        .reads
        .iter()
        .map(|r| (r.reader.as_str(), r.why.as_str()))
        .collect();
    assert_eq!(
        reads,
        [
            ("organizer-1", "Cohorts.FindParticipant as organizer"),
            ("mentor-1", "Projects.GetProject as mentor"),
            ("mentor-1", "Mentoring.GetInbox as mentor"),
        ],
        "{own:?}"
    );
    assert_eq!(own.reads[0].what, "nip,enrolments");
    assert_eq!(own.reads[1].what, "nip,name,position");
    // Someone else may not ask; an auditor may, and is recorded.
    let refused = report(&app, &people.mentor, &person).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    report(&app, &people.auditor, &person).await.unwrap();
    let again = report(&app, &people.admin, &person).await.unwrap();
    assert!(
        again
            .reads
            .iter()
            .any(|r| r.reader == "insp-1" && r.why == "Admin.GetPrivacyReport as auditor"),
        "{again:?}"
    );
    // After erasure the report says so, and shows no field.
    app.admin(&people.admin)
        .erase_person(pb::ErasePersonRequest {
            request_id: String::new(),
            person_id: person.clone(),
            basis: "UU 27/2022 Pasal 8".into(),
        })
        .await
        .unwrap();
    let erased = report(&app, &people.admin, &person).await.unwrap();
    assert!(erased.erased);
    assert_eq!(erased.enrolments[0].name, "[dihapus]");
    assert!(
        erased
            .events
            .iter()
            .any(|e| e.event_type == "ProjectProposed")
    );
    app.stop().await;
}

async fn retention_lists_what_has_passed_its_period(db: &TestDb) {
    let app = jejak_tests::app::spawn_app_with(db, |config| {
        config.retention = jejak_engine::privacy::Retention {
            participant_days: 30,
            reads_days: 10,
        };
    })
    .await;
    let people = People::of(&app);
    let written = proposed(&app, &people).await;
    let person = person_of(&app, &people).await;
    app.projects(&people.mentor)
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: written.position,
        })
        .await
        .unwrap();
    let list = |token: String| {
        let app = &app;
        async move {
            app.admin(&token)
                .list_retention(pb::ListRetentionRequest {})
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let refused = list(people.mentor.clone()).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let now = list(people.admin.clone()).await.unwrap();
    assert_eq!(now.periods.len(), 2, "{now:?}");
    assert!(now.items.is_empty(), "nothing passed yet: {now:?}");
    // Eleven days on, the read passed; the cohort (ends 2026-06-30) not yet.
    app.clock.advance(chrono::Duration::days(11));
    let later = list(people.auditor.clone()).await.unwrap();
    let items: Vec<(&str, &str)> = later
        .items
        .iter()
        .map(|i| (i.category.as_str(), i.person_id.as_str()))
        .collect();
    assert_eq!(items, [("personal_reads", person.as_str())], "{later:?}");
    // Thirty days after the training ended, the participant too.
    app.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 7, 31, 8, 0, 0).unwrap());
    let after = list(people.admin.clone()).await.unwrap();
    let participant = after
        .items
        .iter()
        .find(|i| i.category == "participant")
        .expect("the participant passed");
    assert_eq!(participant.person_id, person);
    assert_eq!(participant.since, "2026-06-30");
    assert_eq!(participant.passed_on, "2026-07-30");
    assert!(!participant.what.contains(NIP) && !participant.what.contains(NAME));
    app.stop().await;
}
