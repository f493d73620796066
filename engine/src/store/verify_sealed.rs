//! The checks `verify` makes beyond the chain: seals and the Merkle tree.
//!
//! - **Seals.** A valid seal at position `q` (the deployment key's
//!   signature over `q` and the chain hash there) vouches for every event up
//!   to `q`, the chain linking them. So the walk needs one seal: the first
//!   at or after the end of the range (the newest, for the whole log), and
//!   the range is extended to reach it. Events past the newest valid seal are
//!   reported as [`BreakKind::Unsealed`]. Only when that seal fails are the
//!   others read, to find by bisection the newest that still verifies.
//! - **Tree.** The walk folds every chain hash into a [`Frontier`] and
//!   compares the root with the stored tree's root at the same size
//!   ([`BreakKind::TreeMismatch`]).

use super::merkle::{Frontier, TreeHash};
use super::seal::{Seal, VerifierKey};
use super::verify::{Break, BreakKind, VerifyReport};
use super::{EventStore, StoreError};

/// What the walk gathers for the seal and tree checks.
#[derive(Debug)]
pub(crate) struct ExtraChecks {
    vkey: Option<VerifierKey>,
    /// The seal to check and, once walked past, the chain hash at its position.
    seal: Option<(Seal, Option<[u8; 32]>)>,
    /// The tree folded so far; `None` when the stored tree cannot seed it.
    tree: Option<Frontier>,
}

impl ExtraChecks {
    /// The end of the walk: far enough to reach the seal checked.
    pub fn to(&self, to: u64) -> u64 {
        self.seal
            .as_ref()
            .map_or(to, |(seal, _)| to.max(seal.position))
    }

    /// One intact event of the walk.
    pub fn see(&mut self, position: u64, hash: &[u8; 32], leaf: &TreeHash) {
        if let Some(tree) = &mut self.tree {
            tree.fold_leaf(*leaf);
        }
        if let Some((seal, at)) = &mut self.seal
            && seal.position == position
        {
            *at = Some(*hash);
        }
    }
}

impl EventStore {
    /// The key seals are checked with: configured, or the seal key's own.
    fn verifier_key(&self) -> Option<VerifierKey> {
        let config = &self.inner.config;
        config
            .verifier_key
            .clone()
            .or_else(|| config.seal_key.as_ref().map(super::SealKey::verifier))
    }

    pub(crate) async fn start_extra_checks(
        &self,
        from: u64,
        to: u64,
    ) -> Result<ExtraChecks, StoreError> {
        let vkey = self.verifier_key();
        let seal = match &vkey {
            None => None,
            // The seal at or after `to`; without one, the newest before it
            // (the events after that one are not covered).
            Some(_) => match self.read_seals(to.max(from) - 1, 1).await?.pop() {
                Some(seal) => Some(seal),
                None => self.newest_seal().await?,
            },
        };
        let tree = if from == 1 {
            Some(Frontier::default())
        } else {
            self.stored_frontier(from - 1).await.ok()
        };
        Ok(ExtraChecks {
            vkey,
            seal: seal.map(|s| (s, None)),
            tree,
        })
    }

    pub(crate) async fn finish_extra_checks(
        &self,
        extra: ExtraChecks,
        report: &mut VerifyReport,
    ) -> Result<(), StoreError> {
        if report.first_break.is_some() {
            return Ok(());
        }
        if let Some(vkey) = &extra.vkey {
            let sealed_to = match extra.seal {
                Some((seal, Some(hash))) if vkey.verify_seal(&seal, &hash) => seal.position,
                Some((seal, _)) => {
                    self.newest_valid_seal_before(vkey, report.from, seal.position)
                        .await?
                }
                None => 0,
            };
            report.sealed_to = Some(sealed_to);
            if sealed_to < report.to {
                report.first_break = Some(Break {
                    position: sealed_to.max(report.from - 1) + 1,
                    kind: BreakKind::Unsealed,
                });
                return Ok(());
            }
        }
        if let Some(tree) = extra.tree
            && report.to > 0
        {
            let root = tree.root();
            let stored: Option<TreeHash> = self.tree_root(report.to).await.ok();
            if stored != Some(root) {
                report.first_break = Some(Break {
                    position: report.to,
                    kind: BreakKind::TreeMismatch,
                });
                return Ok(());
            }
            report.tree_root = Some(root);
        }
        Ok(())
    }

    /// The newest seal in `from..before` that verifies against the stored
    /// chain hash at its position, by bisection (a rewrite invalidates every
    /// seal after it and none before); `from - 1` when none does.
    async fn newest_valid_seal_before(
        &self,
        vkey: &VerifierKey,
        from: u64,
        before: u64,
    ) -> Result<u64, StoreError> {
        let mut seals = Vec::new();
        let mut after = from - 1;
        loop {
            let batch = self.read_seals(after, super::MAX_READ_LIMIT).await?;
            let Some(last) = batch.last() else { break };
            after = last.position;
            let done = after >= before;
            seals.extend(batch.into_iter().filter(|s| s.position < before));
            if done {
                break;
            }
        }
        let (mut lo, mut hi) = (0, seals.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let seal = seals[mid];
            let valid = self
                .read_all(seal.position - 1, 1)
                .await?
                .first()
                .is_some_and(|e| e.position == seal.position && vkey.verify_seal(&seal, &e.hash));
            if valid {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(if lo == 0 {
            from - 1
        } else {
            seals[lo - 1].position
        })
    }

    /// Up to `limit` seals after position `after`, oldest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn read_seals(&self, after: u64, limit: usize) -> Result<Vec<Seal>, StoreError> {
        let after = super::check_i64("after_position", after)?;
        match &self.inner.backend {
            super::Backend::Sqlite(b) => b.read_seals(after, limit).await,
            super::Backend::Postgres(b) => b.read_seals(after, limit).await,
        }
    }

    /// The newest seal, if any.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn newest_seal(&self) -> Result<Option<Seal>, StoreError> {
        match &self.inner.backend {
            super::Backend::Sqlite(b) => b.newest_seal().await,
            super::Backend::Postgres(b) => b.newest_seal().await,
        }
    }
}

/// Serde for an optional hash as hex.
pub(crate) mod hex_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        bytes: &Option<[u8; 32]>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<[u8; 32]>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("a hash has 32 bytes (64 hex digits)"))
    }
}

impl VerifyReport {
    /// The verdict in words: what was checked and how far, or the first break.
    pub fn summary(&self) -> String {
        if let Some(b) = self.first_break {
            return b.to_string();
        }
        let mut text = format!(
            "intact: {} events checked up to position {}",
            self.checked, self.to
        );
        match self.sealed_to {
            Some(s) => text.push_str(&format!(", sealed to {s}")),
            None => text.push_str(", seals not checked (no verifier key)"),
        }
        if let Some(root) = self.tree_root {
            text.push_str(&format!(", Merkle root {}", hex::encode(root)));
        }
        text
    }
}
