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
    /// The head's seal, as read with it.
    pub head_seal: super::seal::HeadSeal,
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
    /// The head once the plan is written.
    head: Head,
}

/// The newest event of the log: what the next one chains to.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Head {
    pub position: u64,
    pub hash: [u8; 32],
    pub recorded_at: Option<DateTime<Utc>>,
}

/// Streams the writer remembers at most; past this it starts afresh.
const KNOWN_STREAMS: usize = 4_096;

/// What the writer knows of the log from its own commits: the head it left
/// and the streams it wrote. While nobody else writes, that is the log's
/// state, and a lone append can be decided against it without reading
/// anything first (ADR 0007); [`Guess`] says what the write must check.
#[derive(Debug, Default)]
pub(crate) struct Known {
    head: Option<Head>,
    /// stream id → (stream type, version), valid while `head` is.
    streams: HashMap<String, (String, u64)>,
    /// No guess before then: one failed lately, another process appends
    /// (ADR 0041).
    no_guess_until: Option<std::time::Instant>,
}

/// How long the writer does not guess after a guess found the log moved
/// by another process: each failed guess is a statement spent before the
/// batch's own.
const NO_GUESS_AFTER_A_MISS: std::time::Duration = std::time::Duration::from_secs(1);

/// A lone append decided against [`Known`]: written only if the log's head
/// and the stream are still as assumed, else decided again after reading.
#[derive(Debug)]
pub(crate) struct Guess<'a> {
    pub plan: Plan<'a>,
    /// The head position assumed; `None` for an empty log.
    pub head_position: Option<i64>,
    pub stream_id: &'a str,
    /// The stream's type and version assumed; `None` for a new stream.
    pub stream: Option<(String, i64)>,
}

/// What became of a guessed lone append (ADR 0007); nothing is written
/// unless it is [`Guessed::Written`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Guessed {
    Written,
    /// The log or the stream was not as known (another process appended).
    Moved,
    /// The request id was used before: the log was as known, and the
    /// append is answered from its first result after a read.
    RequestUsed,
}

/// What a checked write on PostgreSQL did: every one of `expected` rows
/// written, or none, held back by its condition or refused by a unique
/// key (the requests' key: a request id used before). Other errors are the
/// database's.
pub(crate) fn checked(
    written: Result<u64, sqlx::Error>,
    expected: usize,
) -> Result<Guessed, StoreError> {
    match written {
        Ok(n) if n == expected as u64 => Ok(Guessed::Written),
        Ok(_) => Ok(Guessed::Moved),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Ok(if e.constraint() == Some("requests_pkey") {
                Guessed::RequestUsed
            } else {
                Guessed::Moved
            })
        }
        Err(e) => Err(e.into()),
    }
}

impl Known {
    /// Knows `head` (read when the log was opened) and no stream.
    pub fn at(head: Head) -> Self {
        Self {
            head: Some(head),
            streams: HashMap::new(),
            no_guess_until: None,
        }
    }

    /// Someone else moved the log past what this writer knows.
    pub fn forget(&mut self) {
        self.head = None;
        self.streams.clear();
    }

    /// A guess found the log not as known (another process appends): the
    /// next batches read the log under the lock without guessing first,
    /// for a while.
    pub fn guess_missed(&mut self) {
        self.forget();
        self.no_guess_until = Some(std::time::Instant::now() + NO_GUESS_AFTER_A_MISS);
    }

    /// The head position known, if any.
    pub fn position(&self) -> Option<u64> {
        self.head.map(|h| h.position)
    }

    /// Decides a batch of one append against what is known, if that is
    /// enough: the head is known, and so is the stream, or the append's
    /// expectation names its version. Only an append that would be written
    /// is guessed; a refusal is always decided against the log as read.
    pub fn guess<'a>(&self, batch: &'a [PreparedAppend]) -> Option<Guess<'a>> {
        let ([append], Some(head)) = (batch, self.head) else {
            return None;
        };
        if self
            .no_guess_until
            .is_some_and(|until| std::time::Instant::now() < until)
        {
            return None;
        }
        let stream = match self.streams.get(append.stream_id.as_str()) {
            Some(known) => Some(known.clone()),
            None => match append.expected {
                ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => None,
                ExpectedVersion::Exact(v) => Some((append.stream_type.clone(), v)),
                ExpectedVersion::Any | ExpectedVersion::StreamExists => return None,
            },
        };
        let ctx = BatchContext {
            head_position: head.position,
            head_hash: head.hash,
            head_recorded_at: head.recorded_at,
            head_seal: super::seal::HeadSeal::default(),
            streams: stream
                .iter()
                .map(|s| (append.stream_id.as_str().to_owned(), s.clone()))
                .collect(),
            requests: HashMap::new(),
        };
        let plan = plan(ctx, batch);
        if !matches!(plan.outcomes[..], [Ok(_)]) {
            return None;
        }
        Some(Guess {
            plan,
            head_position: (head.position > 0).then_some(head.position as i64),
            stream_id: append.stream_id.as_str(),
            stream: stream.map(|(t, v)| (t, v as i64)),
        })
    }

    /// Learns the log's state once `plan` is committed.
    pub fn learn(&mut self, plan: &Plan<'_>) {
        if self.streams.len() > KNOWN_STREAMS {
            self.streams.clear();
        }
        for row in &plan.rows {
            self.streams.insert(
                row.stream_id.to_owned(),
                (row.stream_type.to_owned(), row.stream_version),
            );
        }
        self.head = Some(plan.head);
    }
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
    let head = match rows.last() {
        Some(last) => Head {
            position,
            hash: last.hash,
            recorded_at: Some(last.recorded_at),
        },
        None => Head {
            position,
            hash: ctx.head_hash,
            recorded_at: ctx.head_recorded_at,
        },
    };
    Plan {
        rows,
        requests,
        outcomes,
        head_position: position,
        head,
    }
}
