//! What a read model is: a [`Projection`] names the documents an event
//! touches and applies the event to them.

use std::collections::HashMap;

use jejak_engine::store::RecordedEvent;
use serde::{Serialize, de::DeserializeOwned};

use crate::db::Write;

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
}

#[derive(Debug)]
struct Entry<D> {
    doc: Option<D>,
    dirty: bool,
    /// The batch that last needed it.
    used: u64,
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

    pub(crate) fn loaded(&mut self, key: String, doc: D) {
        self.entries.insert(
            key,
            Entry {
                doc: Some(doc),
                dirty: false,
                used: self.batch,
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
        self.entries.insert(
            key.into(),
            Entry {
                doc: Some(doc),
                dirty: true,
                used: self.batch,
            },
        );
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

impl<D: Serialize + Clone> Docs<D> {
    /// The changed documents as writes, serialized; they count as written
    /// from now on. With `keep`, also the changed documents themselves, for
    /// the view's change feed (`None`: removed).
    pub(crate) fn take_writes(&mut self, keep: bool) -> (Vec<Write>, Vec<(String, Option<D>)>) {
        let mut kept = Vec::new();
        let writes = self
            .entries
            .iter_mut()
            .filter(|(_, e)| e.dirty)
            .map(|(key, e)| {
                e.dirty = false;
                if keep {
                    kept.push((key.clone(), e.doc.clone()));
                }
                Write {
                    key: key.clone(),
                    doc: e
                        .doc
                        .as_ref()
                        .map(|d| serde_json::to_string(d).unwrap_or_default()),
                }
            })
            .collect();
        (writes, kept)
    }
}

#[cfg(test)]
mod tests {
    use super::Docs;

    #[test]
    fn shrinking_forgets_the_documents_used_longest_ago_and_keeps_unwritten_ones() {
        let mut docs: Docs<u32> = Docs::default();
        for n in 0..6u32 {
            docs.next_batch();
            docs.loaded(format!("d{n}"), n);
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
