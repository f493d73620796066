//! The web portal's sign-in records (ADR 0034): two tables beside the log,
//! outside the hash chain.
//!
//! - `portal_links`: the ids of one-time sign-in links already used.
//!   [`EventStore::consume_link`] inserts one and says whether it was new,
//!   so that a link opens one session, on any server sharing the database.
//! - `portal_sessions`: the sessions, keyed by the SHA-256 of their id
//!   (the id itself lives only in the person's cookie), naming the subject,
//!   role and scope they act as, and nothing personal besides.
//! - `portal_grants` (ADR 0036): which accounts of an identity provider may
//!   sign in, and as whom. A session a grant opened names it, and opens
//!   only while that grant is there.
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
    /// The grant that opened it, when it was opened through the region's
    /// identity provider (ADR 0036); `None` for a one-time link's.
    pub grant_id: Option<String>,
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
    Option<String>,
);

/// Who an account of an identity provider signs in to the portal as
/// (ADR 0036).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRow {
    /// The identity provider (its issuer URL, exactly as its tokens say).
    pub issuer: String,
    /// The account's subject at the provider: an opaque id.
    pub issuer_subject: String,
    /// This grant's own id (new each time the account is granted).
    pub grant_id: String,
    /// The jejak subject its sessions act as: a staff user id or a
    /// participant's person id.
    pub subject: String,
    /// The role's code.
    pub role: String,
    /// The OPD an innovation officer acts for.
    pub opd: Option<String>,
    /// The training provider an organizer acts for.
    pub provider: Option<String>,
    /// When it was granted.
    pub granted_at: DateTime<Utc>,
}

type GrantTuple = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
);

fn grant_row(
    (issuer, issuer_subject, grant_id, subject, role, opd, provider, granted): GrantTuple,
) -> GrantRow {
    GrantRow {
        issuer,
        issuer_subject,
        grant_id,
        subject,
        role,
        opd,
        provider,
        granted_at: time(granted),
    }
}

const GRANT_COLUMNS: &str =
    "issuer, issuer_subject, grant_id, subject, role, opd, provider, granted_at";

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
                   issued_at, created_at, expires_at, grant_id) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
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
                &row.grant_id,
            ],
            execute,
            write
        );
        Ok(())
    }

    /// The session whose id hashes to `id_hash`, if it is open at `now`
    /// (not ended, not expired, and, when a grant opened it, that grant is
    /// still there).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, StoreError> {
        let sql = "SELECT id_hash, subject, role, opd, provider, token_id, issued_at, created_at, \
                   expires_at, grant_id FROM portal_sessions \
                   WHERE id_hash = $1 AND ended_at IS NULL AND expires_at > $2 \
                   AND (grant_id IS NULL \
                        OR grant_id IN (SELECT grant_id FROM portal_grants))";
        let row: Option<Row> =
            on_backend!(self, query_as, sql, [id_hash, micros(now)], fetch_optional);
        Ok(row.map(
            |(
                id_hash,
                subject,
                role,
                opd,
                provider,
                token_id,
                issued,
                created,
                expires,
                grant_id,
            )| {
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
                    grant_id,
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

    /// Grants the account `row.issuer_subject` of `row.issuer` a portal
    /// session as `row.subject` in `row.role` (ADR 0036), replacing any
    /// grant it had: the sessions the old one opened then open nothing.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn put_portal_grant(&self, row: &GrantRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO portal_grants ({GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (issuer, issuer_subject) DO UPDATE SET grant_id = excluded.grant_id, \
             subject = excluded.subject, role = excluded.role, opd = excluded.opd, \
             provider = excluded.provider, granted_at = excluded.granted_at"
        );
        on_backend!(
            self,
            query,
            sql.as_str(),
            [
                &row.issuer,
                &row.issuer_subject,
                &row.grant_id,
                &row.subject,
                &row.role,
                &row.opd,
                &row.provider,
                micros(row.granted_at),
            ],
            execute,
            write
        );
        Ok(())
    }

    /// Revokes the grant of the account `issuer_subject` of `issuer`: its
    /// sessions open nothing from now on, on every server. True when there
    /// was one.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn remove_portal_grant(
        &self,
        issuer: &str,
        issuer_subject: &str,
    ) -> Result<bool, StoreError> {
        let done = on_backend!(
            self,
            query,
            "DELETE FROM portal_grants WHERE issuer = $1 AND issuer_subject = $2",
            [issuer, issuer_subject],
            execute,
            write
        );
        Ok(done > 0)
    }

    /// The grant of the account `issuer_subject` of `issuer`, if any.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn portal_grant(
        &self,
        issuer: &str,
        issuer_subject: &str,
    ) -> Result<Option<GrantRow>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM portal_grants WHERE issuer = $1 AND issuer_subject = $2"
        );
        let row: Option<GrantTuple> = on_backend!(
            self,
            query_as,
            sql.as_str(),
            [issuer, issuer_subject],
            fetch_optional
        );
        Ok(row.map(grant_row))
    }

    /// Every grant, of one issuer or of all, by issuer and account.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn portal_grants(&self, issuer: Option<&str>) -> Result<Vec<GrantRow>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM portal_grants WHERE ($1 IS NULL OR issuer = $1) \
             ORDER BY issuer, issuer_subject"
        );
        let rows: Vec<GrantTuple> = on_backend!(self, query_as, sql.as_str(), [issuer], fetch_all);
        Ok(rows.into_iter().map(grant_row).collect())
    }
}
