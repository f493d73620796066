//! Personal data sealed per person and erased with the chain intact
//! (ADR 0021), on both backends.

use jejak_engine::domain::{Actor, DomainError, Role};
use jejak_engine::engine::{CommandError, Context, Engine, EngineConfig};
use jejak_engine::privacy::{MasterKey, Opened, PRIVACY_STREAM, PrivacyEvent, Scrubbed, Sealed};
use jejak_engine::store::{AppendRequest, ExpectedVersion, NewEvent};
use jejak_tests::{TestDb, on_both_backends};
use serde_json::json;

use super::stream;

on_both_backends!(
    sealed_fields_open_only_for_their_person_and_purpose,
    an_erased_person_reads_as_erased_and_the_chain_still_verifies,
    only_an_operator_erases_and_only_once,
    an_erased_key_is_in_no_database_file,
);

async fn engine(db: &TestDb) -> Engine {
    engine_with(db, MasterKey::generate()).await
}

fn operator(request: &str) -> Context {
    Context::new(Actor::new("op-1", Role::Admin), request)
}

const NIP: &str = "198701012010011001";
const NAME: &str = "Siti Rahmawati Kusumadewi";

fn person() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Appends one event whose payload holds the person's sealed fields.
async fn record(engine: &Engine, person: &str) -> Sealed {
    let sealed = engine
        .privacy()
        .seal(person, "participant", &json!({"nip": NIP, "name": NAME}))
        .await
        .unwrap();
    engine
        .store()
        .append(
            AppendRequest::new(stream("people-test"), "test", ExpectedVersion::Any)
                .event(NewEvent::new("Joined", json!({ "participant": sealed }))),
        )
        .await
        .unwrap();
    sealed
}

async fn sealed_fields_open_only_for_their_person_and_purpose(db: &TestDb) {
    let engine = engine(db).await;
    let (a, b) = (person(), person());
    let sealed = record(&engine, &a).await;
    let text = serde_json::to_string(&sealed).unwrap();
    assert!(!text.contains(NIP) && !text.contains("Siti"), "{text}");
    assert_eq!(
        engine.privacy().open(&sealed, "participant").await.unwrap(),
        Opened::Fields(json!({"nip": NIP, "name": NAME}))
    );
    // Sealed twice, the same fields give other bytes (a random nonce).
    let again = engine
        .privacy()
        .seal(&a, "participant", &json!({"nip": NIP, "name": NAME}))
        .await
        .unwrap();
    assert_ne!(again.sealed, sealed.sealed);
    // Another purpose, or the value moved to another person, does not open.
    assert!(engine.privacy().open(&sealed, "mentor").await.is_err());
    engine
        .privacy()
        .seal(&b, "participant", &json!({}))
        .await
        .unwrap();
    let moved = Sealed {
        person: b.clone(),
        ..sealed.clone()
    };
    assert!(engine.privacy().open(&moved, "participant").await.is_err());
    // A second engine with the same master key opens it (the key is in the
    // table, not only in memory); one with another master key refuses.
    let same = engine_with(db, engine.config().master_key.clone().unwrap()).await;
    assert!(matches!(
        same.privacy().open(&sealed, "participant").await.unwrap(),
        Opened::Fields(_)
    ));
    let other = engine_with(db, MasterKey::generate()).await;
    let err = other
        .privacy()
        .open(&sealed, "participant")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("master key"), "{err}");
}

async fn engine_with(db: &TestDb, master: MasterKey) -> Engine {
    Engine::open_with(
        db.open().await,
        std::sync::Arc::new(jejak_engine::clock::SystemClock),
        EngineConfig {
            master_key: Some(master),
            ..EngineConfig::default()
        },
    )
    .await
    .unwrap()
}

async fn an_erased_person_reads_as_erased_and_the_chain_still_verifies(db: &TestDb) {
    let engine = engine(db).await;
    let (gone, kept) = (person(), person());
    let sealed = record(&engine, &gone).await;
    let other = record(&engine, &kept).await;
    let before = engine.store().digest().await.unwrap();
    // Another server sharing the log, which has the key cached.
    let other_server = engine_with(db, engine.config().master_key.clone().unwrap()).await;
    assert!(matches!(
        other_server
            .privacy()
            .open(&sealed, "participant")
            .await
            .unwrap(),
        Opened::Fields(_)
    ));

    let erasure = engine
        .erase_person(
            &operator("erase-1"),
            &gone,
            "UU 27/2022 Pasal 8: request of 2026-11-02",
        )
        .await
        .unwrap();
    assert_eq!(erasure.outcome.events, ["PersonErased"]);
    assert_ne!(
        erasure.scrubbed,
        Scrubbed::VacuumPending,
        "the test login owns the table"
    );

    assert_eq!(
        engine.privacy().open(&sealed, "participant").await.unwrap(),
        Opened::Erased
    );
    assert_eq!(
        Opened::Erased.text("name").as_deref(),
        Some(jejak_engine::privacy::ERASED)
    );
    assert!(matches!(
        engine.privacy().open(&other, "participant").await.unwrap(),
        Opened::Fields(_)
    ));
    // The other server learns of it from the log (servers follow it every
    // second) and opens nothing of the person from then on.
    assert_eq!(other_server.follow_erasures(0).await.unwrap(), 1);
    assert_eq!(other_server.follow_erasures(1).await.unwrap(), 1);
    assert_eq!(
        other_server
            .privacy()
            .open(&sealed, "participant")
            .await
            .unwrap(),
        Opened::Erased
    );
    // Another process (a fresh engine, nothing cached) sees it erased too.
    let fresh = engine_with(db, engine.config().master_key.clone().unwrap()).await;
    assert_eq!(
        fresh.privacy().open(&sealed, "participant").await.unwrap(),
        Opened::Erased
    );
    // Nothing personal is sealed for them again.
    let again = engine
        .privacy()
        .seal(&gone, "participant", &json!({"name": NAME}))
        .await
        .unwrap_err();
    assert!(again.to_string().contains("was erased"), "{again}");

    // The history keeps its bytes: every hash and seal verifies, and the
    // events before the erasure are unchanged.
    // (and the log still leads to the digest taken before the erasure).
    let report = engine.store().verify(1, None, Some(before)).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    let events = engine
        .store()
        .read_stream_to_end(&stream("people-test"))
        .await
        .unwrap();
    assert!(events[0].payload.contains(&sealed.sealed));

    // The erasure is an event naming who, when and why, never the data.
    let recorded = engine
        .store()
        .read_stream_to_end(&stream(PRIVACY_STREAM))
        .await
        .unwrap();
    let [event] = &recorded[..] else {
        panic!("one erasure event: {recorded:?}")
    };
    assert_eq!(event.event_type, "PersonErased");
    let decoded: PrivacyEvent = jejak_engine::codec::decode(event).unwrap();
    assert_eq!(
        decoded,
        PrivacyEvent::PersonErased {
            person: gone.clone(),
            basis: "UU 27/2022 Pasal 8: request of 2026-11-02".into()
        }
    );
    assert!(event.metadata.contains("op-1"));
    assert!(!event.payload.contains(NIP) && !event.payload.contains("Siti"));
}

async fn only_an_operator_erases_and_only_once(db: &TestDb) {
    let engine = engine(db).await;
    let gone = person();
    record(&engine, &gone).await;
    let as_mentor = Context::new(Actor::new("m-1", Role::Mentor), "erase-m");
    assert!(matches!(
        engine.erase_person(&as_mentor, &gone, "because").await,
        Err(CommandError::Domain(DomainError::Forbidden(_)))
    ));
    let err = engine
        .erase_person(&operator("erase-0"), &gone, "  ")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("basis"), "{err}");
    let err = engine
        .erase_person(&operator("erase-x"), &person(), "UU 27/2022")
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::Domain(DomainError::NotFound { .. })),
        "{err}"
    );
    engine
        .erase_person(&operator("erase-1"), &gone, "UU 27/2022")
        .await
        .unwrap();
    // The same request again is answered as a repeat; a new one is refused.
    let repeat = engine
        .erase_person(&operator("erase-1"), &gone, "UU 27/2022")
        .await
        .unwrap();
    assert!(repeat.outcome.duplicate);
    // The same request id naming another person is refused, not repeated.
    let other = person();
    record(&engine, &other).await;
    assert!(matches!(
        engine
            .erase_person(&operator("erase-1"), &other, "UU 27/2022")
            .await,
        Err(CommandError::RequestIdReused { .. })
    ));
    assert!(matches!(
        engine
            .privacy()
            .open(&record(&engine, &other).await, "participant")
            .await,
        Ok(Opened::Fields(_))
    ));
    let err = engine
        .erase_person(&operator("erase-2"), &gone, "UU 27/2022")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("erased already"), "{err}");
}

/// Every file that holds the table `person_keys`: the SQLite file and its
/// write-ahead log, or the table's files under PostgreSQL's data folder
/// (`pg_relation_filepath`, read as the superuser the tests log in as).
async fn table_files(db: &TestDb) -> Option<Vec<std::path::PathBuf>> {
    jejak_tests::files_of(db, &["person_keys"]).await
}

async fn wrapped_key(db: &TestDb, person: &str) -> Vec<u8> {
    use sqlx::Connection as _;
    if db.is_postgres() {
        let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
        sqlx::query_scalar("SELECT wrapped FROM person_keys WHERE person_id = $1")
            .bind(person)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
        sqlx::query_scalar("SELECT wrapped FROM person_keys WHERE person_id = ?")
            .bind(person)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }
}

async fn an_erased_key_is_in_no_database_file(db: &TestDb) {
    let engine = engine(db).await;
    // The person is found by NIP through the people index.
    let nip = jejak_engine::domain::values::Nip::parse(NIP).unwrap();
    let gone = engine
        .store()
        .person_for_nip(&nip)
        .await
        .unwrap()
        .to_string();
    let kept = person();
    record(&engine, &kept).await;
    record(&engine, &gone).await;
    let (gone_key, kept_key) = (wrapped_key(db, &gone).await, wrapped_key(db, &kept).await);
    let Some(files) = table_files(db).await else {
        return;
    };
    assert!(
        jejak_tests::holds(&files, &gone_key),
        "the key is in the files before"
    );
    let erasure = engine
        .erase_person(&operator("erase-1"), &gone, "UU 27/2022")
        .await
        .unwrap();
    assert_eq!(
        erasure.scrubbed,
        if db.is_postgres() {
            Scrubbed::Vacuumed
        } else {
            Scrubbed::Overwritten
        }
    );
    let files = table_files(db).await.unwrap();
    assert!(
        !jejak_tests::holds(&files, &gone_key),
        "the erased key's bytes are left in {files:?}"
    );
    assert!(
        jejak_tests::holds(&files, &kept_key),
        "the other person's key is kept"
    );
    // Their NIP and name are nowhere in the files: not in the index, the
    // keys or the log (whose payloads hold them sealed).
    assert_eq!(engine.store().find_person(&nip).await.unwrap(), None);
    let files = jejak_tests::files_of(db, &["people", "person_keys", "events"])
        .await
        .unwrap();
    for secret in [NIP, NAME] {
        assert!(
            !jejak_tests::holds(&files, secret.as_bytes()),
            "{secret} is in {files:?}"
        );
    }
}
