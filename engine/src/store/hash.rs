//! The hash chain: `hash = SHA-256(prev_hash ‖ the event's stored bytes)`.
//!
//! The bytes are every stored column but the hashes themselves, each
//! length-prefixed so that no two different events encode alike:
//! position, event id, stream id, stream type, stream version, event type,
//! event version, recorded_at (microseconds since the epoch), payload text,
//! metadata text. Both backends store exactly these values, so a hash
//! computed at append time can be recomputed from any copy of the log.

use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// The fields of an event that the chain covers.
#[derive(Debug, Clone, Copy)]
pub struct HashedFields<'a> {
    pub position: u64,
    pub event_id: Uuid,
    pub stream_id: &'a str,
    pub stream_type: &'a str,
    pub stream_version: u64,
    pub event_type: &'a str,
    pub event_version: u32,
    pub recorded_at: DateTime<Utc>,
    pub payload: &'a str,
    pub metadata: &'a str,
}

fn field(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

/// The chained hash of one event.
pub fn chain_hash(prev_hash: &[u8; 32], e: &HashedFields<'_>) -> [u8; 32] {
    chain_hash_of_bytes(
        prev_hash,
        &StoredBytes {
            position: e.position,
            event_id: e.event_id,
            stream_id: e.stream_id.as_bytes(),
            stream_type: e.stream_type.as_bytes(),
            stream_version: e.stream_version,
            event_type: e.event_type.as_bytes(),
            event_version: e.event_version,
            recorded_at_micros: e.recorded_at.timestamp_micros(),
            payload: e.payload.as_bytes(),
            metadata: e.metadata.as_bytes(),
        },
    )
}

/// [`HashedFields`] as the bytes a row holds: the text columns unchecked
/// and `recorded_at` already in microseconds, so that a walk of the log can
/// hash rows where they are read, without decoding them first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredBytes<'a> {
    pub position: u64,
    pub event_id: Uuid,
    pub stream_id: &'a [u8],
    pub stream_type: &'a [u8],
    pub stream_version: u64,
    pub event_type: &'a [u8],
    pub event_version: u32,
    pub recorded_at_micros: i64,
    pub payload: &'a [u8],
    pub metadata: &'a [u8],
}

/// [`chain_hash`] over [`StoredBytes`].
pub(crate) fn chain_hash_of_bytes(prev_hash: &[u8; 32], e: &StoredBytes<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"jejak-event-v1");
    h.update(prev_hash);
    h.update(e.position.to_be_bytes());
    h.update(e.event_id.as_bytes());
    field(&mut h, e.stream_id);
    field(&mut h, e.stream_type);
    h.update(e.stream_version.to_be_bytes());
    field(&mut h, e.event_type);
    h.update(e.event_version.to_be_bytes());
    h.update(e.recorded_at_micros.to_be_bytes());
    field(&mut h, e.payload);
    field(&mut h, e.metadata);
    h.finalize().into()
}

impl super::RecordedEvent {
    /// Recomputes this event's hash from its stored fields and `prev_hash`.
    pub fn recompute_hash(&self, prev_hash: &[u8; 32]) -> [u8; 32] {
        chain_hash(
            prev_hash,
            &HashedFields {
                position: self.position,
                event_id: self.event_id,
                stream_id: self.stream_id.as_str(),
                stream_type: &self.stream_type,
                stream_version: self.stream_version,
                event_type: &self.event_type,
                event_version: self.event_version,
                recorded_at: self.recorded_at,
                payload: &self.payload,
                metadata: &self.metadata,
            },
        )
    }
}
