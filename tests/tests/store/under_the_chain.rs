//! Caches under the chain: snapshots checked against the log, the chain
//! verified on start, consistent copies of a SQLite log.

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone as _, Utc};
use jejak_engine::clock::ManualClock;
use jejak_engine::domain::change_project::{
    ChangeProject, Goals, MilestonePlan, ProjectCommand as P, Proposal,
};
use jejak_engine::domain::cohort::{Cohort, CohortCommand, Enrollment, Participant};
use jejak_engine::domain::values::{Attachment, CohortId, Horizon, MilestoneId, TrainingLevel};
use jejak_engine::domain::{Actor, Role};
use jejak_engine::engine::{CommandError, Context, Engine, EngineConfig, stream_of};
use jejak_engine::store::{
    BreakKind, EventStore, ExpectedVersion, SnapshotFault, StoreConfig, StoreError, StoredSnapshot,
};
use jejak_server::{App, AppConfig, Keys, ServeError};
use jejak_tests::{TestDb, on_both_backends};

use super::{events, stream};

on_both_backends!(
    a_forged_snapshot_is_ignored_and_the_next_decision_comes_from_the_events,
    a_snapshot_that_is_not_its_events_is_ignored_and_reported,
    the_chain_is_verified_on_start_from_where_the_last_start_left_off,
    a_server_does_not_start_on_a_changed_log,
    a_copy_holds_every_committed_event_and_the_wal_is_emptied_on_request,
);

/// The schema version of change projects' snapshots.
const CHANGE_PROJECT_SNAPSHOTS: u32 =
    <ChangeProject as jejak_engine::domain::Aggregate>::SNAPSHOT_VERSION;
const NIP: &str = "198703152010011003";
/// The participant's person id.
const PERSON: &str = "0192f5e4-7c1a-7b3e-9d2a-5f0c8e1b2a3d";

fn project_of(cohort_id: &str) -> String {
    jejak_engine::domain::values::ProjectId::for_participant(
        &CohortId::parse(cohort_id).unwrap(),
        &jejak_engine::domain::values::PersonId::parse(PERSON).unwrap(),
    )
    .to_string()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn ctx(n: &mut u32, actor: Actor) -> Context {
    *n += 1;
    Context::new(actor, format!("req-{n}"))
}

/// A change project in its workplace phase, with evidence submitted for
/// both of its short-term milestones and neither approved; snapshots are
/// taken every 3 events.
async fn project_in_workplace_phase(store: &EventStore) -> Engine {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap(),
    ));
    let config = EngineConfig {
        snapshot_every: 3,
        ..EngineConfig::default()
    };
    let engine = Engine::open_with(store.clone(), clock, config)
        .await
        .unwrap();
    let organizer = Actor::new("organizer-1", Role::Organizer);
    let participant = Actor::new(PERSON, Role::Participant);
    let mentor = Actor::new("mentor-1", Role::Mentor);
    let examiner = Actor::new("examiner-1", Role::Examiner);
    let mut n = 0;
    let cohort_id = "pka-2026-1";
    engine
        .execute::<Cohort>(
            cohort_id,
            &ctx(&mut n, organizer.clone()),
            CohortCommand::Open {
                cohort_id: CohortId::parse(cohort_id).unwrap(),
                level: TrainingLevel::Pka,
                provider: "BPSDM Provinsi Banten".into(),
                year: 2026,
                number: 1,
                starts_on: date(2026, 3, 1),
                ends_on: date(2026, 6, 30),
                workflow: None,
                workflow_version: None,
            },
        )
        .await
        .unwrap();
    let person = Participant::new(
        jejak_engine::domain::values::PersonId::parse(PERSON).unwrap(),
        &jejak_engine::domain::values::Nip::parse(NIP).unwrap(),
        "Siti Rahmawati",
        "Kepala Bidang",
        "dpmptsp",
    )
    .unwrap();
    let enrollment =
        Enrollment::new(person, "mentor-1", "coach-1", &["examiner-1".into()]).unwrap();
    engine
        .execute::<Cohort>(
            cohort_id,
            &ctx(&mut n, organizer.clone()),
            CohortCommand::Enrol(enrollment.clone()),
        )
        .await
        .unwrap();
    let cohort = engine
        .get::<Cohort>(cohort_id)
        .await
        .unwrap()
        .unwrap()
        .state;
    let milestone = |id: &str| MilestonePlan {
        id: MilestoneId::parse(id).unwrap(),
        horizon: Horizon::Short,
        title: format!("Tahap {id}"),
        due: date(2026, 5, 15),
        expected_output: "Notulen".into(),
    };
    let project = project_of(cohort_id);
    let steps = [
        (
            participant.clone(),
            P::Propose {
                cohort: cohort.facts.unwrap(),
                enrollment,
                proposal: Proposal {
                    title: "Antrian daring perizinan".into(),
                    change_area: "Pelayanan perizinan".into(),
                    problem: "Antrian panjang".into(),
                    baseline: "3 jam".into(),
                    goals: Goals {
                        short_term: "Antrian daring di satu loket".into(),
                        medium_term: String::new(),
                        long_term: String::new(),
                    },
                    stakeholders: vec![],
                    team: vec![],
                    milestones: vec![milestone("m1"), milestone("m2")],
                },
            },
        ),
        (mentor.clone(), P::AgreeChangeArea),
        (
            mentor.clone(),
            P::ApproveActionPlan {
                note: String::new(),
            },
        ),
        (
            examiner,
            P::RecordProposalSeminar {
                accepted: true,
                notes: String::new(),
            },
        ),
        (organizer, P::StartWorkplacePhase),
    ];
    for (actor, body) in steps {
        engine
            .execute::<ChangeProject>(&project, &ctx(&mut n, actor), body)
            .await
            .unwrap();
    }
    for m in ["m1", "m2"] {
        engine
            .execute::<ChangeProject>(
                &project,
                &ctx(&mut n, participant.clone()),
                P::SubmitEvidence {
                    milestone_id: MilestoneId::parse(m).unwrap(),
                    attachments: vec![
                        Attachment::new(
                            "attachments[0]",
                            &"cd".repeat(32),
                            "https://arsip.example/bukti.pdf",
                            "bukti.pdf",
                            "application/pdf",
                        )
                        .unwrap(),
                    ],
                    note: String::new(),
                },
            )
            .await
            .unwrap();
    }
    engine
}

async fn a_forged_snapshot_is_ignored_and_the_next_decision_comes_from_the_events(db: &TestDb) {
    let store = db.open().await;
    let engine = project_in_workplace_phase(&store).await;
    let project = project_of("pka-2026-1");
    let s = stream_of::<ChangeProject>(&project).unwrap();
    let (snapshot, _) = store
        .read_from_snapshot::<serde_json::Value>(&s, CHANGE_PROJECT_SNAPSHOTS)
        .await
        .unwrap();
    let (version, mut state) = snapshot.expect("a snapshot was taken");
    assert!(store.check_snapshots().await.unwrap().is_empty());

    // Someone with database access marks every milestone approved in it.
    for milestone in state["milestones"].as_object_mut().unwrap().values_mut() {
        milestone["status"] = "approved".into();
    }
    let forged = serde_json::to_string(&state).unwrap().replace('\'', "''");
    db.raw_sql(&format!(
        "UPDATE snapshots SET state = '{forged}' WHERE stream_id = '{}'",
        s.as_str()
    ))
    .await
    .unwrap();

    // The final report needs every short-term milestone approved: the
    // events say they are not, and the events decide.
    let refused = engine
        .execute::<ChangeProject>(
            &project,
            &Context::new(Actor::new(PERSON, Role::Participant), "report"),
            P::SubmitFinalReport {
                summary: "Selesai".into(),
                attachments: vec![],
            },
        )
        .await;
    assert!(
        matches!(refused, Err(CommandError::Domain(_))),
        "{refused:?}"
    );
    assert_eq!(store.bad_snapshots_ignored(), 1, "counted");
    let (loaded, events) = store
        .read_from_snapshot::<serde_json::Value>(&s, CHANGE_PROJECT_SNAPSHOTS)
        .await
        .unwrap();
    assert!(loaded.is_none(), "not used");
    assert_eq!(events.first().map(|e| e.stream_version), Some(1));

    // Verify names it, at the position of the event it claims to follow.
    let position = store
        .read_stream(
            &s,
            jejak_engine::store::Direction::Forward,
            Some(version),
            1,
        )
        .await
        .unwrap()[0]
        .position;
    let bad = store.check_snapshots().await.unwrap();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(
        (
            bad[0].stream_id.as_str(),
            bad[0].stream_version,
            bad[0].position,
            bad[0].fault
        ),
        (s.as_str(), version, position, SnapshotFault::StateChanged)
    );
}

async fn a_snapshot_that_is_not_its_events_is_ignored_and_reported(db: &TestDb) {
    let store = db.open().await;
    let a = stream("a");
    store
        .append(events("a", ExpectedVersion::NoStream, 5))
        .await
        .unwrap();
    store
        .append(events("b", ExpectedVersion::NoStream, 5))
        .await
        .unwrap();
    let save = |version| StoredSnapshot {
        stream_version: version,
        state: "{\"count\":3}".into(),
    };
    // A snapshot names an event of its stream; there is none at version 9.
    let refused = store.save_snapshot(&a, 1, &save(9)).await;
    assert!(
        matches!(refused, Err(StoreError::InvalidInput { .. })),
        "{refused:?}"
    );
    store.save_snapshot(&a, 1, &save(3)).await.unwrap();
    store
        .save_snapshot(&stream("b"), 1, &save(3))
        .await
        .unwrap();
    assert!(store.check_snapshots().await.unwrap().is_empty());

    // Moved to another version, and one copied onto another stream.
    db.raw_sql(
        "UPDATE snapshots SET stream_version = 4 WHERE stream_id = 'a'; \
         UPDATE snapshots SET stream_id = 'c' WHERE stream_id = 'b';",
    )
    .await
    .unwrap();
    store
        .append(events("c", ExpectedVersion::NoStream, 5))
        .await
        .unwrap();
    let (snapshot, events) = store
        .read_from_snapshot::<serde_json::Value>(&a, 1)
        .await
        .unwrap();
    assert_eq!(
        (snapshot, events.len()),
        (None, 5),
        "folded from the events"
    );
    let bad: Vec<(String, u64, u64, SnapshotFault)> = store
        .check_snapshots()
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.stream_id, b.stream_version, b.position, b.fault))
        .collect();
    assert_eq!(
        bad,
        vec![
            ("a".into(), 4, 4, SnapshotFault::NotItsEvent),
            ("c".into(), 3, 13, SnapshotFault::NotItsEvent),
        ]
    );
}

async fn the_chain_is_verified_on_start_from_where_the_last_start_left_off(db: &TestDb) {
    let store = db.open().await;
    store
        .append(events("a", ExpectedVersion::NoStream, 4))
        .await
        .unwrap();
    let first = store.verify_since_last_start().await.unwrap();
    assert!(first.is_intact());
    assert_eq!((first.from, first.to, first.checked), (1, 4, 4));
    assert_eq!(
        store.verified_on_start().await.unwrap(),
        Some(store.digest().await.unwrap())
    );

    store
        .append(events("a", ExpectedVersion::Exact(4), 3))
        .await
        .unwrap();
    let second = store.verify_since_last_start().await.unwrap();
    assert!(second.is_intact());
    assert_eq!(
        (second.from, second.to, second.checked),
        (4, 7, 4),
        "only what came after, from the event verified last"
    );

    // The event the last start verified was changed since.
    db.raw_sql(if db.is_postgres() {
        "ALTER TABLE events DISABLE TRIGGER USER; UPDATE events SET payload = '{}' WHERE position = 7"
    } else {
        "DROP TRIGGER events_no_update; UPDATE events SET payload = '{}' WHERE position = 7"
    })
    .await
    .unwrap();
    let third = store.verify_since_last_start().await.unwrap();
    assert_eq!(
        third.first_break.map(|b| (b.position, b.kind)),
        Some((7, BreakKind::ContentChanged))
    );
    assert_eq!(
        store.verified_on_start().await.unwrap().map(|d| d.position),
        Some(7),
        "a broken chain records nothing"
    );
}

async fn a_server_does_not_start_on_a_changed_log(db: &TestDb) {
    let store = db.open().await;
    store
        .append(events("a", ExpectedVersion::NoStream, 4))
        .await
        .unwrap();
    db.raw_sql(if db.is_postgres() {
        "ALTER TABLE events DISABLE TRIGGER USER; UPDATE events SET payload = '{}' WHERE position = 2"
    } else {
        "DROP TRIGGER events_no_update; UPDATE events SET payload = '{}' WHERE position = 2"
    })
    .await
    .unwrap();
    let keys = Keys::new(b"jejak-test-secret-of-at-least-32-bytes!").unwrap();
    match App::start(store, AppConfig::new(keys)).await {
        Err(ServeError::LogBroken(at)) => {
            assert_eq!((at.position, at.kind), (2, BreakKind::ContentChanged));
        }
        other => panic!("started on a changed log: {other:?}"),
    }
}

async fn a_copy_holds_every_committed_event_and_the_wal_is_emptied_on_request(db: &TestDb) {
    let store = db.open().await;
    for i in 0..3 {
        store
            .append(events(&format!("s{i}"), ExpectedVersion::NoStream, 4))
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy.db");
    let Some(path) = db.sqlite_path() else {
        let refused = store.copy_to(&out).await;
        assert!(
            matches!(refused, Err(StoreError::InvalidInput { .. })),
            "{refused:?}"
        );
        store.checkpoint_wal().await.unwrap();
        return;
    };
    // The people index and a data key: an audit copy carries neither.
    let nip = jejak_engine::domain::values::Nip::parse("198703152010011003").unwrap();
    let person = store.person_for_nip(&nip).await.unwrap();
    db.raw_sql(&format!(
        "INSERT INTO person_keys (person_id, wrapped, created_at) \
         VALUES ('{}', X'6b65792d6f662d7468652d706572736f6e', '2026-01-01T00:00:00Z')",
        person.as_str()
    ))
    .await
    .unwrap();
    // The server is running: its newest commits are in the WAL.
    let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    store.copy_to(&out).await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }
    let copy = EventStore::open(
        &format!("sqlite://{}", out.display()),
        StoreConfig {
            read_only: true,
            ..StoreConfig::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(copy.digest().await.unwrap(), store.digest().await.unwrap());
    assert!(copy.verify(1, None, None).await.unwrap().is_intact());
    assert_eq!(copy.find_person(&nip).await.unwrap(), None);
    let pool = copy.sqlite_pool().unwrap();
    for table in jejak_engine::store::PERSONAL_TABLES {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(rows, 0, "{table} in the copy");
    }
    for secret in [nip.as_str(), person.as_str(), "key-of-the-person"] {
        assert!(
            !jejak_tests::holds(std::slice::from_ref(&out), secret.as_bytes()),
            "{secret} in the copy"
        );
    }
    assert_eq!(store.find_person(&nip).await.unwrap(), Some(person));
    let again = store.copy_to(&out).await;
    assert!(
        matches!(again, Err(StoreError::InvalidInput { .. })),
        "an existing file is not overwritten: {again:?}"
    );

    store.checkpoint_wal().await.unwrap();
    assert_eq!(
        std::fs::metadata(&wal).unwrap().len(),
        0,
        "the file alone holds the log"
    );
}
