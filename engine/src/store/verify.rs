//! Walking the hash chain to prove that the log was not rewritten.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::hash::{StoredBytes, chain_hash_of_bytes};
use super::merkle::{TreeHash, leaf_hash};
use super::verify_order::Order;
use super::{Digest, EventStore, StoreError};

const BATCH: usize = 5_000;

/// What broke the chain at a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The event at this position is missing (deleted, or positions moved).
    Missing,
    /// The event's stored bytes no longer match its hash (payload,
    /// metadata or another field was changed, or rows were swapped).
    ContentChanged,
    /// The event does not link to the hash of the event before it.
    LinkBroken,
    /// The log's hash at the digest's position differs from the digest kept
    /// earlier: the log was rewritten, even if its chain is consistent.
    DigestMismatch,
    /// The log ends before the position of the digest kept earlier.
    LogShorterThanDigest,
    /// The event was recorded before the event at the position before it.
    TimeWentBack,
    /// The event's stream version is not the one after its stream's
    /// previous event (a hole, a repeat, or a stream not starting at 1).
    VersionOutOfOrder,
    /// A request record names this position, but it does not hold the
    /// event of the request's stream and version.
    RequestUnmatched,
    /// No valid seal covers the event: it was written without the
    /// deployment's key (a forged append), or the events up to the next seal
    /// were rewritten.
    Unsealed,
    /// The stored Merkle tree does not match the events' chain hashes.
    TreeMismatch,
}

/// The first place where the log breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Break {
    /// The first position that fails.
    pub position: u64,
    /// How it fails.
    pub kind: BreakKind,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            BreakKind::Missing => "the event is missing",
            BreakKind::ContentChanged => "the event's content no longer matches its hash",
            BreakKind::LinkBroken => "the event does not link to the previous event's hash",
            BreakKind::DigestMismatch => "the log differs from the digest kept earlier",
            BreakKind::LogShorterThanDigest => "the log ends before the digest kept earlier",
            BreakKind::TimeWentBack => "the event was recorded before the event before it",
            BreakKind::VersionOutOfOrder => {
                "the event's stream version does not follow its stream's previous event"
            }
            BreakKind::RequestUnmatched => {
                "a request record names this position but it holds another event"
            }
            BreakKind::Unsealed => {
                "no valid seal covers the event: it was written without the deployment's key"
            }
            BreakKind::TreeMismatch => "the stored Merkle tree does not match the events",
        };
        write!(f, "position {}: {what}", self.position)
    }
}

/// The result of [`EventStore::verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// First position checked.
    pub from: u64,
    /// Last position checked (0 when nothing was).
    pub to: u64,
    /// Events checked.
    pub checked: u64,
    /// The digest of the last intact event checked.
    pub digest: Digest,
    /// The first break, if any.
    pub first_break: Option<Break>,
    /// The seals: up to which position a valid seal covers the log (`None`
    /// when no verifier key was given, so seals were not checked).
    #[serde(default)]
    pub sealed_to: Option<u64>,
    /// The RFC 9162 root of the events checked, recomputed from their chain
    /// hashes and matched against the stored tree (`None`: not checked).
    #[serde(default, with = "super::verify_sealed::hex_opt")]
    pub tree_root: Option<[u8; 32]>,
}

impl VerifyReport {
    /// True when the range is intact (and leads to the digest, if one was given).
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

impl EventStore {
    /// Verifies the chain over positions `from..=to` (`to`: `None` for the
    /// whole log), and that the log still leads to `digest` when one is
    /// given (the range is extended to reach it).
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a `from` of 0 or past `to`; storage failures.
    pub async fn verify(
        &self,
        from: u64,
        to: Option<u64>,
        digest: Option<Digest>,
    ) -> Result<VerifyReport, StoreError> {
        self.verify_with_progress(from, to, digest, |_| {}).await
    }

    /// [`EventStore::verify`], calling `progress` with the last position
    /// checked after every batch.
    ///
    /// # Errors
    /// As [`EventStore::verify`].
    pub async fn verify_with_progress(
        &self,
        from: u64,
        to: Option<u64>,
        digest: Option<Digest>,
        mut progress: impl FnMut(u64),
    ) -> Result<VerifyReport, StoreError> {
        if from == 0 {
            return Err(StoreError::invalid("from", "positions start at 1"));
        }
        if let Some(to) = to
            && to < from
        {
            return Err(StoreError::invalid(
                "to",
                format!("{to} is before from ({from})"),
            ));
        }
        // The walk ends at the head as it is now, read before the seals
        // are: events appended while it runs are not its business, and every
        // event up to this head is covered by a seal committed with it.
        let to = match to {
            Some(to) => to,
            None => self.digest().await?.position,
        };
        let to = digest.map_or(to, |d| to.max(d.position));
        let mut order = Order::new(from);
        // Requests are checked by a query of their own; the walk reports
        // the first position that fails, whichever check it fails.
        let unmatched = self.first_unmatched_request(from, to).await?;
        // The link into the range: the stored hash of the event before it.
        let (mut prev_hash, mut prev_position) = if from == 1 {
            ([0u8; 32], 0)
        } else {
            match self.read_all(from - 2, 1).await?.pop() {
                Some(e) if e.position == from - 1 => {
                    order.start_after(&e);
                    (e.hash, from - 1)
                }
                _ => {
                    return Ok(VerifyReport {
                        from,
                        to: 0,
                        checked: 0,
                        digest: Digest::EMPTY,
                        first_break: Some(Break {
                            position: from - 1,
                            kind: BreakKind::Missing,
                        }),
                        sealed_to: None,
                        tree_root: None,
                    });
                }
            }
        };
        let mut report = VerifyReport {
            from,
            to: 0,
            checked: 0,
            digest: Digest {
                position: prev_position,
                hash: prev_hash,
            },
            first_break: None,
            sealed_to: None,
            tree_root: None,
        };
        let mut extra = self.start_extra_checks(from, to).await?;
        let to = extra.to(to);
        let broken = |mut report: VerifyReport, position, kind| {
            report.first_break = Some(Break { position, kind });
            Ok(report)
        };
        // The next batches are read and hashed (SQLite: where their rows
        // are read) while this one is checked.
        let mut batches = self.read_links_ahead(prev_position, BATCH)?;
        'walk: loop {
            let links = batches.next().await?;
            if links.is_empty() {
                break;
            }
            for event in links {
                if event.position > to {
                    break 'walk;
                }
                let expected = prev_position + 1;
                if event.position != expected {
                    return broken(report, expected, BreakKind::Missing);
                }
                if event.prev_hash != prev_hash {
                    return broken(report, event.position, BreakKind::LinkBroken);
                }
                // `recomputed` was hashed over the event's stored link,
                // which is `prev_hash`, checked just above.
                if event.recomputed != event.hash {
                    return broken(report, event.position, BreakKind::ContentChanged);
                }
                if let Some(kind) = order.check(&event) {
                    return broken(report, event.position, kind);
                }
                if unmatched == Some(event.position) {
                    return broken(report, event.position, BreakKind::RequestUnmatched);
                }
                if let Some(d) = digest
                    && d.position == event.position
                    && d.hash != event.hash
                {
                    return broken(report, event.position, BreakKind::DigestMismatch);
                }
                extra.see(event.position, &event.hash, &event.leaf);
                prev_hash = event.hash;
                prev_position = event.position;
                report.checked += 1;
                report.to = event.position;
                report.digest = Digest {
                    position: event.position,
                    hash: event.hash,
                };
            }
            progress(prev_position);
        }
        if let Some(position) = unmatched {
            return broken(report, position, BreakKind::RequestUnmatched);
        }
        if let Some(d) = digest
            && d.position > prev_position
        {
            return broken(report, prev_position + 1, BreakKind::LogShorterThanDigest);
        }
        self.finish_extra_checks(extra, &mut report).await?;
        Ok(report)
    }
}

/// What the walk needs of one event: its place in the log and in its
/// stream, its stored links, the hash recomputed from its stored bytes and
/// its leaf in the log's tree. The bytes themselves are dropped where they
/// were read.
#[derive(Debug)]
pub(crate) struct Link {
    pub position: u64,
    pub stream_id: String,
    pub stream_version: u64,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
    /// The hash over the stored bytes and the stored `prev_hash`.
    pub recomputed: [u8; 32],
    /// The tree's leaf of the stored `hash`.
    pub leaf: TreeHash,
}

impl Link {
    /// The link of an event's stored bytes, as read from its row: its
    /// chain hash recomputed over them and its leaf.
    pub(crate) fn of_stored(
        stored: &StoredBytes<'_>,
        recorded_at: DateTime<Utc>,
        prev_hash: [u8; 32],
        hash: [u8; 32],
    ) -> Self {
        Self {
            position: stored.position,
            stream_id: String::from_utf8_lossy(stored.stream_id).into_owned(),
            stream_version: stored.stream_version,
            recorded_at,
            recomputed: chain_hash_of_bytes(&prev_hash, stored),
            leaf: leaf_hash(&hash),
            prev_hash,
            hash,
        }
    }
}
