//! Participants are person ids (ADR 0020): a token may name a NIP, which
//! the server maps to the person id enrolling recorded; an organizer finds
//! a participant's person id and project code by NIP; nothing answered
//! quotes a NIP.

use std::time::{SystemTime, UNIX_EPOCH};

use jejak_proto::v1 as pb;
use jejak_tests::app::{TEST_SECRET, spawn_app};
use jejak_tests::{TestDb, on_both_backends};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tonic::Code;

use super::*;

on_both_backends!(
    a_token_naming_a_nip_acts_as_the_person_enrolled_with_it,
    an_organizer_finds_a_participant_by_nip_and_strangers_find_nobody,
    a_refused_enrolment_leaves_no_nip_in_the_people_index,
);

fn signed(claims: &serde_json::Value) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = claims.clone();
    let all = claims.as_object_mut().unwrap();
    all.insert("iss".into(), json!("jejak"));
    all.insert("aud".into(), json!("jejak"));
    all.insert("iat".into(), json!(now));
    all.insert("exp".into(), json!(now + 600));
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(TEST_SECRET),
    )
    .unwrap()
}

async fn a_token_naming_a_nip_acts_as_the_person_enrolled_with_it(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    // Before they are enrolled, a token naming their NIP is a participant
    // of nothing, answered as any participant not enrolled.
    app.cohorts(&p.organizer)
        .open_cohort(open_cohort())
        .await
        .unwrap();
    let early = app
        .projects(&app.nip_token(NIP))
        .propose(propose())
        .await
        .expect_err("not enrolled yet");
    assert_eq!(early.code(), Code::PermissionDenied, "{early:?}");
    assert!(early.message().contains("not enrolled"), "{early:?}");
    assert!(!early.message().contains(NIP), "{}", early.message());

    app.cohorts(&p.organizer)
        .enrol_participant(enrol())
        .await
        .unwrap();
    let written = app
        .projects(&p.participant)
        .propose(propose())
        .await
        .unwrap()
        .into_inner();
    let person = find(&app, &p.organizer, NIP).await.unwrap().person_id;
    // The person id names them as well as their NIP does.
    let by_subject = app.token(jejak_engine::domain::Role::Participant, &person);
    let project = app
        .projects(&by_subject)
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: written.position,
        })
        .await
        .expect("their own project")
        .into_inner();
    assert_eq!(project.participant, person);
    // The actor the log records is the person id, never the NIP.
    let events = app
        .audit(&p.auditor)
        .read_stream(pb::ReadStreamRequest {
            stream_id: written.stream_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert!(events[0].metadata_json.contains(&person));
    assert!(!events.iter().any(|e| e.metadata_json.contains(NIP)));

    // A subject and a NIP must name the same person.
    let agree = signed(&json!({"sub": person, "nip": NIP, "role": "participant"}));
    app.projects(&agree)
        .get_project(pb::GetProjectRequest {
            project_id: project_id(),
            min_position: 0,
        })
        .await
        .expect("subject and NIP agree");
    for (claims, says) in [
        (
            json!({"sub": "0192f5e4-7c1a-7b3e-9d2a-5f0c8e1b2a3d", "nip": NIP, "role": "participant"}),
            "different people",
        ),
        (json!({"nip": NIP, "role": "mentor"}), "only a participant"),
        (
            json!({"nip": "12345", "role": "participant"}),
            "not a valid NIP",
        ),
        (json!({"role": "participant"}), "no subject"),
    ] {
        let refused = app
            .projects(&signed(&claims))
            .get_project(pb::GetProjectRequest {
                project_id: project_id(),
                min_position: 0,
            })
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), Code::Unauthenticated, "{claims}");
        assert!(refused.message().contains(says), "{claims}: {refused:?}");
    }
    app.stop().await;
}

async fn an_organizer_finds_a_participant_by_nip_and_strangers_find_nobody(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let written = proposed(&app, &p).await;
    let found = find(&app, &p.organizer, NIP).await.expect("found");
    assert!(uuid::Uuid::parse_str(&found.person_id).is_ok());
    assert_eq!(found.enrolments.len(), 1);
    let enrolment = &found.enrolments[0];
    assert_eq!(
        (
            enrolment.cohort_id.as_str(),
            enrolment.code.as_str(),
            enrolment.project_id.as_str()
        ),
        (COHORT, project_id().as_str(), id_of(&written).as_str())
    );
    // The auditor may look too.
    assert_eq!(find(&app, &p.auditor, NIP).await.unwrap(), found);
    // Another organizer, and a NIP nobody has, get one answer alike, which
    // quotes no NIP.
    let stranger = app.organizer_token("organizer-2", "bpsdm-banten");
    let theirs = find(&app, &stranger, NIP).await.expect_err("not theirs");
    let nobody = find(&app, &p.organizer, "199001012015032001")
        .await
        .expect_err("nobody");
    assert_eq!(theirs.code(), Code::NotFound);
    assert_eq!(
        (theirs.code(), theirs.message()),
        (nobody.code(), nobody.message())
    );
    assert!(!theirs.message().contains(NIP));
    // Participants and mentors may not look people up.
    for token in [&p.participant, &p.mentor] {
        let refused = find(&app, token, NIP).await.expect_err("refused");
        assert_eq!(refused.code(), Code::PermissionDenied);
    }
    app.stop().await;
}

/// The rows of the people index.
async fn indexed(app: &jejak_tests::app::TestApp) -> i64 {
    let store = app.app.engine().store();
    let sql = "SELECT COUNT(*) FROM people";
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        (_, Some(pool)) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        _ => unreachable!("a store is on one backend"),
    }
}

async fn a_refused_enrolment_leaves_no_nip_in_the_people_index(db: &TestDb) {
    let app = spawn_app(db).await;
    let p = People::of(&app);
    let nip = jejak_engine::domain::values::Nip::parse(NIP).unwrap();
    let store = app.app.engine().store().clone();
    // Into a cohort that was never opened: refused, and the NIP is not held.
    let refused = app
        .cohorts(&p.organizer)
        .enrol_participant(enrol())
        .await
        .expect_err("no such cohort");
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    assert_eq!(store.find_person(&nip).await.unwrap(), None);
    assert_eq!(indexed(&app).await, 0);
    // Enrolled, it is.
    app.cohorts(&p.organizer)
        .open_cohort(open_cohort())
        .await
        .unwrap();
    app.cohorts(&p.organizer)
        .enrol_participant(enrol())
        .await
        .unwrap();
    let person = store.find_person(&nip).await.unwrap().expect("indexed");
    // A refused enrolment of a NIP the log holds leaves its row alone: the
    // same enrolment again, or one into a cohort that does not exist.
    let again = app
        .cohorts(&p.organizer)
        .enrol_participant(enrol())
        .await
        .expect_err("enrolled already");
    assert_eq!(again.code(), Code::AlreadyExists, "{again:?}");
    let elsewhere = app
        .cohorts(&p.organizer)
        .enrol_participant(pb::EnrolParticipantRequest {
            cohort_id: "pka-2026-9".into(),
            ..enrol()
        })
        .await
        .expect_err("no such cohort");
    assert_eq!(elsewhere.code(), Code::NotFound, "{elsewhere:?}");
    assert_eq!(store.find_person(&nip).await.unwrap(), Some(person));
    assert_eq!(indexed(&app).await, 1);
    // A refused enrolment of another NIP leaves nothing either.
    let mut other = enrol();
    if let Some(participant) = other.participant.as_mut() {
        participant.nip = "199001012015032001".into();
    }
    other.mentor = String::new();
    let bad = app
        .cohorts(&p.organizer)
        .enrol_participant(other.clone())
        .await
        .expect_err("no mentor");
    assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
    other.mentor = "mentor-1".into();
    other.cohort_id = "pka-2026-9".into();
    app.cohorts(&p.organizer)
        .enrol_participant(other)
        .await
        .expect_err("no such cohort");
    assert_eq!(indexed(&app).await, 1);
    app.stop().await;
}
