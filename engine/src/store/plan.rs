//! Planning one group-commit batch, shared by both backends.
//!
//! The writer reads what the batch needs (the head, the current version of
//! every stream it touches, any request id it repeats) under the append lock,
//! then [`plan`] decides each append in order: a repeated request id answers
//! with the first result, a failed expectation rejects that append alone, and
//! every accepted append gets the next positions, versions and chained hashes.
//! Later appends of a batch see the effect of earlier ones.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::hash::{HashedFields, chain_hash};
use super::{AppendResult, ExpectedVersion, StoreError, StreamId};

/// An event validated and serialized, ready to be written.
#[derive(Debug)]
pub(crate) struct PreparedEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub event_version: u32,
    pub payload: String,
    pub metadata: String,
}

/// One validated append waiting for the writer.
#[derive(Debug)]
pub(crate) struct PreparedAppend {
    pub stream_id: StreamId,
    pub stream_type: String,
    pub expected: ExpectedVersion,
    pub request_id: Option<String>,
    pub events: Vec<PreparedEvent>,
}

/// What an earlier append with a request id wrote.
#[derive(Clone, Debug)]
pub(crate) struct StoredRequest {
    pub stream_id: String,
    pub first_version: u64,
    pub last_version: u64,
    pub first_position: u64,
    pub last_position: u64,
}

/// The state of the log that a batch is decided against.
#[derive(Debug, Default)]
pub(crate) struct BatchContext {
    pub head_position: u64,
    pub head_hash: [u8; 32],
    pub head_recorded_at: Option<DateTime<Utc>>,
    /// stream id → (stream type, current version)
    pub streams: HashMap<String, (String, u64)>,
    pub requests: HashMap<String, StoredRequest>,
}

/// One row of the events table.
#[derive(Debug)]
pub(crate) struct Row<'a> {
    pub position: u64,
    pub event_id: Uuid,
    pub stream_id: &'a str,
    pub stream_type: &'a str,
    pub stream_version: u64,
    pub event_type: &'a str,
    pub event_version: u32,
    pub payload: &'a str,
    pub metadata: &'a str,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// What to write and what to answer.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    pub rows: Vec<Row<'a>>,
    pub requests: Vec<(&'a str, StoredRequest)>,
    pub outcomes: Vec<Result<AppendResult, StoreError>>,
    pub head_position: u64,
}

/// Now, truncated to the microseconds both backends store.
pub(crate) fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

fn check_expected(
    append: &PreparedAppend,
    current: Option<&(String, u64)>,
) -> Result<(), StoreError> {
    if let Some((stream_type, _)) = current
        && *stream_type != append.stream_type
    {
        return Err(StoreError::StreamTypeMismatch {
            stream_id: append.stream_id.clone(),
            actual: stream_type.clone(),
            requested: append.stream_type.clone(),
        });
    }
    let actual = current.map(|(_, v)| *v);
    let ok = match append.expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => actual.is_none(),
        ExpectedVersion::StreamExists => actual.is_some(),
        ExpectedVersion::Exact(v) => actual == Some(v) || (v == 0 && actual.is_none()),
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::WrongExpectedVersion {
            stream_id: append.stream_id.clone(),
            expected: append.expected,
            actual,
        })
    }
}

fn repeated(append: &PreparedAppend, first: &StoredRequest) -> Result<AppendResult, StoreError> {
    if first.stream_id != append.stream_id.as_str() {
        return Err(StoreError::RequestIdReused {
            request_id: append.request_id.clone().unwrap_or_default(),
            first_stream: StreamId::from_stored(first.stream_id.clone()),
        });
    }
    Ok(AppendResult {
        stream_id: append.stream_id.clone(),
        first_version: first.first_version,
        stream_version: first.last_version,
        first_position: first.first_position,
        position: first.last_position,
        duplicate: true,
    })
}

/// Decides every append of a batch against `ctx`.
pub(crate) fn plan(mut ctx: BatchContext, batch: &[PreparedAppend]) -> Plan<'_> {
    let recorded_at = match ctx.head_recorded_at {
        Some(last) => now_micros().max(last),
        None => now_micros(),
    };
    let mut rows = Vec::with_capacity(batch.iter().map(|a| a.events.len()).sum());
    let mut requests = Vec::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut position = ctx.head_position;
    let mut prev_hash = ctx.head_hash;

    for append in batch {
        if let Some(first) = append
            .request_id
            .as_deref()
            .and_then(|id| ctx.requests.get(id))
        {
            outcomes.push(repeated(append, first));
            continue;
        }
        let current = ctx.streams.get(append.stream_id.as_str());
        if let Err(err) = check_expected(append, current) {
            outcomes.push(Err(err));
            continue;
        }
        let first_version = current.map_or(0, |(_, v)| *v) + 1;
        let first_position = position + 1;
        let mut version = first_version - 1;
        for event in &append.events {
            position += 1;
            version += 1;
            let hash = chain_hash(
                &prev_hash,
                &HashedFields {
                    position,
                    event_id: event.event_id,
                    stream_id: append.stream_id.as_str(),
                    stream_type: &append.stream_type,
                    stream_version: version,
                    event_type: &event.event_type,
                    event_version: event.event_version,
                    recorded_at,
                    payload: &event.payload,
                    metadata: &event.metadata,
                },
            );
            rows.push(Row {
                position,
                event_id: event.event_id,
                stream_id: append.stream_id.as_str(),
                stream_type: &append.stream_type,
                stream_version: version,
                event_type: &event.event_type,
                event_version: event.event_version,
                payload: &event.payload,
                metadata: &event.metadata,
                recorded_at,
                prev_hash,
                hash,
            });
            prev_hash = hash;
        }
        ctx.streams.insert(
            append.stream_id.as_str().to_owned(),
            (append.stream_type.clone(), version),
        );
        let stored = StoredRequest {
            stream_id: append.stream_id.as_str().to_owned(),
            first_version,
            last_version: version,
            first_position,
            last_position: position,
        };
        if let Some(id) = append.request_id.as_deref() {
            ctx.requests.insert(id.to_owned(), stored.clone());
            requests.push((id, stored.clone()));
        }
        outcomes.push(Ok(AppendResult {
            stream_id: append.stream_id.clone(),
            first_version,
            stream_version: version,
            first_position,
            position,
            duplicate: false,
        }));
    }
    Plan {
        rows,
        requests,
        outcomes,
        head_position: position,
    }
}
