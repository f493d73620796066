//! Checkpoints: the tree's size and root in a C2SP tlog-checkpoint, signed
//! as a C2SP signed note by the deployment's key.
//!
//! ```text
//! jejak.example/cilegon          ← origin (the key's name)
//! 1000                           ← tree size: events 1..=1000
//! 3Q8Z…base64 root hash…=        ← RFC 9162 root of those events' leaves
//!                                ← blank line
//! — jejak.example/cilegon Ab12…  ← "— " name, base64(4-byte key id ‖ Ed25519 signature)
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::merkle::TreeHash;
use super::seal::{SealKey, VerifierKey};
use super::{EventStore, StoreError};

/// A tree head: origin, size and root hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name (the key's name).
    pub origin: String,
    /// Events in the tree: positions `1..=size`.
    pub size: u64,
    /// The RFC 9162 root hash of those events' leaves.
    pub root: TreeHash,
}

/// A checkpoint with its signed note, as kept by auditors and witnesses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// What the note says.
    pub checkpoint: Checkpoint,
    /// The whole signed note, as written to a file.
    pub note: String,
}

fn bad(reason: impl Into<String>) -> StoreError {
    StoreError::invalid("checkpoint", reason)
}

impl Checkpoint {
    /// The note's text: `origin\nsize\nbase64(root)\n`.
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Signs the checkpoint with `key` as a C2SP signed note.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when the origin is not the key's name or
    /// cannot stand in a note.
    pub fn sign(self, key: &SealKey) -> Result<SignedCheckpoint, StoreError> {
        if self.origin != key.name() {
            return Err(bad(format!(
                "the origin {:?} is not the key's name {:?}",
                self.origin,
                key.name()
            )));
        }
        let mut note =
            signed_note::Note::new(self.text().as_bytes(), &[]).map_err(|e| bad(e.to_string()))?;
        note.add_sigs(&[key]).map_err(|e| bad(e.to_string()))?;
        let note = String::from_utf8(note.to_bytes()).map_err(|e| bad(e.to_string()))?;
        Ok(SignedCheckpoint {
            checkpoint: self,
            note,
        })
    }
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint without checking its signature (for a
    /// caller who has no key; say so to the user).
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] (field `checkpoint`) when malformed.
    pub fn parse_unverified(note: &str) -> Result<Self, StoreError> {
        let parsed = signed_note::Note::from_bytes(note.as_bytes())
            .map_err(|e| bad(format!("not a signed note: {e}")))?;
        let head = tlog_tiles::Checkpoint::from_bytes(parsed.text())
            .map_err(|_| bad("the note is not a tlog checkpoint (origin, size, root)"))?;
        Ok(Self {
            checkpoint: Checkpoint {
                origin: head.origin().to_owned(),
                size: head.size(),
                root: head.hash().0,
            },
            note: note.to_owned(),
        })
    }

    /// Parses a signed checkpoint and checks its signature by `vkey`, whose
    /// name must be the checkpoint's origin.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] (field `checkpoint`) saying what is
    /// malformed, or that the signature does not verify.
    pub fn verify(note: &str, vkey: &VerifierKey) -> Result<Self, StoreError> {
        let parsed = signed_note::Note::from_bytes(note.as_bytes())
            .map_err(|e| bad(format!("not a signed note: {e}")))?;
        let verifiers = signed_note::VerifierList::new(vec![Box::new(vkey.note_verifier()?)]);
        parsed.verify(&verifiers).map_err(|e| match e {
            signed_note::NoteError::UnverifiedNote => bad(format!(
                "the note carries no signature by {} (key id {:08x})",
                vkey.name(),
                vkey.key_id()
            )),
            other => bad(format!("the signature does not verify: {other}")),
        })?;
        let head = tlog_tiles::Checkpoint::from_bytes(parsed.text())
            .map_err(|_| bad("the note is not a tlog checkpoint (origin, size, root)"))?;
        if head.origin() != vkey.name() {
            return Err(bad(format!(
                "the checkpoint's origin {:?} is not the key's name {:?}",
                head.origin(),
                vkey.name()
            )));
        }
        Ok(Self {
            checkpoint: Checkpoint {
                origin: head.origin().to_owned(),
                size: head.size(),
                root: head.hash().0,
            },
            note: note.to_owned(),
        })
    }
}

impl EventStore {
    /// The newest seal that verifies by `vkey`, checked against the stored
    /// hash of the event at its position: the size up to which this
    /// deployment vouches for the log. `None` when no seal verifies.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn newest_valid_seal(&self, vkey: &VerifierKey) -> Result<Option<u64>, StoreError> {
        let Some(seal) = self.newest_seal().await? else {
            return Ok(None);
        };
        let hash = self.read_all(seal.position - 1, 1).await?;
        Ok(hash
            .first()
            .filter(|e| e.position == seal.position && vkey.verify_seal(&seal, &e.hash))
            .map(|e| e.position))
    }

    /// The log's current checkpoint, signed with the store's seal key. It
    /// covers the log up to its newest valid seal only: events written to
    /// the database without the key are never vouched for.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when the store has no seal key;
    /// [`StoreError::Unavailable`] when the newest seal does not verify;
    /// storage failures.
    pub async fn signed_checkpoint(&self) -> Result<SignedCheckpoint, StoreError> {
        let Some(key) = &self.inner.config.seal_key else {
            return Err(StoreError::invalid(
                "seal_key",
                "signing a checkpoint needs the deployment's seal key (the data folder's seal-key file)",
            ));
        };
        let size = match self.newest_valid_seal(&key.verifier()).await? {
            Some(size) => size,
            None if self.tree_size().await? == 0 => 0,
            None => {
                return Err(StoreError::Unavailable(
                    "the log's newest seal does not verify with this key; run `jejak audit verify`"
                        .into(),
                ));
            }
        };
        Checkpoint {
            origin: key.name().to_owned(),
            size,
            root: self.tree_root(size).await?,
        }
        .sign(key)
    }
}
