//! Views are caches under the chain: [`Runner::check`] rebuilds a view from
//! the log into a scratch generation held in memory (the database is not
//! written) and reports every document in which the live generation
//! differs from it, at one position of the log.

use std::collections::{BTreeMap, BTreeSet};

use jejak_engine::store::{MAX_READ_LIMIT, StoreError};
use serde::Serialize;

use crate::projection::AllBeside;
use crate::{Docs, Projection, Runner};

/// How a live document differs from the one rebuilt from the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// The log makes this document; the live view lacks it.
    Missing,
    /// The live view holds a document the log does not make.
    Extra,
    /// Both hold it, with other content.
    Changed,
}

impl DifferenceKind {
    /// In words.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing from the live view",
            Self::Extra => "in the live view only",
            Self::Changed => "differs from the log",
        }
    }
}

/// One document that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The document's key.
    pub key: String,
    /// How.
    pub kind: DifferenceKind,
}

/// What checking one view found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ViewCheck {
    /// The view.
    pub name: String,
    /// The log position both generations were compared at.
    pub position: u64,
    /// Documents the log makes.
    pub documents: usize,
    /// Every document that differs, by key.
    pub differences: Vec<Difference>,
    /// The position and error where the rebuild could not apply an event.
    pub failed: Option<(u64, String)>,
}

impl ViewCheck {
    /// Whether the live view is what the log makes.
    pub fn matches(&self) -> bool {
        self.differences.is_empty() && self.failed.is_none()
    }
}

/// Attempts to catch the live view still between two of its writes.
const ATTEMPTS: usize = 20;

impl Runner {
    /// Rebuilds view `projection` from the log in memory, up to the live
    /// generation's checkpoint, and compares every document (as JSON
    /// values) with the live generation's. A view that moves while its
    /// documents are read is compared again, further on.
    ///
    /// # Errors
    /// Storage failures; [`StoreError::Unavailable`] when the view moved
    /// on during every attempt (retry when the log is quieter).
    pub async fn check<P: Projection>(&self, projection: &P) -> Result<ViewCheck, StoreError> {
        let db = self.db();
        let mut docs: Docs<P::Doc> = Docs::default();
        let mut applied = 0;
        let mut failed = None;
        for _ in 0..ATTEMPTS {
            let generation = db.active(P::NAME).await?;
            let position = db.checkpoint(P::NAME, generation).await?;
            if position < applied {
                // A rebuild switched to a generation behind this fold.
                docs = Docs::default();
                applied = 0;
                failed = None;
            }
            while failed.is_none() && applied < position {
                let batch = self.store().read_all(applied, MAX_READ_LIMIT).await?;
                if batch.is_empty() {
                    break;
                }
                for event in batch.iter().take_while(|e| e.position <= position) {
                    for key in projection.keys(event) {
                        if !docs.touch(&key) {
                            docs.absent(key);
                        }
                    }
                    if let Err(err) = projection.apply(event, &mut docs) {
                        failed = Some((event.position, err.0));
                        break;
                    }
                    applied = event.position;
                }
                if batch.last().is_some_and(|e| e.position >= position) {
                    break;
                }
            }
            let live = db.scan(P::NAME, generation).await?;
            let (live_terms, live_counts) = db.beside_all(P::NAME, generation).await?;
            let still = db.active(P::NAME).await? == generation
                && db.checkpoint(P::NAME, generation).await? == position;
            if !still {
                continue;
            }
            let rebuilt = docs.all_json();
            let mut found = differences(&rebuilt, &live);
            let live: AllBeside = (
                live_terms.into_iter().collect(),
                live_counts
                    .into_iter()
                    .map(|(name, scope, value, n)| ((name, scope, value), n))
                    .collect(),
            );
            beside_differences(&mut found, &docs.beside_all(P::beside), &live);
            return Ok(ViewCheck {
                name: P::NAME.to_owned(),
                position,
                documents: rebuilt.len(),
                differences: found,
                failed,
            });
        }
        Err(StoreError::Unavailable(format!(
            "view {} moved on while it was read, {ATTEMPTS} times; retry when the log is quieter",
            P::NAME
        )))
    }
}

fn differences(
    rebuilt: &BTreeMap<String, serde_json::Value>,
    live: &[(String, String)],
) -> Vec<Difference> {
    let mut found = Vec::new();
    let live: BTreeMap<&str, &str> = live.iter().map(|(k, d)| (k.as_str(), d.as_str())).collect();
    for (key, doc) in rebuilt {
        let kind = match live.get(key.as_str()) {
            None => Some(DifferenceKind::Missing),
            Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(value) if value == *doc => None,
                _ => Some(DifferenceKind::Changed),
            },
        };
        if let Some(kind) = kind {
            found.push(Difference {
                key: key.clone(),
                kind,
            });
        }
    }
    for key in live.keys().filter(|k| !rebuilt.contains_key(**k)) {
        found.push(Difference {
            key: (*key).to_owned(),
            kind: DifferenceKind::Extra,
        });
    }
    found.sort_by(|a, b| a.key.cmp(&b.key));
    found
}

/// Adds to `found` every document whose terms differ (as changed), and
/// every count that differs, named `count NAME of VALUE in SCOPE`
/// (ADR 0033).
fn beside_differences(
    found: &mut Vec<Difference>,
    (terms, counts): &AllBeside,
    (live_terms, live_counts): &AllBeside,
) {
    let listed: BTreeSet<String> = found.iter().map(|d| d.key.clone()).collect();
    let keys: BTreeSet<&String> = terms
        .symmetric_difference(live_terms)
        .map(|(key, _, _)| key)
        .filter(|key| !listed.contains(*key))
        .collect();
    for key in keys {
        found.push(Difference {
            key: key.clone(),
            kind: DifferenceKind::Changed,
        });
    }
    let names: BTreeSet<&(String, String, String)> =
        counts.keys().chain(live_counts.keys()).collect();
    for count in names {
        let kind = match (counts.get(count), live_counts.get(count)) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(_), Some(_)) => DifferenceKind::Changed,
            (Some(_), None) => DifferenceKind::Missing,
            (None, _) => DifferenceKind::Extra,
        };
        let (name, scope, value) = count;
        found.push(Difference {
            key: format!("count {name} of {value} in {scope}"),
            kind,
        });
    }
    found.sort_by(|a, b| a.key.cmp(&b.key));
}
