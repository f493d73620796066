//! Errors of the event store, kept apart from domain errors.

use super::{ExpectedVersion, StreamId};

/// Why the store refused or failed an operation. Messages are written for
/// the person who has to act on them and never contain SQL.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The caller passed something the store cannot accept; nothing was written.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it and what would be accepted.
        reason: String,
    },
    /// The stream was not at the version the append expected; nothing was written.
    #[error(
        "stream {stream_id} was expected at {expected} but is {}; reload it and decide again",
        actual.map_or_else(|| "absent".to_string(), |v| format!("at version {v}"))
    )]
    WrongExpectedVersion {
        /// The stream.
        stream_id: StreamId,
        /// What the append expected.
        expected: ExpectedVersion,
        /// The stream's actual version (`None`: the stream does not exist).
        actual: Option<u64>,
    },
    /// The stream exists with another stream type.
    #[error("stream {stream_id} holds {actual} events, not {requested}; use another stream id")]
    StreamTypeMismatch {
        /// The stream.
        stream_id: StreamId,
        /// Its recorded stream type.
        actual: String,
        /// The stream type the append named.
        requested: String,
    },
    /// The request id was first used for a different stream.
    #[error(
        "request id {request_id} was already used for stream {first_stream}; send a new request id for a new command"
    )]
    RequestIdReused {
        /// The request id.
        request_id: String,
        /// The stream it was first used on.
        first_stream: StreamId,
    },
    /// The database cannot be reached or cannot take writes right now; retrying later may work.
    #[error("the event store is unavailable: {0}")]
    Unavailable(String),
    /// The store is shut down.
    #[error("the event store has shut down; restart the server")]
    Closed,
    /// Something failed inside the store; details are in the server log.
    #[error("the event store failed: {0}")]
    Internal(String),
}

impl StoreError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &err {
            E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed | E::Tls(_) => {
                tracing::warn!(error = %err, "database unreachable");
                Self::Unavailable("cannot reach the database; check that it is running".into())
            }
            E::Database(db) => {
                let message = db.message().to_string();
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                tracing::error!(%code, %message, "database error");
                // SQLite: 13 SQLITE_FULL, 8 SQLITE_READONLY, 5/6 BUSY/LOCKED.
                // PostgreSQL: class 53 (resources), 57P (operator intervention), 08 (connection).
                match code.as_str() {
                    "13" => {
                        Self::Unavailable("the database disk is full; free space and retry".into())
                    }
                    "8" | "776" | "1032" => Self::Unavailable(
                        "the database is read-only; it can be read but takes no writes".into(),
                    ),
                    "5" | "6" | "517" => Self::Unavailable("the database is busy; retry".into()),
                    c if c.starts_with("53") || c.starts_with("57P") || c.starts_with("08") => {
                        Self::Unavailable(
                            "the database is not accepting work right now; retry".into(),
                        )
                    }
                    "25006" => Self::Unavailable(
                        "the database is read-only; it can be read but takes no writes".into(),
                    ),
                    _ if message.contains("append-only") => {
                        Self::Internal("the event log is append-only".into())
                    }
                    _ => Self::Internal("a database statement failed".into()),
                }
            }
            _ => {
                tracing::error!(error = %err, "database failure");
                Self::Internal("a database operation failed".into())
            }
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        tracing::error!(error = %err, "migration failed");
        Self::Internal(format!("preparing the database schema failed: {err}"))
    }
}
