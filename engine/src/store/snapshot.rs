//! Snapshots under the chain.
//!
//! A snapshot caches a stream's state at a version. It records the event it
//! was taken at (position and chain hash) and the SHA-256 of its own bytes
//! ([`state_hash`]), and is used only where all three still hold: the event
//! at its version is at that position with that hash, and the hash of its
//! bytes is the one recorded. Any other snapshot is ignored (the stream is
//! folded from its events), logged and counted; [`EventStore::check_snapshots`]
//! lists them for `verify`.
//!
//! What this proves: a snapshot that was edited in place, copied to another
//! stream or version, or left behind by a rewritten log is never trusted.
//! What it does not: someone who can write the database and recomputes the
//! SHA-256 of forged bytes makes a snapshot that passes; only the seal of the
//! log (a key outside the database) or folding the events catches that.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{EventStore, StoreError};

/// A snapshot as read for loading or checking, beside the event at its
/// version (`None` when the stream has no event there).
#[derive(Clone, Debug)]
pub(crate) struct CheckedSnapshot {
    pub stream_id: String,
    pub schema_version: i64,
    pub stream_version: u64,
    pub state: String,
    pub position: u64,
    pub chain_hash: Vec<u8>,
    pub state_hash: Vec<u8>,
    /// Position and chain hash of the stream's event at `stream_version`.
    pub event: Option<(u64, Vec<u8>)>,
}

/// The SHA-256 of a snapshot's bytes: every field of its row, each
/// length-prefixed or of fixed width, so that no two snapshots encode alike.
pub(crate) fn state_hash(
    stream_id: &str,
    schema_version: i64,
    stream_version: u64,
    position: u64,
    chain_hash: &[u8],
    state: &str,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"jejak-snapshot-v1");
    h.update((stream_id.len() as u64).to_be_bytes());
    h.update(stream_id.as_bytes());
    h.update(schema_version.to_be_bytes());
    h.update(stream_version.to_be_bytes());
    h.update(position.to_be_bytes());
    h.update((chain_hash.len() as u64).to_be_bytes());
    h.update(chain_hash);
    h.update((state.len() as u64).to_be_bytes());
    h.update(state.as_bytes());
    h.finalize().into()
}

/// Why a snapshot is not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotFault {
    /// The stream has no event at the snapshot's version.
    NoSuchVersion,
    /// The event at its version is not the one it was taken at (another
    /// position or chain hash): the log or the snapshot was rewritten.
    NotItsEvent,
    /// Its bytes no longer hash to the hash it recorded: it was edited.
    StateChanged,
}

impl std::fmt::Display for SnapshotFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NoSuchVersion => "the stream has no event at its version",
            Self::NotItsEvent => "it was not taken at the event the log holds at its version",
            Self::StateChanged => "its bytes no longer match the hash it recorded",
        })
    }
}

/// A snapshot that is ignored, as [`EventStore::check_snapshots`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadSnapshot {
    /// Its stream.
    pub stream_id: String,
    /// The state's schema version it is kept for.
    pub schema_version: i64,
    /// The stream version it claims to reflect.
    pub stream_version: u64,
    /// The log position of the stream's event at that version (the position
    /// the snapshot recorded when the stream has none).
    pub position: u64,
    /// Why it is ignored.
    pub fault: SnapshotFault,
}

impl std::fmt::Display for BadSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "snapshot of {} at version {} (position {}): {}",
            self.stream_id, self.stream_version, self.position, self.fault
        )
    }
}

impl CheckedSnapshot {
    /// Why this snapshot may not be used, or `None` when it may.
    pub(crate) fn fault(&self) -> Option<SnapshotFault> {
        let Some((position, hash)) = &self.event else {
            return Some(SnapshotFault::NoSuchVersion);
        };
        if *position != self.position || *hash != self.chain_hash {
            return Some(SnapshotFault::NotItsEvent);
        }
        let expected = state_hash(
            &self.stream_id,
            self.schema_version,
            self.stream_version,
            self.position,
            &self.chain_hash,
            &self.state,
        );
        (self.state_hash != expected).then_some(SnapshotFault::StateChanged)
    }

    pub(crate) fn bad(&self) -> Option<BadSnapshot> {
        self.fault().map(|fault| BadSnapshot {
            stream_id: self.stream_id.clone(),
            schema_version: self.schema_version,
            stream_version: self.stream_version,
            position: self.event.as_ref().map_or(self.position, |(p, _)| *p),
            fault,
        })
    }
}

impl EventStore {
    /// Every snapshot that loading would ignore, in stream order: one that
    /// does not match the event it names, or whose bytes were changed.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn check_snapshots(&self) -> Result<Vec<BadSnapshot>, StoreError> {
        let snapshots = self.inner.backend.all_snapshots().await?;
        Ok(snapshots.iter().filter_map(CheckedSnapshot::bad).collect())
    }

    /// How many snapshots this process found unusable and ignored while
    /// loading streams, since it opened the log.
    pub fn bad_snapshots_ignored(&self) -> u64 {
        self.inner
            .bad_snapshots
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}
