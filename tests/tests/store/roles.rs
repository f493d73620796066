//! PostgreSQL least privilege: the server logs in as a role that may read
//! and append, and the database refuses it everything else.

use std::time::Duration;

use jejak_engine::privacy::Scrubbed;
use jejak_engine::store::{
    EventStore, ExpectedVersion, InitDb, StoreConfig, StoredSnapshot, postgres_migrator,
};
use jejak_projections::RunState;
use jejak_server::{App, AppConfig, Keys};
use sqlx::Connection as _;

use super::{events, stream};

const POSTGRES_URL_VAR: &str = "JEJAK_TEST_POSTGRES_URL";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_role_may_read_and_append_but_not_change_the_schema_or_the_history() {
    let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{POSTGRES_URL_VAR} must be set under CI=true: the PostgreSQL tests may not be skipped"
        );
        eprintln!("SKIPPED the server role test on PostgreSQL: set {POSTGRES_URL_VAR} to run it");
        return;
    };
    let suffix = &uuid::Uuid::now_v7().simple().to_string()[20..];
    let init = InitDb::new(
        &format!("jejak_r_{suffix}"),
        &format!("jejak_owner_{suffix}"),
        &format!("jejak_server_{suffix}"),
    )
    .unwrap()
    .with_auditor(&format!("jejak_auditor_{suffix}"))
    .unwrap();
    let auditor = init.auditor.clone().unwrap();
    let views = jejak_projections::postgres_migrator();
    let url = init
        .apply(&admin_url, &[&postgres_migrator(), &views])
        .await
        .unwrap();
    assert_eq!(
        init.apply(&admin_url, &[&postgres_migrator(), &views])
            .await
            .unwrap(),
        url,
        "running it again (after an upgrade) is harmless"
    );

    // The server starts as the server role on the schema its owner migrated,
    // and does what a server does: appends, snapshots, views, checkpoints.
    let store = EventStore::open(&url, StoreConfig::default())
        .await
        .unwrap();
    store
        .append(events("a", ExpectedVersion::NoStream, 3))
        .await
        .unwrap();
    store
        .save_snapshot(
            &stream("a"),
            1,
            &StoredSnapshot {
                stream_version: 2,
                state: "{}".into(),
            },
        )
        .await
        .unwrap();
    store
        .save_snapshot(
            &stream("a"),
            1,
            &StoredSnapshot {
                stream_version: 3,
                state: "{}".into(),
            },
        )
        .await
        .unwrap();
    store.save_checkpoint("reader", 2).await.unwrap();
    store.save_checkpoint("reader", 3).await.unwrap();
    store.save_checkpoint_state("timer", 3, "{}").await.unwrap();
    // The people index: enrolling inserts, erasing deletes.
    let nip = jejak_engine::domain::values::Nip::parse("198703152010011003").unwrap();
    let person = store.person_for_nip(&nip).await.unwrap();
    assert!(store.forget_person(&person).await.unwrap());
    let keys = Keys::new(b"jejak-test-secret-of-at-least-32-bytes!").unwrap();
    let app = App::start(store.clone(), AppConfig::new(keys))
        .await
        .unwrap();
    let head = store.digest().await.unwrap().position;
    let runner = app.views().runner().clone();
    for name in runner.names() {
        let mut status = runner.watch_status(name).unwrap();
        let following = status.wait_for(|s| s.position >= head && s.state == RunState::Following);
        tokio::time::timeout(Duration::from_secs(60), following)
            .await
            .unwrap_or_else(|_| panic!("view {name}: {:?}", runner.statuses()))
            .unwrap();
    }
    runner.rebuild("cohorts").unwrap();

    // The server role erases a person: it may delete the key but not
    // rewrite the table, and says so; the owner then vacuums it.
    let engine = app.engine();
    let person = "0192f5e4-7c1a-7b3e-9d2a-5f0c8e1b2a3d";
    engine
        .privacy()
        .seal(person, "participant", &serde_json::json!({"name": "A"}))
        .await
        .unwrap();
    let operator = jejak_engine::engine::Context::new(
        jejak_engine::domain::Actor::new("op-1", jejak_engine::domain::Role::Admin),
        "erase-p-1",
    );
    let erasure = engine
        .erase_person(&operator, person, "UU 27/2022 Pasal 8")
        .await
        .unwrap();
    assert_eq!(erasure.scrubbed, Scrubbed::VacuumPending);
    // Notifications (ADR 0032): a contact is set and cleared, a message
    // put in the outbox and its delivery recorded.
    let mentor = jejak_engine::domain::Actor::new("mentor-1", jejak_engine::domain::Role::Mentor);
    let contact =
        jejak_engine::notifications::Contact::new("mentor@dinkes.go.id", "", true, &[]).unwrap();
    engine.set_contact(&mentor, &contact).await.unwrap();
    engine.set_contact(&mentor, &contact).await.unwrap();
    let message = jejak_engine::store::NewMessage {
        id: "m-1".into(),
        recipient: "mentor-1".into(),
        recipient_role: "mentor".into(),
        kind: "inbox".into(),
        facts: "{}".into(),
        cause_position: 1,
        created_at: chrono::Utc::now(),
    };
    assert_eq!(store.enqueue(&[message.clone(), message]).await.unwrap(), 1);
    // The deliverer claims under its lease, settles, and prunes.
    let lease = store
        .acquire_lease(
            "outbox-delivery",
            uuid::Uuid::now_v7(),
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap()
        .expect("nobody else holds it");
    let claim = jejak_engine::store::Claim {
        holder: "server-1".into(),
        epoch: lease.token(),
        until: chrono::Utc::now() + chrono::Duration::minutes(5),
    };
    let claimed = store
        .claim_due(chrono::Utc::now(), 10, &claim, Some(&lease))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store
        .settle_messages(
            &["m-1".to_owned()],
            &jejak_engine::store::Settle::Sent {
                at: chrono::Utc::now(),
                delivery_id: "m-1".into(),
                delivered: vec!["email".into()],
            },
            Some(&claim),
            Some(&lease),
        )
        .await
        .unwrap();
    assert_eq!(store.outbox_summary().await.unwrap().sent, 1);
    assert_eq!(
        store
            .prune_sent(chrono::Utc::now() + chrono::Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert!(engine.clear_contact(&mentor).await.unwrap());
    let owner_url = url.replace(&init.server, &init.owner);
    assert_eq!(
        jejak_engine::privacy::vacuum_erased(&url).await.unwrap(),
        Scrubbed::VacuumPending,
        "the server role may not vacuum"
    );
    assert_eq!(
        jejak_engine::privacy::vacuum_erased(&owner_url)
            .await
            .unwrap(),
        Scrubbed::Vacuumed
    );
    app.stop();

    // Everything else is refused by the database itself, triggers or not.
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    for sql in [
        "ALTER TABLE events DISABLE TRIGGER USER",
        "ALTER TABLE requests DISABLE TRIGGER ALL",
        "DROP TRIGGER events_append_only ON events",
        "TRUNCATE events",
        "TRUNCATE requests",
        "UPDATE events SET payload = '{}'",
        "DELETE FROM events",
        "UPDATE requests SET stream_id = 'b'",
        "DELETE FROM requests",
        "DROP TABLE snapshots",
        "CREATE TABLE forged (a int)",
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'forged', true, '\\x00', 0)",
    ] {
        let refused = sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .expect_err(sql)
            .to_string();
        assert!(
            refused.contains("permission denied") || refused.contains("must be owner"),
            "{sql}: {refused}"
        );
    }
    conn.close().await.unwrap();

    // The auditor's login reads the log, not who is behind it: neither the
    // people index nor the data keys; and it writes nothing.
    store.person_for_nip(&nip).await.unwrap();
    let auditor_url = url.replace(&init.server, &auditor);
    let copy = EventStore::open(
        &auditor_url,
        StoreConfig {
            read_only: true,
            ..StoreConfig::default()
        },
    )
    .await
    .unwrap();
    assert!(copy.verify(1, None, None).await.unwrap().is_intact());
    assert_eq!(copy.digest().await.unwrap(), store.digest().await.unwrap());
    assert!(copy.find_person(&nip).await.is_err(), "the people index");
    let mut conn = sqlx::PgConnection::connect(&auditor_url).await.unwrap();
    sqlx::raw_sql("SELECT * FROM events, view_docs LIMIT 1")
        .execute(&mut conn)
        .await
        .unwrap();
    for sql in [
        "SELECT * FROM people",
        "SELECT * FROM person_keys",
        "INSERT INTO people (person_id, nip) VALUES ('p', '1')",
        "INSERT INTO events (stream_id) VALUES ('x')",
        "DELETE FROM snapshots",
    ] {
        let refused = sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .expect_err(sql)
            .to_string();
        assert!(refused.contains("permission denied"), "{sql}: {refused}");
    }
    conn.close().await.unwrap();
    drop(copy);
    drop(store);

    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    for sql in [
        format!("DROP DATABASE {} WITH (FORCE)", init.database),
        format!("DROP ROLE {}", init.server),
        format!("DROP ROLE {auditor}"),
        format!("DROP ROLE {}", init.owner),
    ] {
        sqlx::raw_sql(&sql).execute(&mut admin).await.unwrap();
    }
}
