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
    tag: Option<String>,
    dirty: bool,
}

/// The documents a view works on: loaded before the events that touch
/// them, kept between batches while the view is applied, and written
/// (those changed) with the checkpoint.
#[derive(Debug)]
pub struct Docs<D> {
    entries: HashMap<String, Entry<D>>,
}

impl<D> Default for Docs<D> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }
}

impl<D: Clone> Docs<D> {
    pub(crate) fn loaded(&mut self, key: String, doc: D, tag: Option<String>) {
        self.entries.insert(
            key,
            Entry {
                doc: Some(doc),
                tag,
                dirty: false,
            },
        );
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    pub(crate) fn absent(&mut self, key: String) {
        self.entries.entry(key).or_insert(Entry {
            doc: None,
            tag: None,
            dirty: false,
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

    /// Puts a document, with an optional secondary key to look it up by.
    pub fn put(&mut self, key: impl Into<String>, doc: D, tag: Option<String>) {
        self.entries.insert(
            key.into(),
            Entry {
                doc: Some(doc),
                tag,
                dirty: true,
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

    /// How many documents are held.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
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
    /// The changed documents as writes, serialized; they count as written
    /// from now on.
    pub(crate) fn take_writes(&mut self) -> Vec<Write> {
        self.entries
            .iter_mut()
            .filter(|(_, e)| e.dirty)
            .map(|(key, e)| {
                e.dirty = false;
                Write {
                    key: key.clone(),
                    tag: e.tag.clone(),
                    doc: e
                        .doc
                        .as_ref()
                        .map(|d| serde_json::to_string(d).unwrap_or_default()),
                }
            })
            .collect()
    }
}
