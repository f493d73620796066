//! Each person's addresses and preferences: theirs to set, personal data
//! (ADR 0032).
//!
//! A contact is a row of the table `contacts`, outside the chain, keyed by
//! the recipient's id: a participant's person id, a staff member's subject.
//! The addresses are sealed ([`crate::privacy::Sealed`], purpose
//! [`PURPOSE`]) with a data key: a participant's own, so that their erasure
//! makes them unreadable even before the row is deleted; a staff member's
//! key of their own, under an opaque id derived from their subject
//! ([`staff_key`]), which an operator erases like a person's. Preferences
//! (digest or at once, kinds opted out of, the language) are plain in
//! the row. Erasing
//! the person deletes the row ([`crate::engine::Engine::erase_person`]).

use std::collections::BTreeSet;

use crate::domain::values::{PersonId, name_based_id};
use crate::domain::{Actor, DomainError, Role};
use crate::engine::{CommandError, Engine};
use crate::privacy::{Opened, Sealed};
use crate::store::{ContactRow, StoreError};

use super::{Kind, Lang, kinds_of};

/// The purpose a contact's addresses are sealed for.
pub const PURPOSE: &str = "contact";

/// A person's addresses and preferences.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contact {
    /// Email address.
    pub email: Option<String>,
    /// WhatsApp number (international form, `+62…`), for the webhook
    /// gateway.
    pub whatsapp: Option<String>,
    /// A mentor's inbox as one daily digest (true, the default) or each
    /// item at once.
    pub digest: bool,
    /// Kinds of message not wanted.
    pub opt_out: BTreeSet<Kind>,
    /// The language the messages are written in.
    pub lang: Lang,
}

fn email(text: &str) -> Result<Option<String>, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || {
        DomainError::invalid(
            "email",
            "is not an email address; write it as name@domain, e.g. siti@dpmptsp.cilegonkota.go.id",
        )
    };
    let (local, domain) = text.split_once('@').ok_or_else(bad)?;
    let fine = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && text.len() <= 254
        && text.chars().all(|c| {
            c.is_ascii_graphic() && !matches!(c, '<' | '>' | '(' | ')' | ',' | ';' | '"' | '\\')
        });
    if fine {
        Ok(Some(text.to_owned()))
    } else {
        Err(bad())
    }
}

fn whatsapp(text: &str) -> Result<Option<String>, DomainError> {
    let text: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if text.is_empty() {
        return Ok(None);
    }
    // An Indonesian number written the local way (08…) is +628….
    let international = match text.strip_prefix('0') {
        Some(rest) => format!("+62{rest}"),
        None if text.starts_with('+') => text.clone(),
        None => format!("+{text}"),
    };
    let digits = &international[1..];
    if (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(Some(international))
    } else {
        Err(DomainError::invalid(
            "whatsapp",
            format!(
                "'{text}' is not a phone number; write it with its country code, e.g. +6281234567890, or as 081234567890"
            ),
        ))
    }
}

impl Contact {
    /// Validates a contact: an email address and a WhatsApp number (either
    /// may be empty), the digest preference and the kinds opted out of.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `email`, `whatsapp` or `opt_out`.
    pub fn new(
        email_text: &str,
        whatsapp_text: &str,
        digest: bool,
        opt_out: &[String],
    ) -> Result<Self, DomainError> {
        Ok(Self {
            email: email(email_text)?,
            whatsapp: whatsapp(whatsapp_text)?,
            digest,
            opt_out: opt_out
                .iter()
                .filter(|k| !k.trim().is_empty())
                .map(|k| Kind::parse("opt_out", k))
                .collect::<Result<_, _>>()?,
            lang: Lang::Id,
        })
    }

    /// The same contact, its messages written in `lang`.
    #[must_use]
    pub fn in_lang(self, lang: Lang) -> Self {
        Self { lang, ..self }
    }

    /// Whether the person wants messages of `kind`.
    pub fn wants(&self, kind: Kind) -> bool {
        !self.opt_out.contains(&kind)
    }
}

/// The opaque id whose data key seals a staff member's contact: derived
/// from their subject, so it names nobody.
pub fn staff_key(subject: &str) -> String {
    name_based_id("jejak/staff-contact", &[subject])
}

/// Who may keep a contact: those who receive messages.
fn receiver(actor: &Actor) -> Result<String, DomainError> {
    match actor.role {
        Role::Participant => Ok(PersonId::parse_field("subject", &actor.id)?.to_string()),
        Role::Mentor | Role::Organizer => Ok(staff_key(&actor.id)),
        _ => Err(DomainError::forbidden(format!(
            "{} receives no notifications, so keeps no contact; participants, mentors and \
             organizers do",
            actor.role.a()
        ))),
    }
}

impl Engine {
    /// Sets `actor`'s own contact, replacing the one before.
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] for a role that receives no
    /// notifications; [`DomainError::Invalid`] for an erased person; store
    /// failures.
    pub async fn set_contact(&self, actor: &Actor, contact: &Contact) -> Result<(), CommandError> {
        let person = receiver(actor)?;
        let fields = serde_json::json!({
            "email": contact.email,
            "whatsapp": contact.whatsapp,
        });
        let sealed = self.privacy().seal(&person, PURPOSE, &fields).await?;
        let sealed = serde_json::to_string(&sealed)
            .map_err(|e| StoreError::Internal(format!("sealing a contact: {e}")))?;
        let row = ContactRow {
            subject: actor.id.clone(),
            person,
            sealed,
            digest: contact.digest,
            opt_out: contact
                .opt_out
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(","),
            lang: contact.lang.as_str().to_owned(),
        };
        self.store().save_contact(&row, self.clock().now()).await?;
        Ok(())
    }

    /// `actor`'s own contact, if they set one.
    ///
    /// # Errors
    /// As [`Engine::contact_of`]; [`DomainError::Forbidden`] for a role
    /// that receives no notifications.
    pub async fn own_contact(&self, actor: &Actor) -> Result<Option<Contact>, CommandError> {
        receiver(actor)?;
        self.contact_of(&actor.id).await
    }

    /// Deletes `actor`'s own contact. Returns whether there was one.
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] for a role that receives no
    /// notifications; store failures.
    pub async fn clear_contact(&self, actor: &Actor) -> Result<bool, CommandError> {
        receiver(actor)?;
        Ok(self.store().delete_contact(&actor.id).await?)
    }

    /// The contact of `recipient` (a person id or a staff subject), opened;
    /// `None` when they set none or were erased.
    ///
    /// # Errors
    /// Store failures; a sealed value that does not open.
    pub async fn contact_of(&self, recipient: &str) -> Result<Option<Contact>, CommandError> {
        let Some(row) = self.store().contact_row(recipient).await? else {
            return Ok(None);
        };
        let sealed: Sealed = serde_json::from_str(&row.sealed)
            .map_err(|e| StoreError::Internal(format!("a stored contact does not read: {e}")))?;
        // Sealed for its own row's person, who is the recipient (or their
        // staff key): a value moved from another row is refused, not sent to.
        let owner = row.person == row.subject || row.person == staff_key(&row.subject);
        if !owner || sealed.person != row.person {
            return Err(StoreError::Internal(format!(
                "the stored contact of {recipient} is sealed for someone else: it was moved or damaged"
            ))
            .into());
        }
        let fields = match self.privacy().open(&sealed, PURPOSE).await? {
            Opened::Fields(fields) => fields,
            Opened::Erased => return Ok(None),
        };
        let text = |name: &str| fields.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        Ok(Some(Contact {
            email: text("email"),
            whatsapp: text("whatsapp"),
            digest: row.digest,
            opt_out: kinds_of(&row.opt_out),
            lang: Lang::parse(&row.lang).unwrap_or_default(),
        }))
    }
}
