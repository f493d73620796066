//! `jejak demo` writes the city as a history (ADR 0030): it says where it
//! writes, every command it writes is backdated over the 18 months before
//! today (the log records each now), some milestones are overdue, time
//! travel by effective time sees the past, and a second run writes
//! nothing. On SQLite and, under CI, on PostgreSQL. Given a running
//! server, it writes the same city through the server's RPCs, each in the
//! name of the role that would do it.

mod common;

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Months, Utc};
use jejak_engine::store::{EventStore, RecordedEvent, StoreConfig};

use common::{BIN, Server};

fn demo(dir: &Path, database_url: &str) -> String {
    succeeds(
        Command::new(BIN)
            .args(["demo", "--data-dir"])
            .arg(dir)
            .args(["--database-url", database_url])
            .env_remove("JEJAK_SERVER"),
    )
}

/// Runs `jejak demo` as `command` says; what it printed.
fn succeeds(command: &mut Command) -> String {
    let out = command.env_remove("JEJAK_CONFIG").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn log(url: &str) -> Vec<RecordedEvent> {
    let store = EventStore::open(url, StoreConfig::default()).await.unwrap();
    let mut events = Vec::new();
    loop {
        let batch = store.read_all(events.len() as u64, 10_000).await.unwrap();
        if batch.is_empty() {
            break;
        }
        events.extend(batch);
    }
    events
}

fn state_at(dir: &Path, url: &str, cohort: &str, at: DateTime<Utc>, effective: bool) -> u64 {
    let at = at.to_rfc3339();
    let mut args = vec![
        "audit", "--db", url, "state-at", "--kind", "cohort", cohort, "--at", &at, "--json",
    ];
    if effective {
        args.push("--effective");
    }
    let out = Command::new(BIN)
        .args(&args)
        .current_dir(dir)
        .env_remove("JEJAK_SERVER")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["version"].as_u64().unwrap_or_else(|| panic!("{json}"))
}

async fn the_demo_writes_a_history(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let started = Utc::now();
    let first = demo(dir.path(), url);
    assert!(
        first.contains(&format!(
            "writing into the data folder {}",
            dir.path().display()
        )),
        "{first}"
    );

    assert!(
        first.contains(", 0 refused"),
        "every step decided on its day: {first}"
    );
    let events = log(url).await;
    let backdated: Vec<_> = events
        .iter()
        .filter(|e| e.decoded_metadata().occurred_at.is_some())
        .collect();
    assert!(
        backdated.len() > 1_000,
        "the city is written as a history: {} of {} events backdated",
        backdated.len(),
        events.len()
    );
    for event in &backdated {
        assert!(
            event.recorded_at >= started - chrono::Duration::seconds(5),
            "the log's own time is never backdated"
        );
        assert!(event.occurred_at() < event.recorded_at);
    }
    // Those the process managers registered (adoptions, replicas) happened
    // when their causes did.
    assert!(
        events
            .iter()
            .filter(|e| e.event_type == "InnovationRegistered")
            .all(|e| e.decoded_metadata().occurred_at.is_some())
    );
    let earliest = backdated.iter().map(|e| e.occurred_at()).min().unwrap();
    let latest = backdated.iter().map(|e| e.occurred_at()).max().unwrap();
    let eighteen = started.checked_sub_months(Months::new(18)).unwrap();
    assert!(
        (earliest - eighteen).num_days().abs() <= 2,
        "it begins 18 months ago: {earliest}"
    );
    assert!(
        started - latest < chrono::Duration::days(30),
        "and reaches this month: {latest}"
    );
    let overdue = events
        .iter()
        .filter(|e| e.event_type == "MilestoneOverdue")
        .count();
    assert!(
        overdue > 0,
        "some milestones of the running cohort are overdue"
    );

    // Time travel: by the log's time the first cohort did not exist a year
    // ago; by when things happened it had opened and enrolled.
    let cohort = events
        .iter()
        .find(|e| e.event_type == "CohortOpened")
        .map(|e| {
            e.stream_id
                .as_str()
                .trim_start_matches("cohort-")
                .to_owned()
        })
        .unwrap();
    let a_year_ago = started.checked_sub_months(Months::new(12)).unwrap();
    assert_eq!(state_at(dir.path(), url, &cohort, a_year_ago, false), 0);
    assert!(state_at(dir.path(), url, &cohort, a_year_ago, true) > 1);

    // Again: nothing new.
    let second = demo(dir.path(), url);
    assert!(second.contains(" 0 commands written"), "{second}");
    assert_eq!(log(url).await.len(), events.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_writes_a_history_of_18_months_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("jejak.db").display());
    the_demo_writes_a_history(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_writes_a_history_of_18_months_on_postgres() {
    let Some(db) = jejak_tests::TestDb::postgres("demo_history").await else {
        return;
    };
    the_demo_writes_a_history(db.url()).await;
    db.cleanup().await;
}

/// How many events of each type `events` holds that people's commands
/// wrote (not jejak's own process managers, whose work a server does as it
/// follows the log), lifecycle moves aside.
fn written_by_people(events: &[RecordedEvent]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for event in events {
        if event.decoded_metadata().actor_role.as_deref() != Some("system")
            // Which of two writers moves an innovation to `replicated`, the
            // officer recording a replication or the process manager
            // following its project's, depends on when a server's process
            // managers run; the state they reach is the same.
            && event.event_type != "StateChanged"
        {
            *counts.entry(event.event_type.clone()).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_writes_through_a_running_server_in_each_roles_name() {
    let server = Server::start();
    let run = || succeeds(&mut server.jejak(None, &["demo"]));
    let first = run();
    assert!(
        first.contains(&format!("writing through the server at {}", server.url)),
        "{first}"
    );
    assert!(first.contains(", 0 refused"), "{first}");
    let again = run();
    assert!(again.contains(" 0 commands written"), "{again}");

    let dir = server.stop().unwrap();
    let events = log(&format!(
        "sqlite://{}",
        dir.path().join("data/jejak.db").display()
    ))
    .await;

    // Each command was the RPC of its role, decided by the server.
    let by = |event_type: &str| {
        events
            .iter()
            .filter(|e| e.event_type == event_type)
            .map(|e| e.decoded_metadata().actor_role.unwrap_or_default())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(by("ParticipantEnrolled"), ["organizer".to_owned()].into());
    assert_eq!(by("ProjectProposed"), ["participant".to_owned()].into());
    assert_eq!(by("MilestoneApproved"), ["mentor".to_owned()].into());
    assert_eq!(by("PilotStarted"), ["brida_officer".to_owned()].into());
    // Backdated as in process, the log's own time untouched.
    let backdated = events
        .iter()
        .filter(|e| e.decoded_metadata().occurred_at.is_some())
        .count();
    assert!(backdated > 1_000, "{backdated} of {} events", events.len());
    // The innovations of the adopted projects were registered by the
    // server's process managers, dated when their adoption happened.
    let adoptions = events
        .iter()
        .filter(|e| e.event_type == "AdoptionEndorsed")
        .count();
    let registered_from_projects = events
        .iter()
        .filter(|e| e.event_type == "InnovationRegistered")
        .filter(|e| {
            e.decode_payload::<serde_json::Value>()
                .is_ok_and(|p| p["origin"].get("change_project").is_some())
        })
        .count();
    assert!(adoptions > 0);
    assert_eq!(registered_from_projects, adoptions);

    // The same city as the demo writes in process: the same commands.
    let local = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", local.path().join("jejak.db").display());
    demo(local.path(), &url);
    assert_eq!(
        written_by_people(&events),
        written_by_people(&log(&url).await)
    );
}
