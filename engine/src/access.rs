//! Access decisions an operator records in the log: a token revoked by its
//! id, or every token of a subject issued before a moment. They live in the
//! stream `access`; every server sharing the log follows it (the server's
//! `auth` keeps the set in memory), and an auditor reads who revoked what.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::codec::{decode, encode};
use crate::domain::{DomainError, Role};
use crate::engine::{CommandError, Context, Engine, Outcome};
use crate::store::{AppendRequest, Direction, ExpectedVersion, MAX_READ_LIMIT, StreamId};

/// The stream that records revocations.
pub const ACCESS_STREAM: &str = "access";

/// A revocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessEvent {
    /// One token, by its id (`jti`), is no longer accepted.
    TokenRevoked {
        /// The token's id.
        token_id: String,
        /// Why, in words.
        reason: String,
    },
    /// Every token of `subject` issued before `issued_before` is no longer
    /// accepted.
    SubjectTokensRevoked {
        /// The subject (user id or NIP) as tokens name it.
        subject: String,
        /// Tokens issued before this moment are refused.
        issued_before: DateTime<Utc>,
        /// Why, in words.
        reason: String,
    },
}

fn field(name: &str, value: &str, max: usize) -> Result<String, DomainError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            name,
            format!("give 1–{max} printable characters"),
        ));
    }
    Ok(value.to_owned())
}

impl Engine {
    /// Records a revocation. Only operators (`admin`) revoke.
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] for other roles; [`DomainError::Invalid`]
    /// for an empty or overlong token id, subject or reason; store failures.
    pub async fn revoke(&self, ctx: &Context, event: AccessEvent) -> Result<Outcome, CommandError> {
        if ctx.actor.role != Role::Admin {
            return Err(DomainError::forbidden("only an operator (admin) revokes tokens").into());
        }
        let event = match event {
            AccessEvent::TokenRevoked { token_id, reason } => AccessEvent::TokenRevoked {
                token_id: field("token_id", &token_id, 200)?,
                reason: field("reason", &reason, 500)?,
            },
            AccessEvent::SubjectTokensRevoked {
                subject,
                issued_before,
                reason,
            } => AccessEvent::SubjectTokensRevoked {
                subject: field("subject", &subject, 200)?,
                issued_before,
                reason: field("reason", &reason, 500)?,
            },
        };
        let stream = StreamId::parse(ACCESS_STREAM)?;
        let written = self
            .store()
            .append(
                AppendRequest::new(stream, "access", ExpectedVersion::Any)
                    .event(encode(&event, ctx.metadata()))
                    .request_id(ctx.request_id.clone()),
            )
            .await?;
        if written.duplicate {
            self.same_command(&written, ctx).await?;
        }
        Ok(Outcome::of_one(
            written,
            match event {
                AccessEvent::TokenRevoked { .. } => "TokenRevoked",
                AccessEvent::SubjectTokensRevoked { .. } => "SubjectTokensRevoked",
            },
        ))
    }

    /// The revocations recorded after stream version `after`, with their
    /// versions, oldest first.
    ///
    /// # Errors
    /// Store failures; an event that cannot be read.
    pub async fn revocations_after(
        &self,
        after: u64,
    ) -> Result<Vec<(u64, AccessEvent)>, CommandError> {
        let stream = StreamId::parse(ACCESS_STREAM)?;
        let mut out = Vec::new();
        let mut next = after + 1;
        loop {
            let batch = self
                .store()
                .read_stream(&stream, Direction::Forward, Some(next), MAX_READ_LIMIT)
                .await?;
            let Some(last) = batch.last() else { break };
            next = last.stream_version + 1;
            for recorded in &batch {
                out.push((recorded.stream_version, decode::<AccessEvent>(recorded)?));
            }
            if batch.len() < MAX_READ_LIMIT {
                break;
            }
        }
        Ok(out)
    }
}
