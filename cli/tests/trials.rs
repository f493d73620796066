//! Trials: a server under a steady write load, killed with SIGKILL at
//! random moments, on SQLite and on PostgreSQL; and PostgreSQL stopped and
//! started again under load. After each, every acknowledged write is in the
//! log, the chain verifies, and the views equal a rebuild from zero.

mod common;

use std::path::Path;
use std::time::Duration;

use common::Server;
use common::postgres::Cluster;
use common::trial::{Load, check};
use tonic::Code;

const CRASHES: usize = 5;
const CLIENTS: usize = 4;

fn crash_trial(dir: &Path, database_url: Option<&str>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut acked: Vec<(String, u64)> = Vec::new();
    for round in 0..CRASHES {
        let server = Server::start_on(dir, database_url);
        runtime.block_on(check(&server, &acked));
        let brida = server.token("brida_officer", "brida-1");
        let load = runtime.block_on(async {
            let mut load = Load::start(&server.url, &brida, &format!("t{round}"), CLIENTS);
            load.next_success().await;
            load
        });
        // A random moment under load: 150–650 ms into it.
        std::thread::sleep(Duration::from_millis(150 + rand::random::<u64>() % 500));
        server.crash();
        acked.extend(runtime.block_on(load.stop()).acked);
    }
    assert!(
        acked.len() > CRASHES * CLIENTS,
        "the load wrote something each round"
    );
    let server = Server::start_on(dir, database_url);
    runtime.block_on(check(&server, &acked));
}

#[test]
fn acknowledged_writes_survive_sigkill_under_load_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    crash_trial(dir.path(), None);
}

#[test]
fn acknowledged_writes_survive_sigkill_under_load_on_postgres() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    crash_trial(dir.path(), Some(&cluster.url()));
}

#[test]
fn postgres_stopped_under_load_gives_unavailable_then_recovers() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(dir.path(), Some(&cluster.url()));
    let brida = server.token("brida_officer", "brida-1");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let seen = runtime.block_on(async {
        let mut load = Load::start(&server.url, &brida, "pg", CLIENTS);
        load.next_success().await;

        cluster.pg_stop();
        // While the database is down, every call is answered, and with UNAVAILABLE.
        for _ in 0..CLIENTS * 3 {
            let code = load.next_failure().await;
            assert_eq!(code, Code::Unavailable, "a write while PostgreSQL is down");
        }
        cluster.pg_start();
        // The server finds the database again by itself.
        tokio::time::timeout(Duration::from_secs(60), load.next_success())
            .await
            .expect("writes succeed again once PostgreSQL is back");
        // … and keeps writing.
        for _ in 0..CLIENTS * 5 {
            load.next_success().await;
        }
        load.stop().await
    });
    seen.assert_only_unavailable();
    runtime.block_on(check(&server, &seen.acked));
}
