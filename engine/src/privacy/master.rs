//! The master key: 32 bytes kept outside the database (a file of mode 0600),
//! under which every person's data key is wrapped.

use std::path::Path;

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::store::StoreError;

/// The name of the master key's file in a data folder.
pub const MASTER_KEY_FILE: &str = "master-key";

/// Domain separation of a wrapped data key's associated data.
const WRAP_AD: &[u8] = b"jejak-person-key-v1\0";

/// Bytes of an XChaCha20-Poly1305 nonce.
pub(crate) const NONCE_LEN: usize = 24;

fn bad_key(reason: impl Into<String>) -> StoreError {
    StoreError::invalid("master_key", reason)
}

/// The deployment's master key. Never written to the database or a log.
#[derive(Clone)]
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    /// The key's id: the first 4 bytes of SHA-256 of the key, in hex, to
    /// tell keys apart in messages without revealing them.
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// The key of these 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        use sha2::Digest as _;
        let id = hex::encode(&sha2::Sha256::digest(bytes)[..4]);
        Self {
            cipher: XChaCha20Poly1305::new(bytes.into()),
            id,
        }
    }

    /// A new random key (tests, tools; a server keeps its key in a file).
    pub fn generate() -> Self {
        let bytes = Zeroizing::new(rand::random::<[u8; 32]>());
        Self::from_bytes(&bytes)
    }

    /// Parses a key file's content: 64 hex digits (what jejak writes) or
    /// 32 raw bytes.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] saying what is expected.
    pub fn parse(content: &[u8]) -> Result<Self, StoreError> {
        let text = std::str::from_utf8(content).map(str::trim);
        let mut bytes = Zeroizing::new([0u8; 32]);
        match text {
            Ok(hex_text) if hex_text.len() == 64 => {
                hex::decode_to_slice(hex_text, bytes.as_mut_slice())
                    .map_err(|_| bad_key("expected 64 hex digits (32 bytes)"))?;
            }
            _ if content.len() == 32 => bytes.copy_from_slice(content),
            _ => {
                return Err(bad_key(
                    "expected 64 hex digits or 32 raw bytes; generate one with `openssl rand -hex 32`",
                ));
            }
        }
        Ok(Self::from_bytes(&bytes))
    }

    /// Reads the key from `path`, or, when the file does not exist,
    /// generates one into it (mode 0600).
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a file that holds no key;
    /// [`StoreError::Unavailable`] when it cannot be read or written.
    pub fn load_or_create(path: &Path) -> Result<Self, StoreError> {
        match std::fs::read(path) {
            Ok(content) => {
                let content = Zeroizing::new(content);
                Self::parse(&content).map_err(|e| match e {
                    StoreError::InvalidInput { reason, .. } => {
                        bad_key(format!("{}: {reason}", path.display()))
                    }
                    other => other,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes = Zeroizing::new(rand::random::<[u8; 32]>());
                if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                let text = Zeroizing::new(format!("{}\n", hex::encode(bytes.as_slice())));
                crate::store::seal::write_private(path, text.as_bytes()).map_err(|e| {
                    StoreError::Unavailable(format!("cannot write {}: {e}", path.display()))
                })?;
                let key = Self::from_bytes(&bytes);
                tracing::info!(path = %path.display(), id = %key.id, "generated a new master key");
                Ok(key)
            }
            Err(e) => Err(StoreError::Unavailable(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    /// The key's id (not secret).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A data key wrapped for `person`: nonce ‖ ciphertext.
    pub(crate) fn wrap(&self, person: &str, data_key: &[u8; 32]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let ad = [WRAP_AD, person.as_bytes()].concat();
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: data_key,
                    aad: &ad,
                },
            )
            .unwrap_or_default();
        [&nonce[..], &sealed].concat()
    }

    /// The data key of `person` from its wrapped form.
    ///
    /// # Errors
    /// [`StoreError::Internal`] when it does not open: another master key,
    /// another person's row, or damaged bytes.
    pub(crate) fn unwrap(
        &self,
        person: &str,
        wrapped: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, StoreError> {
        let fail = || {
            StoreError::Internal(format!(
                "the data key of person {person} does not open with master key {}: \
                 start the server with the master key the data was written with",
                self.id
            ))
        };
        if wrapped.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let ad = [WRAP_AD, person.as_bytes()].concat();
        let plain = Zeroizing::new(
            self.cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: &ad,
                    },
                )
                .map_err(|_| fail())?,
        );
        let mut key = Zeroizing::new([0u8; 32]);
        if plain.len() != 32 {
            return Err(fail());
        }
        key.copy_from_slice(&plain);
        Ok(key)
    }
}
