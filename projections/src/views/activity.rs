//! The activity trail: who did what and when, looked up by actor.
//!
//! It is no projection: every event names its actor in its metadata, and
//! the log keeps an index on it (`events_by_actor`), so the trail is read
//! from the log itself, always current, and costs no rebuild (ADR 0010).

use chrono::{DateTime, Utc};
use jejak_engine::store::RecordedEvent;
use serde::{Deserialize, Serialize};

/// One thing someone did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ActivityRow {
    pub position: u64,
    pub recorded_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_role: String,
    pub stream_id: String,
    pub stream_type: String,
    pub event_type: String,
}

impl ActivityRow {
    /// The row of `event`, when a person acted.
    pub fn of(event: RecordedEvent) -> Option<Self> {
        let metadata = event.decoded_metadata();
        Some(Self {
            position: event.position,
            recorded_at: event.recorded_at,
            actor_id: metadata.actor_id?,
            actor_role: metadata.actor_role.unwrap_or_default(),
            stream_id: event.stream_id.to_string(),
            stream_type: event.stream_type,
            event_type: event.event_type,
        })
    }
}
