//! Commands on one stream take turns within a process.
//!
//! Two commands on the same stream decided side by side both read version
//! N, and only one of their appends can be written at N + 1: the other is
//! decided again. With a hundred comments at once on one project that is a
//! hundred rounds of reading and deciding. [`Turns`] queues the commands of
//! one stream instead (commands on other streams never wait for it), so
//! within a process every command on a stream is decided against the
//! version the previous one wrote. Between processes sharing a PostgreSQL
//! log, the expected version still catches a conflict, and
//! [`crate::engine::Engine::execute`] decides again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Mutex as Turn, OwnedMutexGuard};

/// One queue per stream that has a command running; a queue disappears
/// with its last command.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    streams: Mutex<HashMap<String, Arc<Turn<()>>>>,
}

/// A stream's turn, held while its command runs.
#[derive(Debug)]
pub(crate) struct Held<'a> {
    turns: &'a Turns,
    stream: String,
    guard: Option<OwnedMutexGuard<()>>,
    /// True when the command had to wait for another one on the stream.
    pub waited: bool,
}

impl Turns {
    /// Waits for `stream`'s turn.
    pub async fn take(&self, stream: &str) -> Held<'_> {
        let turn = self
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(stream.to_owned())
            .or_default()
            .clone();
        let (guard, waited) = match turn.clone().try_lock_owned() {
            Ok(guard) => (guard, false),
            Err(_) => (turn.lock_owned().await, true),
        };
        Held {
            turns: self,
            stream: stream.to_owned(),
            guard: Some(guard),
            waited,
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // Release the turn first: then a queue only the map holds is idle.
        drop(self.guard.take());
        let mut streams = self
            .turns
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if streams
            .get(&self.stream)
            .is_some_and(|turn| Arc::strong_count(turn) == 1)
        {
            streams.remove(&self.stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_waits_for_its_turn_and_its_queue_goes_with_the_last_command() {
        let turns = Turns::default();
        let first = turns.take("a").await;
        assert!(!first.waited);
        let other = turns.take("b").await;
        assert!(!other.waited, "another stream never waits");
        let second = {
            let turns = &turns;
            async move { turns.take("a").await }
        };
        tokio::pin!(second);
        assert!(
            futures::poll!(second.as_mut()).is_pending(),
            "the same stream waits"
        );
        drop(first);
        let second = second.await;
        assert!(second.waited);
        drop(second);
        drop(other);
        assert!(turns.streams.lock().unwrap().is_empty());
    }
}
