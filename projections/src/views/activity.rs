//! The activity trail: who did what and when, looked up by actor. (Per
//! stream, the log itself answers: every event carries its actor.)
//!
//! An actor's rows are kept in pages of [`PAGE_ROWS`]: the open page takes
//! new rows and, once full, is stored as a page of its own that never
//! changes again, keyed by its last position. A million events make some
//! fifteen thousand documents, not a million.

use chrono::{DateTime, Utc};
use jejak_engine::store::RecordedEvent;
use serde::{Deserialize, Serialize};

use crate::projection::{Docs, Projection, ProjectionError};

/// One thing someone did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ActivityRow {
    pub position: u64,
    pub recorded_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_role: String,
    pub stream_id: String,
    pub stream_type: String,
    pub event_type: String,
}

/// Rows of one actor, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPage {
    /// The rows.
    pub rows: Vec<ActivityRow>,
}

/// Rows in a full page.
pub const PAGE_ROWS: usize = 64;

/// The activity projection: pages of rows per actor, tagged with the
/// actor's id.
#[derive(Clone, Copy, Debug, Default)]
pub struct Activity;

/// The key of `actor`'s open page: after every full page of theirs.
pub fn open_page_key(actor: &str) -> String {
    format!("{actor}~")
}

/// The key of `actor`'s full page ending at `last_position`: the pages
/// holding anything after position `p` are those keyed after
/// `page_key(actor, p)` up to [`open_page_key`], tagged with the actor
/// (another actor's pages may sort between them: `auditor-10` among
/// `auditor-1`'s).
pub fn page_key(actor: &str, last_position: u64) -> String {
    format!("{actor}#{last_position:020}")
}

impl Projection for Activity {
    const NAME: &'static str = "activity";
    type Doc = ActivityPage;

    fn keys(&self, event: &RecordedEvent) -> Vec<String> {
        event
            .decoded_metadata()
            .actor_id
            .map(|actor| open_page_key(&actor))
            .into_iter()
            .collect()
    }

    fn apply(
        &self,
        event: &RecordedEvent,
        docs: &mut Docs<ActivityPage>,
    ) -> Result<(), ProjectionError> {
        let metadata = event.decoded_metadata();
        let Some(actor_id) = metadata.actor_id else {
            return Ok(());
        };
        let row = ActivityRow {
            position: event.position,
            recorded_at: event.recorded_at,
            actor_id: actor_id.clone(),
            actor_role: metadata.actor_role.unwrap_or_default(),
            stream_id: event.stream_id.to_string(),
            stream_type: event.stream_type.clone(),
            event_type: event.event_type.clone(),
        };
        let open = open_page_key(&actor_id);
        let full = match docs.get_mut(&open) {
            Some(page) => {
                page.rows.push(row);
                (page.rows.len() >= PAGE_ROWS).then(|| std::mem::take(&mut page.rows))
            }
            None => {
                docs.put(
                    open,
                    ActivityPage { rows: vec![row] },
                    Some(actor_id.clone()),
                );
                None
            }
        };
        if let Some(rows) = full {
            let last = rows.last().map_or(event.position, |r| r.position);
            docs.put(
                page_key(&actor_id, last),
                ActivityPage { rows },
                Some(actor_id),
            );
        }
        Ok(())
    }
}
