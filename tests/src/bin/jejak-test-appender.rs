//! Helper for the durability test: appends to the log at the given URL from
//! several tasks and prints `ack REQUEST_ID POSITION` for every append the
//! store acknowledged, until it is killed.

use std::io::Write as _;

use jejak_engine::store::{
    AppendRequest, EventStore, ExpectedVersion, NewEvent, StoreConfig, StreamId,
};

#[tokio::main]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: jejak-test-appender DATABASE_URL");
    let store = EventStore::open(&url, StoreConfig::default())
        .await
        .expect("open the log");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    for task in 0..8 {
        let store = store.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 0u64.. {
                let request_id = format!("child-{task}-{i}");
                let stream = StreamId::parse(format!("durable-{}", i % 5)).expect("stream id");
                let result = store
                    .append(
                        AppendRequest::new(stream, "durability", ExpectedVersion::Any)
                            .event(NewEvent::new(
                                "Appended",
                                serde_json::json!({ "task": task, "i": i }),
                            ))
                            .request_id(request_id.clone()),
                    )
                    .await
                    .expect("append");
                if tx
                    .send(format!("ack {request_id} {}", result.position))
                    .is_err()
                {
                    return;
                }
            }
        });
    }
    drop(tx);
    let mut out = std::io::stdout().lock();
    while let Some(line) = rx.recv().await {
        writeln!(out, "{line}").expect("stdout");
        out.flush().expect("stdout");
    }
}
