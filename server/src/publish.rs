//! Publishing signed checkpoints into a folder, for witnesses: every
//! `every_events` events or every `every`, whichever comes first, when the
//! log has grown. Each is written as `checkpoint-SIZE` and copied to
//! `checkpoint` (the newest), each by a rename, so a reader never sees half
//! a note.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jejak_engine::store::EventStore;

/// Where and how often.
#[derive(Clone, Debug)]
pub struct Publish {
    /// The folder (created if missing).
    pub dir: PathBuf,
    /// Publish once this many events were appended since the last checkpoint.
    pub every_events: u64,
    /// Publish at least this often while the log grows.
    pub every: Duration,
}

fn write_atomic(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, dir.join(name))
}

/// Publishes the current checkpoint if the log grew past `last`; the size
/// published.
///
/// # Errors
/// When the checkpoint cannot be signed or written.
pub async fn publish_once(
    store: &EventStore,
    dir: &Path,
    last: u64,
) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    let signed = store.signed_checkpoint().await?;
    let size = signed.checkpoint.size;
    if size <= last {
        return Ok(last);
    }
    std::fs::create_dir_all(dir)?;
    write_atomic(dir, &format!("checkpoint-{size}"), &signed.note)?;
    write_atomic(dir, "checkpoint", &signed.note)?;
    tracing::info!(size, dir = %dir.display(), "published a checkpoint");
    Ok(size)
}

/// Spawns the publisher; it runs as long as the process.
pub fn spawn(store: EventStore, publish: Publish) {
    tokio::spawn(async move {
        let mut head = store.watch_head();
        let mut last = 0;
        let mut since = tokio::time::Instant::now();
        loop {
            let due = tokio::time::sleep_until(since + publish.every);
            tokio::select! {
                changed = head.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if *head.borrow_and_update() < last + publish.every_events {
                        continue;
                    }
                }
                () = due => {}
            }
            since = tokio::time::Instant::now();
            match publish_once(&store, &publish.dir, last).await {
                Ok(size) => last = size,
                Err(err) => tracing::warn!(error = %err, "cannot publish a checkpoint"),
            }
        }
    });
}
