//! The web portal's sign-in records (ADR 0034): two tables beside the log,
//! outside the hash chain.
//!
//! - `portal_links`: the ids of one-time sign-in links already used.
//!   [`EventStore::consume_link`] inserts one and says whether it was new,
//!   so that a link opens one session, on any server sharing the database.
//! - `portal_sessions`: the sessions, keyed by the SHA-256 of their id
//!   (the id itself lives only in the person's cookie), naming the subject,
//!   role and scope they act as, and nothing personal besides.
//!
//! Times are kept as microseconds since the epoch on both backends.

use chrono::{DateTime, Utc};

use super::{Backend, EventStore, StoreError, micros, time};

/// One portal session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// The SHA-256 (hex) of the session's id.
    pub id_hash: String,
    /// A staff user id or a participant's person id.
    pub subject: String,
    /// The role's code.
    pub role: String,
    /// The OPD an innovation officer acts for.
    pub opd: Option<String>,
    /// The training provider an organizer acts for.
    pub provider: Option<String>,
    /// The id of the sign-in link that opened it (revoking that id ends it).
    pub token_id: String,
    /// When that link was issued (seconds since the epoch): revoking the
    /// subject's tokens issued before a moment after it ends the session.
    pub issued_at: u64,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it ends by itself.
    pub expires_at: DateTime<Utc>,
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    i64,
);

impl EventStore {
    /// Records that the sign-in link `token_id` was used at `at`. True the
    /// first time; false when it had been used before (here or on another
    /// server sharing the database), and nothing is written.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn consume_link(
        &self,
        token_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = on_backend!(
            self,
            query,
            "INSERT INTO portal_links (token_id, used_at) VALUES ($1, $2) \
             ON CONFLICT (token_id) DO NOTHING",
            [token_id, micros(at)],
            execute,
            write
        );
        Ok(done == 1)
    }

    /// Stores a new session.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn open_session(&self, row: &SessionRow) -> Result<(), StoreError> {
        let sql = "INSERT INTO portal_sessions (id_hash, subject, role, opd, provider, token_id, \
                   issued_at, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        let issued = i64::try_from(row.issued_at).unwrap_or(i64::MAX);
        on_backend!(
            self,
            query,
            sql,
            [
                &row.id_hash,
                &row.subject,
                &row.role,
                &row.opd,
                &row.provider,
                &row.token_id,
                issued,
                micros(row.created_at),
                micros(row.expires_at),
            ],
            execute,
            write
        );
        Ok(())
    }

    /// The session whose id hashes to `id_hash`, if it is open at `now`
    /// (not ended, not expired).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, StoreError> {
        let sql = "SELECT id_hash, subject, role, opd, provider, token_id, issued_at, created_at, \
                   expires_at FROM portal_sessions \
                   WHERE id_hash = $1 AND ended_at IS NULL AND expires_at > $2";
        let row: Option<Row> =
            on_backend!(self, query_as, sql, [id_hash, micros(now)], fetch_optional);
        Ok(row.map(
            |(id_hash, subject, role, opd, provider, token_id, issued, created, expires)| {
                SessionRow {
                    id_hash,
                    subject,
                    role,
                    opd,
                    provider,
                    token_id,
                    issued_at: u64::try_from(issued).unwrap_or_default(),
                    created_at: time(created),
                    expires_at: time(expires),
                }
            },
        ))
    }

    /// Ends the session whose id hashes to `id_hash` (signing out). True
    /// when an open one was ended.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn end_session(&self, id_hash: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let sql =
            "UPDATE portal_sessions SET ended_at = $2 WHERE id_hash = $1 AND ended_at IS NULL";
        let done = on_backend!(self, query, sql, [id_hash, micros(at)], execute, write);
        Ok(done > 0)
    }
}
