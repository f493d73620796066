//! The chain verified on start, incrementally.
//!
//! A server verifies the log before it serves: from the event the last
//! start verified (its position and hash are kept in `log_verified`) to the
//! head, then records the new head. The first start walks the whole log;
//! later ones walk only what was appended since. The record lives in the
//! database, so it stops nobody who can write there from moving it; it
//! catches a log changed behind the server's back by someone who did not
//! know of it, and costs a restart almost nothing.

use chrono::Utc;

use super::{Backend, Digest, EventStore, StoreError, VerifyReport};

impl EventStore {
    /// The position and hash the last verification on start reached.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn verified_on_start(&self) -> Result<Option<Digest>, StoreError> {
        let row: Option<(i64, Vec<u8>)> = match &self.inner.backend {
            Backend::Sqlite(s) => {
                sqlx::query_as("SELECT position, hash FROM log_verified WHERE id = 1")
                    .fetch_optional(&s.pool)
                    .await?
            }
            Backend::Postgres(p) => {
                sqlx::query_as("SELECT position, hash FROM log_verified WHERE id = 1")
                    .fetch_optional(&p.pool)
                    .await?
            }
        };
        Ok(row.map(|(position, hash)| Digest {
            position: position as u64,
            hash: hash.try_into().unwrap_or([0; 32]),
        }))
    }

    /// Verifies the chain from the event the last start verified (which must
    /// still have the hash recorded then) to the head, and, when it is
    /// intact and the log is writable, records the head as verified.
    ///
    /// # Errors
    /// Storage failures. A broken chain is not an error: the report says
    /// where it breaks, and nothing is recorded.
    pub async fn verify_since_last_start(&self) -> Result<VerifyReport, StoreError> {
        let recorded = if self.inner.config.read_only {
            // A read-only copy may predate the record's table.
            self.verified_on_start().await.unwrap_or(None)
        } else {
            self.verified_on_start().await?
        };
        let report = match recorded {
            Some(d) if d.position > 0 => self.verify(d.position, None, Some(d)).await?,
            _ => self.verify(1, None, None).await?,
        };
        if report.is_intact() && report.checked > 0 && !self.inner.config.read_only {
            self.record_verified(report.digest).await?;
        }
        Ok(report)
    }

    async fn record_verified(&self, digest: Digest) -> Result<(), StoreError> {
        let position = i64::try_from(digest.position).unwrap_or(i64::MAX);
        match &self.inner.backend {
            Backend::Sqlite(s) => {
                let _write = s.write_lock.lock().await;
                sqlx::query(
                    "INSERT INTO log_verified (id, position, hash, verified_at) VALUES (1, ?, ?, ?) \
                     ON CONFLICT (id) DO UPDATE SET position = excluded.position, \
                     hash = excluded.hash, verified_at = excluded.verified_at \
                     WHERE log_verified.position < excluded.position",
                )
                .bind(position)
                .bind(&digest.hash[..])
                .bind(super::sqlite::format_time(Utc::now()))
                .execute(&s.pool)
                .await?;
            }
            Backend::Postgres(p) => {
                sqlx::query(
                    "INSERT INTO log_verified (id, position, hash, verified_at) \
                     VALUES (1, $1, $2, now()) \
                     ON CONFLICT (id) DO UPDATE SET position = excluded.position, \
                     hash = excluded.hash, verified_at = excluded.verified_at \
                     WHERE log_verified.position < excluded.position",
                )
                .bind(position)
                .bind(&digest.hash[..])
                .execute(&p.pool)
                .await?;
            }
        }
        Ok(())
    }
}
