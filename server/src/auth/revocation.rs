//! The revoked tokens and subjects a server knows of: a small set in
//! memory, filled from the log's `access` stream at start and kept up to
//! date by a task that reads what is new every second or so
//! ([`crate::App::start`]), so that a revocation made on any server sharing
//! the database takes effect on every one within seconds.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use jejak_engine::access::AccessEvent;
use tonic::Status;

use super::Verified;

#[derive(Debug, Default)]
struct Inner {
    /// Revoked token ids.
    tokens: HashSet<String>,
    /// Per subject: tokens issued before this moment (seconds since the
    /// epoch) are refused.
    subjects: HashMap<String, i64>,
    /// The last `access` stream version applied.
    version: u64,
}

/// Revoked token ids and subjects.
#[derive(Debug, Default)]
pub struct Revocations {
    inner: RwLock<Inner>,
}

impl Revocations {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The last `access` stream version applied (0: none).
    pub fn version(&self) -> u64 {
        self.read().version
    }

    /// Applies revocations read from the log (those at or below the version
    /// applied already are skipped).
    pub fn apply(&self, events: &[(u64, AccessEvent)]) {
        let mut inner = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (version, event) in events {
            if *version <= inner.version {
                continue;
            }
            match event {
                AccessEvent::TokenRevoked { token_id, .. } => {
                    inner.tokens.insert(token_id.clone());
                }
                AccessEvent::SubjectTokensRevoked {
                    subject,
                    issued_before,
                    ..
                } => {
                    // Tokens say when they were issued to the second: one
                    // issued in the second of the revocation is refused too.
                    let before = issued_before.timestamp()
                        + i64::from(issued_before.timestamp_subsec_nanos() > 0);
                    let entry = inner.subjects.entry(subject.clone()).or_insert(before);
                    *entry = (*entry).max(before);
                }
            }
            inner.version = *version;
        }
    }

    /// Refuses a revoked token.
    ///
    /// # Errors
    /// UNAUTHENTICATED when its id is revoked, or its subject's tokens
    /// issued before a moment after its own (or when it says not when it
    /// was issued).
    pub fn check(&self, token: &Verified) -> Result<(), Status> {
        let inner = self.read();
        if let Some(id) = &token.token_id
            && inner.tokens.contains(id)
        {
            return Err(Status::unauthenticated(
                "the token has been revoked; ask for a new one",
            ));
        }
        if let Some(before) = inner.subjects.get(&token.actor.id) {
            let issued = token
                .issued_at
                .and_then(|t| i64::try_from(t).ok())
                .unwrap_or(i64::MIN);
            if issued < *before {
                return Err(Status::unauthenticated(
                    "the subject's tokens issued before a revocation are refused; ask for a new one",
                ));
            }
        }
        Ok(())
    }
}
