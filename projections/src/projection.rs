//! What a read model is: a [`Projection`] names the documents an event
//! touches and applies the event to them.

use std::collections::HashMap;

use jejak_engine::store::RecordedEvent;
use serde::{Serialize, de::DeserializeOwned};

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

/// The documents a batch of events works on: loaded before the batch,
/// written (those changed) with the checkpoint after it.
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

    pub(crate) fn take_dirty(&mut self) -> Vec<(String, Option<String>, Option<D>)> {
        self.entries
            .iter_mut()
            .filter(|(_, e)| e.dirty)
            .map(|(k, e)| {
                e.dirty = false;
                (k.clone(), e.tag.clone(), e.doc.clone())
            })
            .collect()
    }
}
