//! Erasing a person: recorded in the log, then their key destroyed.

use serde::{Deserialize, Serialize};

use super::keys::{self, KeyRow, Scrubbed};
use crate::codec::{decode, encode};
use crate::domain::{DomainError, Role};
use crate::engine::{CommandError, Context, Engine, Outcome};
use crate::store::{AppendRequest, Direction, ExpectedVersion, StreamId};

/// The stream that records what was done with personal data.
pub const PRIVACY_STREAM: &str = "privacy";

/// What was done with personal data. Never holds the data itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrivacyEvent {
    /// A person's data key was destroyed: their personal fields are
    /// unreadable for good. Who erased is the event's actor, when its time.
    PersonErased {
        /// The person (an opaque id).
        person: String,
        /// The legal basis, in words (e.g. "UU 27/2022 Pasal 8, request of 2026-11-02").
        basis: String,
    },
    /// An auditor was given the log with personal fields opened (a full
    /// export, ADR 0022). Who is the event's actor, when its time.
    PersonalDataExported {
        /// Why, in their words.
        reason: String,
        /// The export starts after this position.
        after_position: u64,
    },
}

/// What an erasure did.
#[derive(Clone, Debug)]
pub struct Erasure {
    /// The `PersonErased` event.
    pub outcome: Outcome,
    /// How the key's bytes left the database files.
    pub scrubbed: Scrubbed,
}

/// A stated reason: 3–500 printable characters.
pub(crate) fn reason(field: &str, text: &str, example: &str) -> Result<String, DomainError> {
    let text = text.trim();
    if text.chars().count() < 3 || text.chars().count() > 500 || text.chars().any(char::is_control)
    {
        return Err(DomainError::invalid(
            field,
            format!("state it in 3–500 printable characters, e.g. \"{example}\""),
        ));
    }
    Ok(text.to_owned())
}

fn basis(text: &str) -> Result<String, DomainError> {
    let text = text.trim();
    if text.chars().count() < 3 || text.chars().count() > 500 || text.chars().any(char::is_control)
    {
        return Err(DomainError::invalid(
            "basis",
            "state the legal basis of the erasure in 3–500 printable characters, \
             e.g. \"UU 27/2022 Pasal 8: request of the person, 2026-11-02\"",
        ));
    }
    Ok(text.to_owned())
}

impl Engine {
    /// Erases `person`: records `PersonErased` (who, when, `basis`) in the
    /// stream `privacy`, then deletes them from the people index (NIP to
    /// person id) and their contact for notifications (dropping what was
    /// still to be sent to them), destroys their data key, and scrubs both from the
    /// database files. Every event keeps its bytes, so the chain
    /// verifies as before; views rebuilt afterwards show [`super::ERASED`].
    /// Only operators (`admin`) erase. Repeating the request id finishes
    /// an erasure that was recorded but not completed.
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] for other roles; [`DomainError::Invalid`]
    /// for a malformed person id or basis, and for a person erased before
    /// under another request id; [`DomainError::NotFound`] for a person of
    /// whom nothing is held (no key, not in the people index); [`CommandError::RequestIdReused`] for a request
    /// id that named another command; store failures.
    pub async fn erase_person(
        &self,
        ctx: &Context,
        person: &str,
        basis_text: &str,
    ) -> Result<Erasure, CommandError> {
        if ctx.actor.role != Role::Admin {
            return Err(DomainError::forbidden("only an operator (admin) erases a person").into());
        }
        let id = super::check_person(person)?;
        let basis = basis(basis_text)?;
        let event = PrivacyEvent::PersonErased {
            person: person.to_owned(),
            basis,
        };
        let stream = StreamId::parse(PRIVACY_STREAM)?;
        let append = AppendRequest::new(stream.clone(), "privacy", ExpectedVersion::Any)
            .event(encode(&event, ctx.metadata()))
            .request_id(ctx.request_id.clone());
        let row = keys::read(self.store(), person).await?;
        let first = self.store().find_request(&ctx.request_id).await?;
        if let Some(first) = &first {
            // A repeat finishes the same erasure, never another person's.
            let earlier = self
                .store()
                .read_stream(&stream, Direction::Forward, Some(first.first_version), 1)
                .await?;
            let same = earlier.first().is_some_and(|recorded| {
                recorded.stream_id == first.stream_id
                    && matches!(
                        decode::<PrivacyEvent>(recorded),
                        Ok(PrivacyEvent::PersonErased { person: p, .. }) if p == person
                    )
            });
            if !same {
                return Err(CommandError::RequestIdReused {
                    request_id: ctx.request_id.clone(),
                });
            }
        }
        match (&row, &first) {
            (KeyRow::Missing, None) if !keys::indexed(self.store(), person).await? => {
                return Err(DomainError::NotFound {
                    what: "person",
                    id: person.to_owned(),
                }
                .into());
            }
            (KeyRow::Erased(at), None) => {
                return Err(DomainError::invalid(
                    "person",
                    format!("person {person} was erased already, at {at}"),
                )
                .into());
            }
            _ => {}
        }
        // The record first: a key is never destroyed without it. A failure
        // after it is finished by the same request again.
        let written = self.store().append(append).await?;
        // Their NIP no longer finds them.
        self.store().forget_person(&id).await?;
        // Their contact is deleted and nothing more is sent to them (ADR 0032):
        // a participant is their messages' recipient; a staff member's key
        // seals the contact of their subject, whose messages go too.
        let subjects = self.store().contact_subjects(person).await?;
        self.store().forget_contacts(person).await?;
        for recipient in std::iter::once(person).chain(subjects.iter().map(String::as_str)) {
            self.store()
                .drop_messages_to(recipient, "the recipient was erased")
                .await?;
        }
        let scrubbed = keys::destroy(self.store(), person, self.clock().now()).await?;
        self.privacy().mark_erased(person);
        self.forget_states();
        tracing::info!(
            person,
            position = written.position,
            ?scrubbed,
            "a person was erased"
        );
        Ok(Erasure {
            outcome: Outcome::of_one(written, "PersonErased"),
            scrubbed,
        })
    }

    /// Records that `ctx`'s actor, an auditor, is given the log after
    /// `after_position` with personal fields opened, for `reason`: the
    /// event `PersonalDataExported` in the stream `privacy`, appended
    /// before anything is opened.
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] for anyone but an auditor;
    /// [`DomainError::Invalid`] for a reason that is not 3–500 printable
    /// characters; store failures.
    pub async fn record_full_export(
        &self,
        ctx: &Context,
        reason_text: &str,
        after_position: u64,
    ) -> Result<Outcome, CommandError> {
        if ctx.actor.role != Role::Auditor {
            return Err(DomainError::forbidden(
                "only an auditor receives personal fields opened; others export the log redacted",
            )
            .into());
        }
        let reason = reason(
            "full_reason",
            reason_text,
            "pemeriksaan Inspektorat no. 700/12/2026",
        )?;
        let event = PrivacyEvent::PersonalDataExported {
            reason,
            after_position,
        };
        let stream = StreamId::parse(PRIVACY_STREAM)?;
        let append = AppendRequest::new(stream, "privacy", ExpectedVersion::Any)
            .event(encode(&event, ctx.metadata()))
            .request_id(ctx.request_id.clone());
        let written = self.store().append(append).await?;
        Ok(Outcome::of_one(written, "PersonalDataExported"))
    }

    /// Marks in this process's key cache every person erased in the
    /// stream `privacy` after stream version `after` (by this server or
    /// another sharing the log), so that none of their fields opens here
    /// again; returns the stream version read up to. Servers call it
    /// every second.
    ///
    /// # Errors
    /// Store failures.
    pub async fn follow_erasures(&self, after: u64) -> Result<u64, CommandError> {
        let stream = StreamId::parse(PRIVACY_STREAM)?;
        let events = self.store().read_stream_after(&stream, after).await?;
        for recorded in &events {
            if let Ok(PrivacyEvent::PersonErased { person, .. }) = decode(recorded) {
                self.privacy().mark_erased(&person);
                self.forget_states();
            }
        }
        Ok(events.last().map_or(after, |e| e.stream_version))
    }
}
