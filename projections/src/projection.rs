//! What a read model is: a [`Projection`] names the documents an event
//! touches and applies the event to them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jejak_engine::store::RecordedEvent;
use serde::{Serialize, de::DeserializeOwned};

use crate::db::Write;

/// What a view keeps beside one of its documents for its queries
/// (ADR 0033): the terms it is found by, and what it adds to the view's
/// counts. Both are written with the document, in its transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Beside {
    /// `(name, value)`: a read asks for the documents holding a term, in
    /// key order, without reading the others (`mentor` = `m-1`).
    pub terms: BTreeSet<(&'static str, String)>,
    /// `(name, scope, value)` → how much this document adds: a read sums
    /// a scope's counts (a cohort's projects per state) without reading
    /// the documents.
    pub counts: BTreeMap<(&'static str, String, String), i64>,
}

impl Beside {
    /// Adds a term.
    pub fn term(&mut self, name: &'static str, value: impl Into<String>) {
        self.terms.insert((name, value.into()));
    }

    /// Adds `n` to the count `name` of `value` in `scope`.
    pub fn count(
        &mut self,
        name: &'static str,
        scope: impl Into<String>,
        value: impl Into<String>,
        n: i64,
    ) {
        if n != 0 {
            *self
                .counts
                .entry((name, scope.into(), value.into()))
                .or_default() += n;
        }
    }
}

/// The changes of counts in one write, by `(name, scope, value)`.
pub(crate) type Counts = BTreeMap<(&'static str, String, String), i64>;

/// Why a projection could not apply an event. The runner stops that
/// projection, visibly, at the event's position; the others go on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProjectionError(pub String);

impl From<jejak_engine::codec::DecodeError> for ProjectionError {
    fn from(err: jejak_engine::codec::DecodeError) -> Self {
        Self(err.to_string())
    }
}

/// A read model kept from the log.
pub trait Projection: Send + Sync + 'static {
    /// The view's stable name (`project_board`).
    const NAME: &'static str;
    /// One document of the view.
    type Doc: Clone + Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The keys of every document `event` reads or writes; the runner
    /// loads them before [`Projection::apply`].
    fn keys(&self, event: &RecordedEvent) -> Vec<String>;

    /// Applies one event.
    ///
    /// # Errors
    /// [`ProjectionError`] when the event cannot be applied.
    fn apply(
        &self,
        event: &RecordedEvent,
        docs: &mut Docs<Self::Doc>,
    ) -> Result<(), ProjectionError>;

    /// What the view keeps beside `doc` for its queries (nothing by
    /// default: the view is read whole or by key).
    fn beside(_doc: &Self::Doc) -> Beside {
        Beside::default()
    }
}

#[derive(Debug)]
struct Entry<D> {
    doc: Option<D>,
    dirty: bool,
    /// The batch that last needed it.
    used: u64,
    /// What the database keeps beside the document as last written (or
    /// loaded): a write changes only what differs from it.
    stored: Beside,
}

/// The documents a view works on: loaded before the events that touch
/// them, kept between batches while the view is applied, and written
/// (those changed) with the checkpoint.
#[derive(Debug)]
pub struct Docs<D> {
    entries: HashMap<String, Entry<D>>,
    /// Counts batches, for forgetting the documents used longest ago.
    batch: u64,
}

impl<D> Default for Docs<D> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            batch: 0,
        }
    }
}

impl<D: Clone> Docs<D> {
    /// A new batch begins.
    pub(crate) fn next_batch(&mut self) {
        self.batch += 1;
    }

    pub(crate) fn loaded(&mut self, key: String, doc: D, stored: Beside) {
        self.entries.insert(
            key,
            Entry {
                doc: Some(doc),
                dirty: false,
                used: self.batch,
                stored,
            },
        );
    }

    /// Whether the document is held (or known not to exist); marks it
    /// used by this batch.
    pub(crate) fn touch(&mut self, key: &str) -> bool {
        self.entries
            .get_mut(key)
            .map(|e| e.used = self.batch)
            .is_some()
    }

    pub(crate) fn absent(&mut self, key: String) {
        self.entries.entry(key).or_insert(Entry {
            doc: None,
            dirty: false,
            used: self.batch,
            stored: Beside::default(),
        });
    }

    /// A document, if it exists.
    pub fn get(&self, key: &str) -> Option<&D> {
        self.entries.get(key).and_then(|e| e.doc.as_ref())
    }

    /// A document to change, if it exists.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut D> {
        let entry = self.entries.get_mut(key)?;
        entry.dirty = true;
        entry.doc.as_mut()
    }

    /// Puts a document.
    pub fn put(&mut self, key: impl Into<String>, doc: D) {
        let batch = self.batch;
        let entry = self.entries.entry(key.into()).or_insert(Entry {
            doc: None,
            dirty: true,
            used: batch,
            stored: Beside::default(),
        });
        entry.doc = Some(doc);
        entry.dirty = true;
        entry.used = batch;
    }

    /// Removes a document.
    pub fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.doc = None;
            entry.dirty = true;
        }
    }

    /// Forgets the documents written and used longest ago until at most
    /// `cap` are held (those not written yet are all kept).
    pub(crate) fn shrink_to(&mut self, cap: usize) {
        let Some(excess) = self.entries.len().checked_sub(cap).filter(|&n| n > 0) else {
            return;
        };
        let mut used: Vec<u64> = self
            .entries
            .values()
            .filter(|e| !e.dirty)
            .map(|e| e.used)
            .collect();
        if excess >= used.len() {
            self.entries.retain(|_, e| e.dirty);
            return;
        }
        let (_, &mut cut, _) = used.select_nth_unstable(excess - 1);
        self.entries.retain(|_, e| e.dirty || e.used > cut);
    }

    /// How many documents changed since they were last written.
    pub(crate) fn dirty(&self) -> usize {
        self.entries.values().filter(|e| e.dirty).count()
    }

    /// Forgets every document, written or not.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

impl<D: Serialize> Docs<D> {
    /// Every document that exists, by key, as a JSON value.
    pub(crate) fn all_json(&self) -> std::collections::BTreeMap<String, serde_json::Value> {
        self.entries
            .iter()
            .filter_map(|(key, e)| {
                let doc = serde_json::to_value(e.doc.as_ref()?).unwrap_or_default();
                Some((key.clone(), doc))
            })
            .collect()
    }
}

/// Terms by `(key, name, value)` and counts by `(name, scope, value)`,
/// as [`Docs::beside_all`] and the check compare them.
pub(crate) type AllBeside = (
    BTreeSet<(String, String, String)>,
    BTreeMap<(String, String, String), i64>,
);

impl<D> Docs<D> {
    /// What the view keeps beside every document that exists: its terms by
    /// key, and the counts summed (those not zero).
    pub(crate) fn beside_all(&self, beside: fn(&D) -> Beside) -> AllBeside {
        let mut terms = BTreeSet::new();
        let mut counts: BTreeMap<(String, String, String), i64> = BTreeMap::new();
        for (key, doc) in self
            .entries
            .iter()
            .filter_map(|(k, e)| Some((k, e.doc.as_ref()?)))
        {
            let kept = beside(doc);
            for (name, value) in kept.terms {
                terms.insert((key.clone(), name.to_owned(), value));
            }
            for ((name, scope, value), n) in kept.counts {
                *counts.entry((name.to_owned(), scope, value)).or_default() += n;
            }
        }
        counts.retain(|_, n| *n != 0);
        (terms, counts)
    }
}

impl<D: Serialize + Clone> Docs<D> {
    /// The changed documents as writes, serialized, with what changes
    /// beside them (`beside` says what each keeps, ADR 0033); they count as
    /// written from now on. With `keep`, also the changed documents
    /// themselves, for the view's change feed (`None`: removed).
    pub(crate) fn take_writes(&mut self, keep: bool, beside: fn(&D) -> Beside) -> Taken<D> {
        let mut taken = Taken {
            writes: Vec::new(),
            counts: Counts::new(),
            kept: Vec::new(),
        };
        for (key, e) in self.entries.iter_mut().filter(|(_, e)| e.dirty) {
            e.dirty = false;
            if keep {
                taken.kept.push((key.clone(), e.doc.clone()));
            }
            let now = e.doc.as_ref().map(beside).unwrap_or_default();
            let was = std::mem::replace(&mut e.stored, now);
            let now = &e.stored;
            for (count, n) in &was.counts {
                *taken.counts.entry(count.clone()).or_default() -= n;
            }
            for (count, n) in &now.counts {
                *taken.counts.entry(count.clone()).or_default() += n;
            }
            taken.writes.push(Write {
                key: key.clone(),
                doc: e
                    .doc
                    .as_ref()
                    .map(|d| serde_json::to_string(d).unwrap_or_default()),
                unterm: was.terms.difference(&now.terms).cloned().collect(),
                term: now.terms.difference(&was.terms).cloned().collect(),
            });
        }
        taken.counts.retain(|_, n| *n != 0);
        taken
    }
}

/// What [`Docs::take_writes`] takes.
pub(crate) struct Taken<D> {
    /// The documents to write.
    pub writes: Vec<Write>,
    /// How the view's counts change.
    pub counts: Counts,
    /// The changed documents, for the change feed.
    pub kept: Vec<(String, Option<D>)>,
}

#[cfg(test)]
mod tests {
    use super::Docs;

    #[test]
    fn shrinking_forgets_the_documents_used_longest_ago_and_keeps_unwritten_ones() {
        let mut docs: Docs<u32> = Docs::default();
        for n in 0..6u32 {
            docs.next_batch();
            docs.loaded(format!("d{n}"), n, super::Beside::default());
        }
        docs.next_batch();
        // d0 is used again; d5 changes and is not written yet.
        assert!(docs.touch("d0"));
        *docs.get_mut("d5").unwrap() += 10;
        docs.shrink_to(3);
        let mut held: Vec<&str> = docs.entries.keys().map(String::as_str).collect();
        held.sort_unstable();
        assert_eq!(held, ["d0", "d4", "d5"]);
        // Nothing written: every changed document stays, whatever the cap.
        docs.put("d9", 9);
        docs.shrink_to(0);
        let mut held: Vec<&str> = docs.entries.keys().map(String::as_str).collect();
        held.sort_unstable();
        assert_eq!(held, ["d5", "d9"]);
        assert_eq!(docs.get("d5"), Some(&15));
        assert_eq!(docs.dirty(), 2);
    }
}
