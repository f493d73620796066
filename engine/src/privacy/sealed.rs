//! A sealed value: a person's fields, as JSON, encrypted with their data
//! key. In a payload it is `{"person": ID, "sealed": BASE64}`, where the
//! base64 holds a random 24-byte nonce and the XChaCha20-Poly1305
//! ciphertext; the associated data binds the person and the purpose of the
//! fields, so that a sealed value moved to another person or another place
//! does not open.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

use super::master::NONCE_LEN;

/// What views and reports show in place of each field of an erased person.
pub const ERASED: &str = "[dihapus]";

/// Domain separation of a sealed value's associated data.
const SEAL_AD: &[u8] = b"jejak-personal-v1\0";

/// A person's fields as stored inside a payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// The person the fields belong to (an opaque id).
    pub person: String,
    /// base64 of nonce ‖ ciphertext.
    pub sealed: String,
}

/// A sealed value opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opened {
    /// The fields, as they were sealed.
    Fields(serde_json::Value),
    /// The person was erased: their key is gone and the fields are
    /// unreadable for good.
    Erased,
}

impl Opened {
    /// The field `name`, as text: [`ERASED`] for an erased person, `None`
    /// when the fields hold no such text.
    pub fn text(&self, name: &str) -> Option<String> {
        match self {
            Self::Fields(fields) => fields.get(name)?.as_str().map(str::to_owned),
            Self::Erased => Some(ERASED.to_owned()),
        }
    }
}

/// A person's data key, ready to seal and open.
pub(crate) struct DataKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey")
    }
}

fn associated(person: &str, purpose: &str) -> Vec<u8> {
    [SEAL_AD, person.as_bytes(), b"\0", purpose.as_bytes()].concat()
}

impl DataKey {
    pub(crate) fn new(bytes: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }

    /// Seals `fields` of `person` for `purpose`.
    pub(crate) fn seal(&self, person: &str, purpose: &str, fields: &serde_json::Value) -> Sealed {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let msg = zeroize::Zeroizing::new(serde_json::to_vec(fields).unwrap_or_default());
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &msg,
                    aad: &associated(person, purpose),
                },
            )
            .unwrap_or_default();
        Sealed {
            person: person.to_owned(),
            sealed: BASE64.encode([&nonce[..], &ct].concat()),
        }
    }

    /// Opens `sealed` for `purpose`; `None` when it does not open (damaged,
    /// moved, or sealed for another purpose).
    pub(crate) fn open(&self, sealed: &Sealed, purpose: &str) -> Option<serde_json::Value> {
        let bytes = BASE64.decode(&sealed.sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ct) = bytes.split_at(NONCE_LEN);
        let plain = zeroize::Zeroizing::new(
            self.cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: ct,
                        aad: &associated(&sealed.person, purpose),
                    },
                )
                .ok()?,
        );
        serde_json::from_slice(&plain).ok()
    }
}
