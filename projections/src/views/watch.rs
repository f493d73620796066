//! A mentor's inbox, watched: what newly waits for them, as the project
//! board changes.
//!
//! A watch costs what changes, not the board. It follows the board's change
//! feed ([`Runner::changes`]): each committed write of the board brings the
//! projects it changed, and the watch looks only at those of its mentor. It
//! reads its mentor's projects from the view again only when the feed says
//! so (a reset, or the watch fell behind the feed), and while another
//! process applies the board (PostgreSQL standby), when the log's head
//! moves, as every watch did before.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use jejak_engine::clock::Clock;
use tokio::sync::{broadcast, watch};

use super::{InboxItem, ProjectBoard, ProjectRow, ViewError, Views, inbox_of};
use crate::runner::{Change, RunState, Status};

/// An item's identity: sent once per watch.
type Sent = (u8, String, Option<String>, DateTime<Utc>);

/// What newly waits for one mentor; see [`Views::watch_inbox`].
#[derive(Debug)]
pub struct InboxWatch {
    views: Views,
    mentor: String,
    clock: Arc<dyn Clock>,
    feed: broadcast::Receiver<Arc<Change<ProjectRow>>>,
    status: watch::Receiver<Status>,
    head: watch::Receiver<u64>,
    sent: HashSet<Sent>,
    /// The view must be read again before the feed is trusted.
    reread: bool,
    /// Reads of the whole inbox so far (the first one included).
    rereads: u64,
    /// The last read failed: read again on the next news.
    retry: bool,
}

impl Views {
    /// Watches `mentor`'s inbox: [`InboxWatch::next`] returns what waits
    /// for them now, then each time something new does. The first read
    /// waits for `min_position` (read-your-writes).
    ///
    /// # Errors
    /// [`ViewError`] when the first read fails.
    pub fn watch_inbox(
        &self,
        mentor: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<InboxWatch, ViewError> {
        // Follow the feed before the first read, so nothing falls between.
        let feed = self.runner.changes::<ProjectBoard>().ok_or_else(|| {
            crate::WaitError::UnknownView(<ProjectBoard as crate::Projection>::NAME.to_owned())
        })?;
        let status = self
            .runner
            .watch_status(<ProjectBoard as crate::Projection>::NAME)?;
        Ok(InboxWatch {
            views: self.clone(),
            mentor: mentor.to_owned(),
            clock,
            feed,
            status,
            head: self.runner.store().watch_head(),
            sent: HashSet::new(),
            reread: true,
            rereads: 0,
            retry: false,
        })
    }
}

impl InboxWatch {
    /// The items among `items` not sent yet, marked sent.
    fn fresh(&mut self, items: Vec<InboxItem>) -> Vec<InboxItem> {
        items
            .into_iter()
            .filter(|item| {
                self.sent.insert((
                    item.kind as u8,
                    item.project_id.clone(),
                    item.milestone_id.clone(),
                    item.since,
                ))
            })
            .collect()
    }

    /// Whether this process applies the board (its feed tells every change).
    fn applied_here(&self) -> bool {
        matches!(
            self.status.borrow().state,
            RunState::CatchingUp
                | RunState::Following
                | RunState::Rebuilding
                | RunState::Failed { .. }
        )
    }

    /// How many times the watch read its mentor's whole inbox from the
    /// view (the first read included): what a watch costs beyond the
    /// changes it is told.
    pub fn rereads(&self) -> u64 {
        self.rereads
    }

    /// The first time, every item waiting (after `min_position`); then
    /// waits until something new waits for the mentor and returns it,
    /// oldest first. `None` when the views stopped.
    ///
    /// # Errors
    /// [`ViewError`] when the first read fails; later reads that fail are
    /// logged and tried again on the next change.
    pub async fn next(
        &mut self,
        min_position: Option<u64>,
    ) -> Result<Option<Vec<InboxItem>>, ViewError> {
        loop {
            if self.reread {
                self.reread = false;
                let first = self.rereads == 0;
                self.rereads += 1;
                // Applied here, whatever the view holds now will do: every
                // write after it comes through the feed. Applied elsewhere,
                // the view must first reach the head that woke the watch.
                let position = if first {
                    min_position
                } else if self.applied_here() {
                    None
                } else {
                    Some(*self.head.borrow_and_update())
                };
                match self.views.waiting_for(&self.mentor, position).await {
                    Ok(rows) => {
                        let items = self.fresh(inbox_of(&rows, self.clock.now()));
                        if first || !items.is_empty() {
                            return Ok(Some(items));
                        }
                    }
                    Err(err) if first => return Err(err),
                    Err(err) => {
                        tracing::warn!(error = %err, "an inbox watch could not read the view; trying again on the next change");
                        self.retry = true;
                    }
                }
                continue;
            }
            let applied_here = self.applied_here();
            if std::mem::take(&mut self.retry) {
                // Wait for any news, then read again.
                tokio::select! {
                    change = self.feed.recv() => if matches!(change, Err(broadcast::error::RecvError::Closed)) { return Ok(None) },
                    changed = self.head.changed() => if changed.is_err() { return Ok(None) },
                }
                self.reread = true;
                continue;
            }
            tokio::select! {
                change = self.feed.recv() => match change {
                    Ok(change) => match &*change {
                        Change::Docs { docs, .. } => {
                            let mut rows: Vec<ProjectRow> = docs
                                .iter()
                                .filter_map(|(_, doc)| doc.as_ref())
                                .filter(|row| row.mentor == self.mentor)
                                .cloned()
                                .collect();
                            if rows.is_empty() {
                                continue;
                            }
                            if let Err(err) = self.views.open_rows(&mut rows).await {
                                tracing::warn!(error = %err, "an inbox watch could not open a participant's fields; reading the view again");
                                self.reread = true;
                                continue;
                            }
                            let items = self.fresh(inbox_of(&rows, self.clock.now()));
                            if !items.is_empty() {
                                return Ok(Some(items));
                            }
                        }
                        Change::Reset => self.reread = true,
                    },
                    Err(broadcast::error::RecvError::Lagged(_)) => self.reread = true,
                    Err(broadcast::error::RecvError::Closed) => return Ok(None),
                },
                changed = self.head.changed(), if !applied_here => {
                    if changed.is_err() {
                        return Ok(None);
                    }
                    self.reread = true;
                }
            }
        }
    }
}
