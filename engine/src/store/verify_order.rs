//! What `verify` checks beside the hash chain, which needs no digest: the
//! order the log promises. A rewrite that recomputed every hash after it
//! still has to keep these, and usually does not.
//!
//! - `recorded_at` never decreases along positions (one writer, under the
//!   append lock, stamps each batch no earlier than the head);
//! - each stream's versions run 1, 2, 3 … in log order, without a hole;
//! - every request record points at events of its own stream: its first and
//!   last position hold that stream's first and last version it wrote.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::verify::Link;
use super::{Backend, BreakKind, EventStore, RecordedEvent, StoreError};

/// The order of the events walked so far.
pub(crate) struct Order {
    /// `recorded_at` of the event before.
    last_time: Option<DateTime<Utc>>,
    /// Each stream's version at the event before.
    versions: HashMap<String, u64>,
    /// Whether the walk began at position 1, so that a stream first met
    /// must begin at version 1 (a walk that begins later knows nothing of
    /// the versions before it).
    from_start: bool,
}

impl Order {
    /// A walk that begins at position `from`.
    pub(crate) fn new(from: u64) -> Self {
        Self {
            last_time: None,
            versions: HashMap::new(),
            from_start: from <= 1,
        }
    }

    /// The event just before the walk's first position.
    pub(crate) fn start_after(&mut self, event: &RecordedEvent) {
        self.last_time = Some(event.recorded_at);
    }

    /// How `event`, the next in the walk, breaks the order, if it does.
    pub(crate) fn check(&mut self, event: &Link) -> Option<BreakKind> {
        if self.last_time.is_some_and(|t| event.recorded_at < t) {
            return Some(BreakKind::TimeWentBack);
        }
        self.last_time = Some(event.recorded_at);
        let stream = event.stream_id.as_str();
        match self.versions.get_mut(stream) {
            Some(version) => {
                if event.stream_version != *version + 1 {
                    return Some(BreakKind::VersionOutOfOrder);
                }
                *version = event.stream_version;
            }
            None => {
                if self.from_start && event.stream_version != 1 {
                    return Some(BreakKind::VersionOutOfOrder);
                }
                self.versions
                    .insert(stream.to_owned(), event.stream_version);
            }
        }
        None
    }
}

/// The first position in `from..=to` named by a request record that does not
/// point at events of its own stream (at the versions it records).
const UNMATCHED_REQUEST: &str = "SELECT MIN(r.first_position) FROM requests r \
     WHERE r.first_position >= $1 AND r.first_position <= $2 \
     AND NOT (EXISTS (SELECT 1 FROM events e WHERE e.position = r.first_position \
             AND e.stream_id = r.stream_id AND e.stream_version = r.first_version) \
         AND EXISTS (SELECT 1 FROM events e WHERE e.position = r.last_position \
             AND e.stream_id = r.stream_id AND e.stream_version = r.last_version))";

impl EventStore {
    /// The first position in `from..=to` that a request record names but
    /// that does not hold the event of its stream it records.
    pub(crate) async fn first_unmatched_request(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Option<u64>, StoreError> {
        let (from, to) = (
            i64::try_from(from).unwrap_or(i64::MAX),
            i64::try_from(to).unwrap_or(i64::MAX),
        );
        let position: Option<i64> = match &self.inner.backend {
            Backend::Sqlite(s) => {
                sqlx::query_scalar(&UNMATCHED_REQUEST.replace('$', "?"))
                    .bind(from)
                    .bind(to)
                    .fetch_one(&s.pool)
                    .await?
            }
            Backend::Postgres(p) => {
                sqlx::query_scalar(UNMATCHED_REQUEST)
                    .bind(from)
                    .bind(to)
                    .fetch_one(&p.pool)
                    .await?
            }
        };
        Ok(position.map(|p| p as u64))
    }
}
