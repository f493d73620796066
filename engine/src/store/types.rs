//! Values that cross the store's API: stream ids, expectations, events as
//! written and as recorded, append results and digests.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StoreError;

/// Longest stream id the store accepts, in bytes.
pub const MAX_STREAM_ID_LEN: usize = 200;
/// Longest stream type, event type, request id or actor field, in bytes.
pub const MAX_NAME_LEN: usize = 200;

/// The id of one stream (one aggregate instance), e.g.
/// `change-project-0193…`. Never empty, at most [`MAX_STREAM_ID_LEN`]
/// bytes, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct StreamId(String);

impl StreamId {
    /// Validates a stream id.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] naming `stream_id` when it is empty,
    /// longer than [`MAX_STREAM_ID_LEN`] bytes, or holds control characters.
    pub fn parse(value: impl Into<String>) -> Result<Self, StoreError> {
        let value = value.into();
        check_name("stream_id", &value, MAX_STREAM_ID_LEN)?;
        Ok(Self(value))
    }

    /// A stream id read back from the log, taken as it is stored.
    pub(crate) fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(raw).map_err(serde::de::Error::custom)
    }
}

/// Checks a short identifier-like text field: non-empty, bounded, printable.
pub(crate) fn check_name(field: &'static str, value: &str, max: usize) -> Result<(), StoreError> {
    if value.trim().is_empty() {
        return Err(StoreError::invalid(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(StoreError::invalid(
            field,
            format!("is {} bytes long; the limit is {max}", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            field,
            "must not contain control characters (newlines, tabs, NUL …)",
        ));
    }
    Ok(())
}

/// What an append expects of its stream before it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// No expectation: append whatever the stream holds.
    Any,
    /// The stream must not exist yet (its first event is being written).
    NoStream,
    /// The stream must exist, at any version.
    StreamExists,
    /// The stream must be at exactly this version (1 = one event).
    Exact(u64),
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any version"),
            Self::NoStream => f.write_str("no stream yet"),
            Self::StreamExists => f.write_str("an existing stream"),
            Self::Exact(v) => write!(f, "version {v}"),
        }
    }
}

/// Who caused an event and why: stored as the event's `metadata` JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Id of the acting person (user id or NIP), when a person acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// The role in which they acted (`participant`, `mentor`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_role: Option<String>,
    /// Groups every event caused by one user action across streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The event or command that caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// The request id of the command that wrote the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The fingerprint of that command (a hash of its kind and arguments),
    /// so that a request id repeated with another command is told apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// When the fact happened, for a command explicitly backdated (a
    /// history written after the fact: the demo, an import; ADR 0030).
    /// Absent otherwise: the fact happened when the log recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// An event about to be appended.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// Past-tense type name, e.g. `MilestoneApproved`; never changes once written.
    pub event_type: String,
    /// Schema version of the payload (1, 2, …).
    pub event_version: u32,
    /// The payload as JSON.
    pub payload: serde_json::Value,
    /// Actor, correlation, causation and request ids.
    pub metadata: Metadata,
}

impl NewEvent {
    /// An event of `event_type`, schema version 1, with empty metadata.
    pub fn new(event_type: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            event_type: event_type.into(),
            event_version: 1,
            payload,
            metadata: Metadata::default(),
        }
    }

    /// The same event with this metadata.
    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// The same event with this payload schema version.
    #[must_use]
    pub fn with_version(mut self, event_version: u32) -> Self {
        self.event_version = event_version;
        self
    }
}

/// An event as the log holds it. `payload` and `metadata` are the exact JSON
/// text that was stored and hashed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Global position in the log: 1, 2, 3, … without holes.
    pub position: u64,
    /// Unique id (UUID v7).
    pub event_id: Uuid,
    /// The stream the event belongs to.
    pub stream_id: StreamId,
    /// The kind of stream (`change_project`, `innovation`, …).
    pub stream_type: String,
    /// 1, 2, 3, … within the stream.
    pub stream_version: u64,
    /// Past-tense type name.
    pub event_type: String,
    /// Schema version of the payload.
    pub event_version: u32,
    /// The payload, as the exact JSON text stored.
    pub payload: String,
    /// The metadata, as the exact JSON text stored.
    pub metadata: String,
    /// When the log recorded it (UTC, microseconds; never decreasing along positions).
    pub recorded_at: DateTime<Utc>,
    /// Hash of the previous event (32 zero bytes before the first).
    #[serde(with = "hex_bytes")]
    pub prev_hash: [u8; 32],
    /// SHA-256 over `prev_hash` and this event's stored bytes.
    #[serde(with = "hex_bytes")]
    pub hash: [u8; 32],
}

impl RecordedEvent {
    /// Decodes the payload.
    ///
    /// # Errors
    /// The serde error when the payload does not match `T`.
    pub fn decode_payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.payload)
    }

    /// Decodes the metadata; metadata that does not parse reads as empty.
    pub fn decoded_metadata(&self) -> Metadata {
        serde_json::from_str(&self.metadata).unwrap_or_default()
    }

    /// When the fact happened: the effective time a backdated command
    /// carries ([`Metadata::occurred_at`]), otherwise when the log
    /// recorded it. Metadata without the key is not parsed (ADR 0030).
    pub fn occurred_at(&self) -> DateTime<Utc> {
        occurred_at(&self.metadata).unwrap_or(self.recorded_at)
    }
}

/// The effective time in a stored metadata text, when it carries one.
/// Looks for the key before parsing.
pub fn occurred_at(metadata: &str) -> Option<DateTime<Utc>> {
    if !metadata.contains("\"occurred_at\"") {
        return None;
    }
    #[derive(Deserialize)]
    struct Only {
        occurred_at: Option<DateTime<Utc>>,
    }
    serde_json::from_str::<Only>(metadata)
        .ok()
        .and_then(|only| only.occurred_at)
}

/// What loading a stream reads of each of its events: where it stands and
/// what it says. The columns only an audit needs (ids, metadata, time,
/// hashes) are left in the database, which halves what a load reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEvent {
    /// Global position in the log.
    pub position: u64,
    /// 1, 2, 3, … within the stream.
    pub stream_version: u64,
    /// Past-tense type name.
    pub event_type: String,
    /// Schema version of the payload.
    pub event_version: u32,
    /// The payload, as the exact JSON text stored.
    pub payload: String,
}

impl From<RecordedEvent> for StreamEvent {
    fn from(event: RecordedEvent) -> Self {
        Self {
            position: event.position,
            stream_version: event.stream_version,
            event_type: event.event_type,
            event_version: event.event_version,
            payload: event.payload,
        }
    }
}

/// What a successful append wrote (or, for a repeated request id, what the
/// first append with that id wrote).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendResult {
    /// The stream appended to.
    pub stream_id: StreamId,
    /// Stream version of the first event written.
    pub first_version: u64,
    /// Stream version after the append.
    pub stream_version: u64,
    /// Log position of the first event written.
    pub first_position: u64,
    /// Log position of the last event written: read-your-writes waits for it.
    pub position: u64,
    /// True when this answer repeats an earlier append with the same request id.
    pub duplicate: bool,
}

/// The head of the log: `(position, hash)` of its newest event. Position 0
/// and a zero hash for an empty log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// Position of the newest event.
    pub position: u64,
    /// Its hash.
    #[serde(with = "hex_bytes")]
    pub hash: [u8; 32],
}

impl Digest {
    /// The digest of an empty log.
    pub const EMPTY: Self = Self {
        position: 0,
        hash: [0; 32],
    };

    /// The digest as `position:hexhash`, the form auditors keep.
    pub fn to_text(&self) -> String {
        format!("{}:{}", self.position, hex::encode(self.hash))
    }

    /// Parses `position:hexhash`.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] naming `digest` when the text is not of that form.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let bad = || {
            StoreError::invalid(
                "digest",
                "must be POSITION:HASH, e.g. 42:9f86d081… (64 hex digits)",
            )
        };
        let (pos, hash) = text.trim().split_once(':').ok_or_else(bad)?;
        let position = pos.parse::<u64>().map_err(|_| bad())?;
        let bytes = hex::decode(hash).map_err(|_| bad())?;
        let hash: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        Ok(Self { position, hash })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Direction of a stream read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Oldest first.
    Forward,
    /// Newest first.
    Backward,
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("a hash has 32 bytes (64 hex digits)"))
    }
}
