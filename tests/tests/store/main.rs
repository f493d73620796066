//! The event log's behaviour, on SQLite and on PostgreSQL alike.

mod append;
mod concurrency;
mod durability;
mod integrity;
mod leases;
mod people;
mod privacy;
mod reads;
mod roles;
mod sealed;
mod snapshots;
mod under_the_chain;

use jejak_engine::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent, StreamId};
use serde_json::json;

/// A stream id, which the tests know to be valid.
pub fn stream(id: &str) -> StreamId {
    StreamId::parse(id).expect("a valid stream id")
}

/// An append of `n` numbered events to `id` (stream type `test`).
pub fn events(id: &str, expected: ExpectedVersion, n: usize) -> AppendRequest {
    AppendRequest::new(stream(id), "test", expected)
        .events((0..n).map(|i| NewEvent::new("Happened", json!({ "n": i }))))
}

/// Three events to each of the new streams `{prefix}{i}`, `i` in
/// `streams`, an append each: seals at every third position.
pub async fn append_threes(store: &EventStore, prefix: &str, streams: std::ops::Range<usize>) {
    for i in streams {
        store
            .append(events(
                &format!("{prefix}{i}"),
                ExpectedVersion::NoStream,
                3,
            ))
            .await
            .unwrap();
    }
}
