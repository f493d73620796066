//! Recently used aggregate states, so that a command on a stream this
//! process wrote a moment ago decides without reading the stream again.
//!
//! The cache is under the log like a snapshot (ADR 0023): an entry is a
//! state folded from the log (or from a state that was, plus the events
//! this process appended after it) at a stream version, and it is only ever
//! used to decide a command whose append expects exactly that version. If
//! another process wrote the stream meanwhile, the append is refused with
//! the actual version, and the command is decided again on the stream as
//! read. A command that would not write from a cached state (a refusal, a
//! no-op, a stranger, another expected version) is decided again on the
//! stream as read, too, so that no answer rests on a state the log did not
//! confirm.
//!
//! While a command runs it holds its stream's turn (`turns.rs`) and has
//! taken the stream's entry out of the cache; it puts back the state it
//! leaves. The number of entries is bounded ([`crate::engine::EngineConfig::cached_states`]);
//! the least recently used goes first.

use std::any::Any;
use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};

use crate::engine::Loaded;

/// A stream's state, of whatever aggregate it is.
struct Entry {
    state: Box<dyn Any + Send + Sync>,
}

/// The cache: stream id → the newest state this process knows of it.
pub(crate) struct States {
    entries: Option<Mutex<lru::LruCache<String, Entry>>>,
}

impl std::fmt::Debug for States {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("States")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

impl States {
    /// A cache of at most `capacity` states; 0 keeps none.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: NonZeroUsize::new(capacity).map(|c| Mutex::new(lru::LruCache::new(c))),
        }
    }

    fn capacity(&self) -> usize {
        self.entries.as_ref().map_or(0, |e| {
            e.lock().unwrap_or_else(PoisonError::into_inner).cap().get()
        })
    }

    /// Takes `stream`'s state out of the cache, if it holds one of type `S`.
    pub fn take<S: Send + Sync + 'static>(&self, stream: &str) -> Option<Loaded<S>> {
        let entry = self
            .entries
            .as_ref()?
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop(stream)?;
        entry.state.downcast::<Loaded<S>>().ok().map(|b| *b)
    }

    /// Keeps `loaded` as `stream`'s newest known state.
    pub fn put<S: Send + Sync + 'static>(&self, stream: &str, loaded: Loaded<S>) {
        if let Some(entries) = &self.entries {
            entries.lock().unwrap_or_else(PoisonError::into_inner).put(
                stream.to_owned(),
                Entry {
                    state: Box::new(loaded),
                },
            );
        }
    }

    /// Forgets `stream`'s state (another process wrote it).
    pub fn forget(&self, stream: &str) {
        if let Some(entries) = &self.entries {
            entries
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop(stream);
        }
    }

    /// Forgets every state (personal data erased: no state keeps what a
    /// key opened).
    pub fn clear(&self) {
        if let Some(entries) = &self.entries {
            entries
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
    }

    /// States held now.
    pub fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, |e| {
            e.lock().unwrap_or_else(PoisonError::into_inner).len()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(state: u64, version: u64) -> Loaded<u64> {
        Loaded {
            state,
            version,
            position: version,
            snapshot_version: 0,
        }
    }

    #[test]
    fn a_state_is_taken_out_while_its_command_runs_and_the_oldest_goes_first() {
        let states = States::new(2);
        states.put("a", loaded(1, 1));
        states.put("b", loaded(2, 2));
        let a = states.take::<u64>("a").expect("kept");
        assert_eq!((a.state, a.version), (1, 1));
        assert!(states.take::<u64>("a").is_none(), "taken out");
        states.put("a", loaded(3, 2));
        states.put("c", loaded(4, 1));
        assert!(
            states.take::<u64>("b").is_none(),
            "the least recently used went"
        );
        assert!(
            states.take::<String>("a").is_none(),
            "another type is a miss"
        );
        assert_eq!(states.len(), 1);
        states.clear();
        assert_eq!(states.len(), 0);
    }

    #[test]
    fn no_capacity_keeps_nothing() {
        let states = States::new(0);
        states.put("a", loaded(1, 1));
        assert!(states.take::<u64>("a").is_none());
    }
}
