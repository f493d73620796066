//! Appends acknowledged by a process that is then killed with SIGKILL are
//! all in the log when it is reopened, and the chain verifies.

use std::collections::HashMap;
use std::process::Stdio;

use jejak_tests::{TestDb, on_both_backends};
use tokio::io::{AsyncBufReadExt as _, BufReader};

on_both_backends!(acknowledged_appends_survive_sigkill);

const ACKS_BEFORE_KILL: usize = 300;

async fn acknowledged_appends_survive_sigkill(db: &TestDb) {
    // Let the child create the schema, as a server would on first start.
    drop(db.open().await);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_jejak-test-appender"))
        .arg(db.url())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the appender");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked: HashMap<String, u64> = HashMap::new();
    while acked.len() < ACKS_BEFORE_KILL {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the appender is running");
        let mut parts = line.split(' ').skip(1);
        let (request, position) = (parts.next().unwrap(), parts.next().unwrap());
        acked.insert(request.to_owned(), position.parse().unwrap());
    }
    child.start_kill().expect("SIGKILL");
    child.wait().await.unwrap();
    // Acknowledgements already printed before the kill count too.
    while let Ok(Some(line)) = lines.next_line().await {
        let mut parts = line.split(' ').skip(1);
        if let (Some(request), Some(position)) = (parts.next(), parts.next())
            && let Ok(position) = position.parse()
        {
            acked.insert(request.to_owned(), position);
        }
    }

    let store = db.open().await;
    let head = store.digest().await.unwrap().position;
    let log = store.read_all(0, 10_000).await.unwrap();
    assert_eq!(log.len() as u64, head);
    let written: HashMap<String, u64> = log
        .iter()
        .map(|e| (e.decoded_metadata().request_id.unwrap(), e.position))
        .collect();
    for (request, position) in &acked {
        assert_eq!(
            written.get(request),
            Some(position),
            "acknowledged {request} is durable"
        );
    }
    assert!(store.verify(1, None, None).await.unwrap().is_intact());
}
