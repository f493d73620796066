//! The seal: every committed batch is signed by the deployment's Ed25519
//! key, kept outside the database, so that a database-only attacker cannot
//! add events that verify.
//!
//! A seal is a row of the `seals` table written in the same transaction as
//! the batch it seals: the position of the batch's last event and an
//! Ed25519 signature over [`seal_message`] (that position and the event's
//! chain hash). The chain hash covers every event before it, so a valid
//! seal at position `q` vouches for positions `1..=q`.
//!
//! The key is a C2SP signed-note key (`PRIVATE+KEY+name+id+base64`), the
//! same one that signs checkpoints; its name is the log's origin. Its
//! verifier key (`name+id+base64`) is what auditors keep.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey};

use super::StoreError;

/// The name of the seal key's file in a data folder.
pub const SEAL_KEY_FILE: &str = "seal-key";

/// The domain-separation prefix of a seal's signed message. It holds a
/// NUL byte, which no signed note (checkpoint) may hold, so a seal can never
/// be taken for a note signed by the same key, nor the other way round.
pub const SEAL_PREFIX: &[u8; 14] = b"jejak-seal-v1\0";

/// The signature algorithm byte of C2SP signed-note Ed25519 keys.
const ALG_ED25519: u8 = 1;

/// The bytes a seal signs: [`SEAL_PREFIX`] ‖ position (8 bytes, big endian)
/// ‖ the 32-byte chain hash of the event at that position.
pub fn seal_message(position: u64, hash: &[u8; 32]) -> [u8; 54] {
    let mut msg = [0u8; 54];
    msg[..14].copy_from_slice(SEAL_PREFIX);
    msg[14..22].copy_from_slice(&position.to_be_bytes());
    msg[22..].copy_from_slice(hash);
    msg
}

/// A seal as stored: the batch's last position, the key id and the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seal {
    /// Position of the last event of the sealed batch.
    pub position: u64,
    /// The C2SP key id of the key that signed it.
    pub key_id: u32,
    /// Ed25519 signature over [`seal_message`].
    pub signature: [u8; 64],
}

fn bad_key(reason: impl Into<String>) -> StoreError {
    StoreError::invalid("seal_key", reason)
}

/// The deployment's signing key: seals batches and signs checkpoints.
#[derive(Clone)]
pub struct SealKey {
    name: String,
    id: u32,
    signing: SigningKey,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealKey")
            .field("name", &self.name)
            .field("id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

fn public_bytes(signing: &SigningKey) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = ALG_ED25519;
    key[1..].copy_from_slice(signing.verifying_key().as_bytes());
    key
}

impl SealKey {
    /// A new random key named `name` (the log's origin: no spaces, no `+`).
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a name C2SP does not allow.
    pub fn generate(name: &str) -> Result<Self, StoreError> {
        Self::from_seed(name, rand::random())
    }

    /// The key of a 32-byte Ed25519 seed, named `name`.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a name C2SP does not allow.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, StoreError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(bad_key(format!(
                "the key name {name:?} must be non-empty, without spaces or '+'"
            )));
        }
        let signing = SigningKey::from_bytes(&seed);
        let id = signed_note::key_id(name, &public_bytes(&signing));
        Ok(Self {
            name: name.to_owned(),
            id,
            signing,
        })
    }

    /// Parses a signed-note private key, `PRIVATE+KEY+name+id+base64`.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] saying what is malformed.
    pub fn parse(skey: &str) -> Result<Self, StoreError> {
        let parts: Vec<&str> = skey.trim().splitn(5, '+').collect();
        let [priv1, priv2, name, id, key] = parts[..] else {
            return Err(bad_key("expected PRIVATE+KEY+NAME+ID+BASE64"));
        };
        if priv1 != "PRIVATE" || priv2 != "KEY" {
            return Err(bad_key("expected PRIVATE+KEY+NAME+ID+BASE64"));
        }
        let bytes = BASE64
            .decode(key)
            .map_err(|_| bad_key("the key is not base64"))?;
        let [ALG_ED25519, seed @ ..] = &bytes[..] else {
            return Err(bad_key("only Ed25519 keys (algorithm 1) are supported"));
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| bad_key("an Ed25519 key has 32 bytes"))?;
        let key = Self::from_seed(name, seed)?;
        if format!("{:08x}", key.id) != id {
            return Err(bad_key(
                "the key id does not match the key; the file is damaged",
            ));
        }
        Ok(key)
    }

    /// The key as a signed-note private key. Secret: write it only to a
    /// file of mode 0600.
    pub fn to_skey(&self) -> String {
        let mut private = vec![ALG_ED25519];
        private.extend_from_slice(self.signing.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            BASE64.encode(private)
        )
    }

    /// The key in `path`, or, when the file does not exist, a new key named
    /// `name` written there with mode 0600.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a malformed file or name;
    /// [`StoreError::Unavailable`] when the file cannot be read or written.
    pub fn load_or_create(path: &Path, name: &str) -> Result<Self, StoreError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|e| match e {
                StoreError::InvalidInput { reason, .. } => StoreError::InvalidInput {
                    field: "seal_key",
                    reason: format!("{}: {reason}", path.display()),
                },
                other => other,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate(name)?;
                if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                write_private(path, format!("{}\n", key.to_skey()).as_bytes()).map_err(|e| {
                    StoreError::Unavailable(format!("cannot write {}: {e}", path.display()))
                })?;
                tracing::info!(path = %path.display(), key = %key.verifier(), "generated a new seal key");
                Ok(key)
            }
            Err(e) => Err(StoreError::Unavailable(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    /// The key's name: the log's origin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The C2SP key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The verifier key auditors keep.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey::from_parts(&self.name, self.id, &self.signing.verifying_key())
    }

    /// Seals the batch whose last event is at `position` with chain hash `hash`.
    pub fn seal(&self, position: u64, hash: &[u8; 32]) -> Seal {
        Seal {
            position,
            key_id: self.id,
            signature: self.signing.sign(&seal_message(position, hash)).to_bytes(),
        }
    }
}

impl signed_note::Signer for SealKey {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.signing.sign(msg).to_vec())
    }
}

/// A verifier key in signed-note form, `name+id+base64(0x01 ‖ public key)`.
#[derive(Clone)]
pub struct VerifierKey {
    text: String,
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl std::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for VerifierKey {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl VerifierKey {
    fn from_parts(name: &str, id: u32, key: &ed25519_dalek::VerifyingKey) -> Self {
        Self {
            text: signed_note::new_ed25519_verifier_key(name, key),
            name: name.to_owned(),
            id,
            key: *key,
        }
    }

    /// Parses `name+id+base64`, as `jejak audit key` prints it.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] (field `vkey`) saying what is wrong.
    pub fn parse(vkey: &str) -> Result<Self, StoreError> {
        let vkey = vkey.trim();
        let parts: Vec<&str> = vkey.splitn(3, '+').collect();
        let bad = |reason: &str| StoreError::invalid("vkey", reason.to_owned());
        let [name, id, key] = parts[..] else {
            return Err(bad(
                "expected NAME+ID+BASE64, as `jejak audit key` prints it",
            ));
        };
        let bytes = BASE64
            .decode(key)
            .map_err(|_| bad("the key part is not base64"))?;
        if !signed_note::is_key_name_valid(name) || id.len() != 8 {
            return Err(bad("expected NAME+ID+BASE64 with an 8-digit hex id"));
        }
        if format!("{:08x}", signed_note::key_id(name, &bytes)) != id {
            return Err(bad("the key id does not match the name and key"));
        }
        let [ALG_ED25519, public @ ..] = &bytes[..] else {
            return Err(bad("only Ed25519 keys (algorithm 1) are supported"));
        };
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| bad("an Ed25519 public key has 32 bytes"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| bad("not a valid Ed25519 public key"))?;
        Ok(Self::from_parts(
            name,
            u32::from_str_radix(id, 16).unwrap_or_default(),
            &key,
        ))
    }

    /// The key's name: the log's origin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The C2SP key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The key in signed-note form.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `seal` is this key's valid signature over the event at its
    /// position having chain hash `hash`.
    pub fn verify_seal(&self, seal: &Seal, hash: &[u8; 32]) -> bool {
        seal.key_id == self.id
            && self
                .key
                .verify_strict(
                    &seal_message(seal.position, hash),
                    &ed25519_dalek::Signature::from_bytes(&seal.signature),
                )
                .is_ok()
    }

    /// A signed-note verifier of this key (for checkpoints).
    pub(crate) fn note_verifier(&self) -> Result<signed_note::StandardVerifier, StoreError> {
        signed_note::StandardVerifier::new(&self.text)
            .map_err(|e| StoreError::invalid("vkey", e.to_string()))
    }
}

/// Writes `bytes` to a new file only its owner may read.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// What a batch writes beside its events, in their transaction: the tree
/// hashes its leaves complete and its seal.
#[derive(Debug, Default)]
pub(crate) struct Beside {
    /// `(index, hash)` rows of `tree_hashes`.
    pub tree: Vec<(u64, super::merkle::TreeHash)>,
    /// The batch's seal, when the store has a key.
    pub seal: Option<Seal>,
}

/// The head of the log as read under the append lock, with its seal.
#[derive(Debug, Default)]
pub(crate) struct HeadSeal {
    /// The seal stored at the head's position, if any.
    pub seal: Option<Seal>,
    /// Whether the log holds any seal at all.
    pub any: bool,
}

/// The writer's side of the tree and the seal: the tree's right edge as
/// this writer left it, and the key.
#[derive(Debug)]
pub(crate) struct Ledger {
    key: Option<(SealKey, VerifierKey)>,
    /// The tree's right edge after this writer's last commit; `None` when
    /// another process may have written since, or after a failure.
    pub frontier: Option<super::merkle::Frontier>,
}

impl Ledger {
    pub fn new(key: Option<SealKey>) -> Self {
        Self {
            key: key.map(|k| {
                let v = k.verifier();
                (k, v)
            }),
            frontier: None,
        }
    }

    /// The right edge if this writer knows it at `size` leaves.
    pub fn frontier_at(&self, size: u64) -> Option<super::merkle::Frontier> {
        self.frontier.as_ref().filter(|f| f.size() == size).cloned()
    }

    /// The size of the tree whose right edge this writer knows, if any.
    pub fn frontier_size(&self) -> Option<u64> {
        self.frontier.as_ref().map(super::merkle::Frontier::size)
    }

    /// The right edge at `size`, whose newest event's chain hash is
    /// `head_hash`, brought up from the one known by the chain hashes of
    /// the events after it (`after`: position and hash, as read): `None`
    /// unless they are every event up to `size` and end at the head.
    pub fn frontier_over(
        &self,
        size: u64,
        head_hash: &[u8; 32],
        after: &mut [(u64, [u8; 32])],
    ) -> Option<super::merkle::Frontier> {
        let mut frontier = self.frontier.clone()?;
        after.sort_unstable_by_key(|(position, _)| *position);
        let contiguous = after
            .iter()
            .zip(frontier.size() + 1..)
            .all(|((position, _), expected)| *position == expected);
        if !contiguous
            || frontier.size() + after.len() as u64 != size
            || after.last().is_some_and(|(_, hash)| hash != head_hash)
        {
            return None;
        }
        for (_, hash) in after.iter() {
            frontier.push_leaf(hash);
        }
        Some(frontier)
    }

    /// The tree rows and the seal of a batch of `rows` written on top of
    /// `base`, and the right edge after it.
    pub fn beside(
        &self,
        base: super::merkle::Frontier,
        rows: &[super::plan::Row<'_>],
    ) -> (Beside, super::merkle::Frontier) {
        let (tree, next) = base.extend(rows.iter().map(|r| &r.hash));
        let seal = self
            .key
            .as_ref()
            .zip(rows.last())
            .map(|((key, _), last)| key.seal(last.position, &last.hash));
        (Beside { tree, seal }, next)
    }

    /// Checks, before writing on top of it, that the head another process
    /// (or nobody, while this writer was away) left is sealed by this
    /// deployment's key. A head without a valid seal means that something
    /// wrote to the database without the key: sealing on top of it would
    /// vouch for those events, so appends stop. A log that holds no seal at
    /// all (written before sealing began, or by writers without a key) is
    /// taken over, once, with a warning: the first sealed batch covers it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] for an unsealed head.
    pub fn check_head(
        &self,
        position: u64,
        hash: &[u8; 32],
        head: &HeadSeal,
    ) -> Result<(), StoreError> {
        let Some((_, verifier)) = &self.key else {
            return Ok(());
        };
        if position == 0 || self.frontier.as_ref().is_some_and(|f| f.size() == position) {
            return Ok(());
        }
        if head.seal.is_some_and(|s| verifier.verify_seal(&s, hash)) {
            return Ok(());
        }
        if !head.any {
            tracing::warn!(
                position,
                "the log holds no seal yet; the next batch seals every event up to it"
            );
            return Ok(());
        }
        tracing::error!(
            position,
            "the log's head is not sealed by this deployment's key; refusing to append"
        );
        Err(StoreError::Unavailable(format!(
            "the log's newest event (position {position}) is not sealed by this server's key: \
             something wrote to the database without it. Appends are stopped; \
             run `jejak audit verify` and look at what was written"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::super::merkle::Frontier;
    use super::*;

    fn tree_of(hashes: &[[u8; 32]]) -> Frontier {
        let mut frontier = Frontier::default();
        for hash in hashes {
            frontier.push(hash);
        }
        frontier
    }

    #[test]
    fn a_known_frontier_is_brought_up_by_the_events_after_it_and_only_by_all_of_them() {
        let hashes: Vec<[u8; 32]> = (0..37u8).map(|i| [i; 32]).collect();
        let mut ledger = Ledger::new(None);
        ledger.frontier = Some(tree_of(&hashes[..20]));
        // As read: in any order.
        let mut after: Vec<(u64, [u8; 32])> = (21..=37)
            .rev()
            .map(|position| (position, hashes[position as usize - 1]))
            .collect();
        let head = hashes[36];
        assert_eq!(
            ledger.frontier_over(37, &head, &mut after),
            Some(tree_of(&hashes))
        );
        // A hole, a short read, another head: read the stored edge instead.
        let mut holed = after.clone();
        holed.remove(5);
        assert_eq!(ledger.frontier_over(37, &head, &mut holed), None);
        assert_eq!(ledger.frontier_over(36, &head, &mut after), None);
        assert_eq!(ledger.frontier_over(38, &head, &mut after), None);
        assert_eq!(ledger.frontier_over(37, &[9; 32], &mut after), None);
        assert_eq!(Ledger::new(None).frontier_over(37, &head, &mut after), None);
    }
}
