//! Events in and out of the log: the enum's serde tag becomes the
//! `event_type` column, the rest the payload; old payload versions are
//! upcast on the way out.

use serde::Serialize;
use serde::de::value::StrDeserializer;
use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
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
    if event.event_version == CURRENT_EVENT_VERSION {
        // Nothing to upcast: the payload text is read once, its type tag
        // handed in first, with no JSON tree built in between.
        let mut payload = serde_json::Deserializer::from_str(&event.payload);
        return E::deserialize(Tagged {
            payload: &mut payload,
            tag: &event.event_type,
        })
        .and_then(|decoded| payload.end().map(|()| decoded))
        .map_err(|e| fail(e.to_string()));
    }
    let payload: Value = serde_json::from_str(&event.payload).map_err(|e| fail(e.to_string()))?;
    let Value::Object(mut map) = upcast(&event.event_type, event.event_version, payload) else {
        return Err(fail("the payload is not a JSON object".into()));
    };
    if map.contains_key("type") {
        // As on the path above: the type is the event's own column.
        return Err(fail("duplicate field `type`".into()));
    }
    map.insert("type".into(), Value::String(event.event_type.clone()));
    serde_json::from_value(Value::Object(map)).map_err(|e| fail(e.to_string()))
}

/// Brings a payload of an older schema version to the current one. Every
/// event is at version 1 today; a later version adds its step here, keyed
/// by event type and version, and the log itself is never rewritten.
fn upcast(_event_type: &str, _version: u32, payload: Value) -> Value {
    payload
}

/// A payload read as the tagged object it was encoded from: `type` (the
/// event type) first, then the payload's own fields.
struct Tagged<'a, 'de> {
    payload: &'a mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
    tag: &'a str,
}

impl<'de> serde::Deserializer<'de> for Tagged<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        serde::Deserializer::deserialize_map(
            self.payload,
            WithTag {
                tag: self.tag,
                visitor,
            },
        )
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct WithTag<'a, V> {
    tag: &'a str,
    visitor: V,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for WithTag<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the payload, a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(TagFirst {
            tag: Some(self.tag),
            value: None,
            map,
        })
    }
}

struct TagFirst<'a, A> {
    /// The tag's key is still to come.
    tag: Option<&'a str>,
    /// The tag's value is next.
    value: Option<&'a str>,
    map: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for TagFirst<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.tag.take() {
            Some(tag) => {
                self.value = Some(tag);
                seed.deserialize(StrDeserializer::new("type")).map(Some)
            }
            None => self.map.next_key_seed(seed),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        match self.value.take() {
            Some(tag) => seed.deserialize(StrDeserializer::new(tag)),
            None => self.map.next_value_seed(seed),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.map
            .size_hint()
            .map(|n| n + usize::from(self.tag.is_some()))
    }
}
