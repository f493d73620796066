//! Following the log: catch up from a position, then follow new appends.

use std::collections::VecDeque;

use tokio::sync::watch;

use super::{EventStore, RecordedEvent, StoreError};

/// How many events a subscription reads at once.
const BATCH: usize = 1_000;

/// Delivers every event after a starting position exactly once, in position
/// order, first from the log as it is (catching up) and then as new events
/// are appended (following). Because appends commit in position order,
/// "position greater than the last delivered" never skips an event, also
/// across the hand-over from catching up to following.
#[derive(Debug)]
pub struct Subscription {
    store: EventStore,
    after: u64,
    buffer: VecDeque<RecordedEvent>,
    head: watch::Receiver<u64>,
}

impl EventStore {
    /// A subscription to every event with position greater than `after`
    /// (0: from the first event).
    pub fn subscribe(&self, after: u64) -> Subscription {
        Subscription {
            store: self.clone(),
            after,
            buffer: VecDeque::new(),
            head: self.watch_head(),
        }
    }
}

impl Subscription {
    /// The position of the last event delivered (or the starting position).
    pub fn position(&self) -> u64 {
        self.after
    }

    /// The next event, waiting for one to be appended when caught up.
    ///
    /// # Errors
    /// Storage failures; the subscription can be polled again afterwards and
    /// resumes where it stopped.
    pub async fn next(&mut self) -> Result<RecordedEvent, StoreError> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.after = event.position;
                return Ok(event);
            }
            self.fill().await?;
        }
    }

    /// Up to `max` events that are already in the log, without waiting.
    /// Empty when caught up.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        if self.buffer.is_empty() {
            let batch = self
                .store
                .read_all(self.after, max.clamp(1, super::MAX_READ_LIMIT))
                .await?;
            self.buffer.extend(batch);
        }
        let take = self.buffer.len().min(max);
        let batch: Vec<_> = self.buffer.drain(..take).collect();
        if let Some(last) = batch.last() {
            self.after = last.position;
        }
        Ok(batch)
    }

    async fn fill(&mut self) -> Result<(), StoreError> {
        // Mark the head seen *before* reading, so that an append committed
        // after the read wakes the wait below.
        self.head.borrow_and_update();
        let batch = self.store.read_all(self.after, BATCH).await?;
        if batch.is_empty() {
            // Appends of other processes reach us by notification (PostgreSQL)
            // or, failing that, by this poll.
            let poll = self.store.config().poll_interval;
            let _ = tokio::time::timeout(poll, self.head.changed()).await;
        } else {
            self.buffer.extend(batch);
        }
        Ok(())
    }
}
