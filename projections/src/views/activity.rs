//! The activity trail: who did what and when, looked up by actor. (Per
//! stream, the log itself answers: every event carries its actor.)

use chrono::{DateTime, Utc};
use jejak_engine::store::RecordedEvent;
use serde::{Deserialize, Serialize};

use crate::projection::{Docs, Projection, ProjectionError};

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

/// The activity projection: one document per event with an actor, tagged
/// with the actor's id.
#[derive(Clone, Copy, Debug, Default)]
pub struct Activity;

/// The document key of a position: zero-padded so keys sort like positions.
pub fn activity_key(position: u64) -> String {
    format!("{position:020}")
}

impl Projection for Activity {
    const NAME: &'static str = "activity";
    type Doc = ActivityRow;

    fn keys(&self, _: &RecordedEvent) -> Vec<String> {
        // Every document is new; nothing needs loading.
        vec![]
    }

    fn apply(
        &self,
        event: &RecordedEvent,
        docs: &mut Docs<ActivityRow>,
    ) -> Result<(), ProjectionError> {
        let metadata = event.decoded_metadata();
        let Some(actor_id) = metadata.actor_id else {
            return Ok(());
        };
        let row = ActivityRow {
            position: event.position,
            recorded_at: event.recorded_at,
            actor_id: actor_id.clone(),
            actor_role: metadata.actor_role.unwrap_or_default(),
            stream_id: event.stream_id.to_string(),
            stream_type: event.stream_type.clone(),
            event_type: event.event_type.clone(),
        };
        docs.put(activity_key(event.position), row, Some(actor_id));
        Ok(())
    }
}
