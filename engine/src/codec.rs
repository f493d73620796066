//! Events in and out of the log: a domain event's variant becomes the
//! `event_type` column, its fields the payload; old payload versions are
//! upcast on the way out.
//!
//! Domain events are enums tagged by serde's default (external) form, `{"Variant": {fields}}`,
//! so that reading one back goes straight from the payload's text to the
//! variant's fields: an internally tagged enum (`#[serde(tag = "type")]`)
//! is read through a buffer of every field first, at twice the cost.

use serde::Serialize;
use serde::de::value::StrDeserializer;
use serde::de::{DeserializeOwned, DeserializeSeed, EnumAccess, VariantAccess, Visitor};
use serde_json::Value;

use crate::privacy::fields::{self, Keyring, Unready};
use crate::store::{Metadata, NewEvent, RecordedEvent, StreamEvent};

/// The schema version of every event type not named in [`VERSIONS`].
pub const CURRENT_EVENT_VERSION: u32 = 1;

/// The event types whose payload is at a version past 1, with that
/// version. Version 2 of the types carrying attachments gives each
/// attachment its `size` and `asserted` (ADR 0026); a version 1 payload is
/// upcast (size unknown, asserted).
pub const VERSIONS: &[(&str, u32)] = &[
    ("EvidenceSubmitted", 2),
    ("FinalReportSubmitted", 2),
    ("ReplicationRecorded", 2),
    ("EvidenceAdded", 2),
];

/// The payload version events of `event_type` are written at today.
pub fn current_version(event_type: &str) -> u32 {
    VERSIONS
        .iter()
        .find(|(name, _)| *name == event_type)
        .map_or(CURRENT_EVENT_VERSION, |(_, version)| *version)
}

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
    /// A sealed value that could not be opened, when that was the failure.
    pub unready: Option<Unready>,
}

/// Turns a domain event into a log event.
///
/// # Panics
/// Never for the domain's events, enums whose variants have fields.
pub fn encode<E: Serialize>(event: &E, metadata: Metadata) -> NewEvent {
    let (event_type, payload) = match serde_json::to_value(event).expect("domain events serialize")
    {
        Value::Object(map) if map.len() == 1 => map.into_iter().next().expect("one entry"),
        // A variant without fields.
        Value::String(event_type) => (event_type, Value::Object(Default::default())),
        _ => panic!("domain events are enums of serde's default form"),
    };
    let version = current_version(&event_type);
    NewEvent::new(event_type, payload)
        .with_version(version)
        .with_metadata(metadata)
}

/// As [`encode`], sealing the personal fields of the event types that
/// carry them ([`fields::PERSONAL_EVENTS`]) with `keys` (ADR 0022); every
/// other event is encoded as by [`encode`], at no extra cost. A proposal's
/// team and stakeholder names are sealed with the key of the participant
/// the event names, or of `owner` (the stream's participant) when it names
/// none (ADR 0024).
///
/// # Errors
/// [`Unready`]: a person whose key `keys` lacks, or who was erased; a
/// proposal naming people with no participant to seal them for.
///
/// # Panics
/// As [`encode`].
pub fn encode_with<E: Serialize>(
    event: &E,
    metadata: Metadata,
    keys: &dyn Keyring,
    owner: Option<&str>,
) -> Result<NewEvent, Unready> {
    let mut new = encode(event, metadata);
    if fields::carries_personal(&new.event_type) {
        fields::seal_tree(&mut new.payload, keys, owner)?;
    }
    Ok(new)
}

/// What decoding reads of a stored event: its type, payload version and
/// payload, and its position for the error.
pub trait Stored {
    /// The stored event as (position, event type, payload version, payload).
    fn parts(&self) -> (u64, &str, u32, &str);
}

/// Both event types keep these four under the same names.
macro_rules! stored {
    ($($event:ty),*) => {$(
        impl Stored for $event {
            fn parts(&self) -> (u64, &str, u32, &str) {
                (self.position, &self.event_type, self.event_version, &self.payload)
            }
        }
    )*};
}

stored!(RecordedEvent, StreamEvent);

/// Reads a domain event back from the log, upcasting old payload versions.
/// Sealed personal fields read as withheld ([`fields::Withheld`]:
/// [`crate::privacy::ERASED`] in each): for readers that need none of
/// them; [`decode_with`] opens them.
///
/// # Errors
/// [`DecodeError`] when the payload does not fit any known version, or
/// its version is newer than this code knows (never read as an older one).
pub fn decode<E: DeserializeOwned>(event: &impl Stored) -> Result<E, DecodeError> {
    decode_with(event, &fields::Withheld)
}

/// As [`decode`], opening sealed personal fields with `keys` (ADR 0022):
/// an erased person's read as [`crate::privacy::ERASED`]. A payload written
/// before sealing, in plain, reads as it is.
///
/// # Errors
/// [`DecodeError`] when the payload does not fit any known version, or a
/// sealed value cannot be opened with `keys` (its reason names the
/// [`Unready`]; [`unready`] gives it back).
pub fn decode_with<E: DeserializeOwned>(
    event: &impl Stored,
    keys: &dyn Keyring,
) -> Result<E, DecodeError> {
    let (position, event_type, event_version, payload) = event.parts();
    let fail = |reason: String| DecodeError {
        position,
        event_type: event_type.to_owned(),
        event_version,
        reason,
        unready: None,
    };
    let current = current_version(event_type);
    if event_version > current {
        return Err(fail(format!(
            "payload version {event_version} is not one this jejak knows (it reads {event_type} \
             up to version {current}); upgrade jejak to read this log"
        )));
    }
    if event_version == current && !fields::carries_personal(event_type) {
        // Nothing to upcast: the payload text is read once, as the fields
        // of the variant its type names, with no JSON tree in between.
        let mut payload = serde_json::Deserializer::from_str(payload);
        return E::deserialize(Tagged {
            payload: &mut payload,
            tag: event_type,
        })
        .and_then(|decoded| payload.end().map(|()| decoded))
        .map_err(|e| fail(e.to_string()));
    }
    let payload: Value = serde_json::from_str(payload).map_err(|e| fail(e.to_string()))?;
    let mut payload = upcast(event_type, event_version, payload);
    if fields::carries_personal(event_type) {
        fields::open_tree(&mut payload, keys).map_err(|e| DecodeError {
            unready: Some(e.clone()),
            ..fail(e.to_string())
        })?;
    }
    if !payload.is_object() {
        return Err(fail("the payload is not a JSON object".into()));
    }
    let tagged = Value::Object([(event_type.to_owned(), payload)].into_iter().collect());
    serde_json::from_value(tagged).map_err(|e| fail(e.to_string()))
}

/// Brings a payload of an older schema version to the current one, step
/// by step, keyed by event type and version; the log itself is never
/// rewritten.
fn upcast(event_type: &str, version: u32, mut payload: Value) -> Value {
    if version < 2 && current_version(event_type) >= 2 {
        // 1 → 2: every attachment gains its size (unknown) and `asserted`
        // (true: before jejak stored files, every hash was the participant's).
        attachments_v2(&mut payload);
    }
    payload
}

/// Gives every attachment in `value` (an object with `sha256`, `uri`,
/// `name` and `media_type`) the fields of version 2 it lacks.
fn attachments_v2(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_attachment = ["sha256", "uri", "name", "media_type"]
                .iter()
                .all(|k| map.contains_key(*k));
            if is_attachment {
                map.entry("size").or_insert(Value::Null);
                map.entry("asserted").or_insert(Value::Bool(true));
            } else {
                map.values_mut().for_each(attachments_v2);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(attachments_v2),
        _ => {}
    }
}

/// A payload read as the variant its event type names.
struct Tagged<'a, 'de> {
    payload: &'a mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
    tag: &'a str,
}

impl<'de> serde::Deserializer<'de> for Tagged<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> EnumAccess<'de> for Tagged<'_, 'de> {
    type Error = serde_json::Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), Self::Error> {
        let variant = seed.deserialize(StrDeserializer::<Self::Error>::new(self.tag))?;
        Ok((variant, self))
    }
}

impl<'de> VariantAccess<'de> for Tagged<'_, 'de> {
    type Error = serde_json::Error;

    fn unit_variant(self) -> Result<(), Self::Error> {
        // Encoded as an empty payload.
        <serde::de::IgnoredAny as serde::Deserialize>::deserialize(self.payload).map(|_| ())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        seed.deserialize(self.payload)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        serde::Deserializer::deserialize_tuple(self.payload, len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // An object only, as the payload was written: not the array that
        // serde_json would also take for a struct.
        serde::Deserializer::deserialize_map(self.payload, visitor)
    }
}
