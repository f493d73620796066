//! Events in and out of the log: the enum's serde tag becomes the
//! `event_type` column, the rest the payload; old payload versions are
//! upcast on the way out.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::store::{Metadata, NewEvent, RecordedEvent};

/// The schema version every event is written at today.
pub const CURRENT_EVENT_VERSION: u32 = 1;

/// Why a stored event could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("event at position {position} ({event_type} v{event_version}) cannot be read: {reason}")]
pub struct DecodeError {
    /// Its position.
    pub position: u64,
    /// Its type.
    pub event_type: String,
    /// Its payload version.
    pub event_version: u32,
    /// What failed.
    pub reason: String,
}

/// Turns a domain event into a log event.
///
/// # Panics
/// Never for the domain's events, which always serialize to a tagged object.
pub fn encode<E: Serialize>(event: &E, metadata: Metadata) -> NewEvent {
    let value = serde_json::to_value(event).expect("domain events serialize");
    let Value::Object(mut map) = value else {
        panic!("domain events are tagged objects");
    };
    let event_type = match map.remove("type") {
        Some(Value::String(t)) => t,
        _ => panic!("domain events carry a type tag"),
    };
    NewEvent::new(event_type, Value::Object(map))
        .with_version(CURRENT_EVENT_VERSION)
        .with_metadata(metadata)
}

/// Reads a domain event back from the log, upcasting old payload versions.
///
/// # Errors
/// [`DecodeError`] when the payload does not fit any known version.
pub fn decode<E: DeserializeOwned>(event: &RecordedEvent) -> Result<E, DecodeError> {
    let fail = |reason: String| DecodeError {
        position: event.position,
        event_type: event.event_type.clone(),
        event_version: event.event_version,
        reason,
    };
    let payload: Value = serde_json::from_str(&event.payload).map_err(|e| fail(e.to_string()))?;
    let Value::Object(mut map) = upcast(&event.event_type, event.event_version, payload) else {
        return Err(fail("the payload is not a JSON object".into()));
    };
    map.insert("type".into(), Value::String(event.event_type.clone()));
    serde_json::from_value(Value::Object(map)).map_err(|e| fail(e.to_string()))
}

/// Brings a payload of an older schema version to the current one. Every
/// event is at version 1 today; a later version adds its step here, keyed
/// by event type and version, and the log itself is never rewritten.
fn upcast(_event_type: &str, _version: u32, payload: Value) -> Value {
    payload
}
