//! What a server checks before it serves.

use jejak_engine::store::EventStore;

use crate::ServeError;

/// Verifies the chain from where the last start left off to the head
/// (`EventStore::verify_since_last_start`): a log changed behind the
/// server's back is refused, naming the first position that fails.
pub(crate) async fn verify_log(store: &EventStore) -> Result<(), ServeError> {
    let started = std::time::Instant::now();
    let report = store
        .verify_since_last_start()
        .await
        .map_err(ServeError::Verify)?;
    if let Some(at) = report.first_break {
        tracing::error!(%at, "the log does not verify; not serving it");
        return Err(ServeError::LogBroken(at));
    }
    tracing::info!(
        from = report.from,
        to = report.to,
        checked = report.checked,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "the log verifies"
    );
    Ok(())
}
