//! Nothing that names anything holds personal data (ADR 0020): over a
//! whole history (every move of every project and innovation, and the
//! reactions of the process managers), no stream id, event id, actor or
//! request id, correlation, causation, request record, snapshot, reader
//! checkpoint or view key holds a participant's NIP or name, nor anything
//! shaped like a NIP.

use jejak_engine::domain::cohort::Cohort;
use jejak_engine::process::ProcessManagers;
use jejak_engine::store::EventStore;
use jejak_projections::views;
use jejak_tests::history::{self, Step};
use jejak_tests::{TestDb, on_both_backends};

use super::{caught_up, engine, runner};

on_both_backends!(no_id_or_key_holds_a_participants_nip_or_name);

/// Whether `text` holds a run of 18 digits (the shape of a NIP).
fn has_nip_shape(text: &str) -> bool {
    text.as_bytes()
        .split(|b| !b.is_ascii_digit())
        .any(|run| run.len() >= 18)
}

/// The request records, snapshots and reader checkpoints, as text.
async fn tables(store: &EventStore) -> Vec<String> {
    let queries = [
        "SELECT request_id || ' ' || stream_id FROM requests",
        "SELECT stream_id FROM snapshots",
        "SELECT name FROM checkpoints",
    ];
    let mut rows = Vec::new();
    for sql in queries {
        let found: Vec<String> = match (store.sqlite_pool(), store.postgres_pool()) {
            (Some(pool), _) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
            (_, Some(pool)) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
            _ => unreachable!("a store is on one backend"),
        };
        rows.extend(found);
    }
    rows
}

async fn no_id_or_key_holds_a_participants_nip_or_name(db: &TestDb) {
    let store = db.open().await;
    let engine = engine(store.clone()).await;
    let runner = runner(store.clone(), 100).await;
    views::spawn_all(&runner);
    history::setup(&engine).await.unwrap();
    let steps: Vec<Step> =
        (0..4u8)
            .flat_map(|project| (0..19u8).map(move |op| Step::Project { project, op }))
            .chain((0..5u8).flat_map(|innovation| {
                (0..11u8).map(move |op| Step::Innovation { innovation, op })
            }))
            .collect();
    let accepted = history::play(&engine, &steps, "all").await.unwrap();
    assert!(accepted > 40, "the history went far: {accepted} commands");
    ProcessManagers::new(engine.clone())
        .run_once()
        .await
        .unwrap();
    let events = store.read_all(0, 10_000).await.unwrap();
    assert!(events.len() < 10_000, "the whole log was read");
    assert!(
        events
            .iter()
            .any(|e| e.event_type == "InnovationRegistered"),
        "an adoption registered its innovation"
    );

    // What is personal, read from the enrolments themselves (opened by the
    // engine: the log holds them sealed).
    let mut personal = Vec::new();
    let cohort = engine.get::<Cohort>("pka-2026-1").await.unwrap().unwrap();
    for enrollment in cohort.state.enrollments.values() {
        personal.push(enrollment.participant.nip.to_string());
        personal.push(enrollment.participant.name.clone());
    }
    assert_eq!(personal.len(), 8, "four participants were enrolled");
    // Sealed in every payload (ADR 0022): the check could fail before.
    assert!(
        events
            .iter()
            .filter(|e| e.event_type == "ParticipantEnrolled")
            .all(|e| e.payload.contains("\"sealed\"")),
        "enrolments are sealed"
    );
    for event in &events {
        for data in &personal {
            assert!(
                !event.payload.contains(data.as_str()),
                "event {} holds '{data}' in its payload",
                event.position
            );
        }
    }

    let mut ids: Vec<(String, String)> = Vec::new();
    for event in &events {
        let at = format!("event {}", event.position);
        ids.push((at.clone(), event.stream_id.to_string()));
        ids.push((at.clone(), event.event_id.to_string()));
        // Every field of the metadata is an id: actor, request,
        // correlation, causation, command.
        ids.push((at, event.metadata.clone()));
    }
    ids.extend(
        tables(&store)
            .await
            .into_iter()
            .map(|row| ("table row".to_owned(), row)),
    );
    for name in runner.names() {
        caught_up(&runner, name).await;
        for (key, _) in runner.documents(name).await.unwrap() {
            ids.push((format!("view {name}"), key));
        }
    }
    assert!(ids.len() > events.len() * 3, "every kind of id was read");
    for (whose, id) in &ids {
        assert!(!has_nip_shape(id), "{whose} holds a NIP-shaped id: {id}");
        for data in &personal {
            assert!(!id.contains(data.as_str()), "{whose} holds '{data}': {id}");
        }
    }
}
