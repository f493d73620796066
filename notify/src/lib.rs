//! jejak's delivery of the outbox (ADR 0032): what the notifications
//! process manager (`jejak_engine::notifications`) decided to tell people
//! reaches them here, by email over SMTP and by signed webhooks.
//!
//! What delivery promises:
//! - **At least once to the transport, once to the person.** A message is
//!   marked sent only after its channels took it; a crash in between sends
//!   it again, with the same id (the email's `Message-ID`, the webhook's
//!   `id` and `X-Jejak-Message-Id`), by which mail clients and gateways
//!   recognise a repeat.
//! - **Retried with exponential backoff**: a failed message is due again
//!   after [`NotifyConfig::first_retry`], doubling up to
//!   [`NotifyConfig::max_retry`]; after [`NotifyConfig::max_attempts`] it
//!   is given up (`failed`) until an operator retries it. A channel that
//!   took a message is not sent it again when another failed.
//! - **Only to whom asked.** A recipient without a contact, who opted out
//!   of the kind, or who was erased, gets nothing (the message is
//!   `dropped`, with why).
//! - A mentor who keeps the daily digest (the default) gets their inbox
//!   items in one message at the digest hour
//!   ([`jejak_engine::notifications::next_digest`]), seen by an id of the
//!   recipient and that hour.
//! - Time is the engine's clock: tests move a `ManualClock`, nothing sleeps.
//!
//! ```no_run
//! # async fn example(engine: jejak_engine::engine::Engine) -> Result<(), jejak_notify::NotifyError> {
//! use jejak_notify::{Deliverer, NotifyConfig, WebhookConfig};
//! let config = NotifyConfig {
//!     webhook: Some(WebhookConfig::new("https://wa-gateway.example/hook", b"a shared secret".to_vec())?),
//!     ..NotifyConfig::default()
//! };
//! let deliverer = Deliverer::new(engine, config)?;
//! let done = deliverer.deliver_due().await?;
//! println!("{} sent, {} failed", done.sent, done.failed);
//! # Ok(()) }
//! ```

mod email;
pub mod texts;
mod webhook;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jejak_engine::engine::{CommandError, Engine};
use jejak_engine::notifications::{Contact, Facts, Kind, digest_id, next_digest};
use jejak_engine::store::{OutboxRow, Settle, StoreError};

pub use email::{SmtpConfig, SmtpTls};
pub use webhook::{SIGNATURE_HEADER, WebhookConfig, sign};

/// The lease under which one server of a deployment delivers the outbox.
pub const LEASE: &str = "outbox-delivery";

/// How many due messages one round takes.
const ROUND: usize = 500;

/// Why delivery could not be set up or run.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The configuration is not usable; the text says what to change.
    #[error("{0}")]
    Config(String),
    /// A secret or credentials file is readable by others, or unreadable.
    #[error("{0}")]
    SecretFile(String),
    /// The outbox or a contact could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine failed (a contact that does not open).
    #[error(transparent)]
    Engine(#[from] CommandError),
}

/// How the outbox is delivered.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// Email over SMTP, if configured.
    pub smtp: Option<SmtpConfig>,
    /// The webhook (a WhatsApp gateway or a chat tool), if configured.
    pub webhook: Option<WebhookConfig>,
    /// Failures after which a message is given up (until retried).
    pub max_attempts: u32,
    /// The wait after a first failure; it doubles after each.
    pub first_retry: chrono::Duration,
    /// The longest wait between attempts.
    pub max_retry: chrono::Duration,
    /// How often the deliverer looks for due messages.
    pub every: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            smtp: None,
            webhook: None,
            max_attempts: 8,
            first_retry: chrono::Duration::seconds(30),
            max_retry: chrono::Duration::hours(6),
            every: Duration::from_secs(1),
        }
    }
}

impl NotifyConfig {
    /// The wait before attempt `failures + 1`.
    pub fn backoff(&self, failures: u32) -> chrono::Duration {
        let factor = 1_i32 << failures.saturating_sub(1).min(20);
        (self.first_retry * factor).min(self.max_retry)
    }
}

/// What one round of delivery did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Messages sent (each item of a digest counted).
    pub sent: usize,
    /// Messages that failed this time.
    pub failed: usize,
    /// Messages not to be sent.
    pub dropped: usize,
    /// Inbox items held for a digest.
    pub deferred: usize,
}

/// Reads `path`, a secret or credentials file, refusing one that others may
/// read (it must be 0600 or stricter).
///
/// # Errors
/// [`NotifyError::SecretFile`], saying what to do.
pub fn read_secret_file(path: &Path) -> Result<Vec<u8>, NotifyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(path)
            .map_err(|e| NotifyError::SecretFile(format!("cannot read {}: {e}", path.display())))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(NotifyError::SecretFile(format!(
                "{} may be read by others (mode {mode:o}); make it its owner's alone: chmod 600 {}",
                path.display(),
                path.display()
            )));
        }
    }
    std::fs::read(path)
        .map_err(|e| NotifyError::SecretFile(format!("cannot read {}: {e}", path.display())))
}

/// Delivers the outbox of one log.
#[derive(Debug)]
pub struct Deliverer {
    engine: Engine,
    config: NotifyConfig,
    email: Option<email::Email>,
    webhook: Option<webhook::Webhook>,
    /// One round at a time in this process.
    round: tokio::sync::Mutex<()>,
}

/// A mentor's inbox items held for one digest, with what each tells.
type Digest = Vec<(OutboxRow, Facts)>;

/// One message to send: a single one, or a mentor's digest.
struct Outgoing {
    id: String,
    kind: Kind,
    role: String,
    text: texts::Text,
    facts: Vec<Facts>,
    rows: Vec<OutboxRow>,
}

impl Deliverer {
    /// A deliverer of `engine`'s outbox over the channels of `config`.
    ///
    /// # Errors
    /// [`NotifyError::Config`] for an SMTP sender or host that does not parse.
    pub fn new(engine: Engine, config: NotifyConfig) -> Result<Self, NotifyError> {
        Ok(Self {
            email: config.smtp.as_ref().map(email::Email::new).transpose()?,
            webhook: config
                .webhook
                .as_ref()
                .map(webhook::Webhook::new)
                .transpose()?,
            engine,
            config,
            round: tokio::sync::Mutex::new(()),
        })
    }

    /// Whether any channel is configured.
    pub fn has_channels(&self) -> bool {
        self.email.is_some() || self.webhook.is_some()
    }

    /// Sends what is due by the engine's clock, once: each message to the
    /// channels its recipient has, a mentor's digest items together.
    ///
    /// # Errors
    /// Storage failures (what was not settled is sent in a later round).
    pub async fn deliver_due(&self) -> Result<Delivered, NotifyError> {
        let _round = self.round.lock().await;
        let store = self.engine.store();
        let now = self.engine.clock().now();
        let zone = self.engine.config().time_zone;
        let rows = store.due_messages(now, ROUND).await?;
        let mut done = Delivered::default();
        // A contact that cannot be read fails its own messages, not the round.
        let mut contacts: HashMap<String, Result<Option<Contact>, String>> = HashMap::new();
        let mut singles = Vec::new();
        let mut digests: BTreeMap<(String, DateTime<Utc>), Digest> = BTreeMap::new();
        for row in rows {
            let recipient = row.message.recipient.clone();
            if !contacts.contains_key(&recipient) {
                let contact = self
                    .engine
                    .contact_of(&recipient)
                    .await
                    .map_err(|e| format!("the recipient's contact could not be read: {e}"));
                contacts.insert(recipient.clone(), contact);
            }
            let contact = match contacts.get(&recipient) {
                Some(Ok(contact)) => contact.as_ref(),
                Some(Err(error)) => {
                    self.fail(std::slice::from_ref(&row), Vec::new(), error.clone(), now)
                        .await?;
                    done.failed += 1;
                    continue;
                }
                None => None,
            };
            let kind = Kind::parse("kind", &row.message.kind).ok();
            let facts: Facts = serde_json::from_str(&row.message.facts).unwrap_or_default();
            let refusal = match (kind, contact) {
                (None, _) => Some(format!("'{}' is no kind of message", row.message.kind)),
                (_, None) => Some("the recipient has set no contact".to_owned()),
                (Some(kind), Some(c)) if !c.wants(kind) => Some(format!(
                    "the recipient opted out of {} messages",
                    kind.as_str()
                )),
                (Some(_), Some(c)) => self.no_channel(c),
            };
            if let Some(reason) = refusal {
                store
                    .settle_messages(
                        std::slice::from_ref(&row.message.id),
                        &Settle::Dropped { reason },
                    )
                    .await?;
                done.dropped += 1;
                continue;
            }
            let (Some(kind), Some(contact)) = (kind, contact) else {
                continue;
            };
            if kind == Kind::Inbox && contact.digest {
                let ready = next_digest(row.message.created_at, zone);
                if ready > now {
                    store
                        .settle_messages(
                            std::slice::from_ref(&row.message.id),
                            &Settle::Deferred { until: ready },
                        )
                        .await?;
                    done.deferred += 1;
                } else {
                    digests
                        .entry((recipient, ready))
                        .or_default()
                        .push((row, facts));
                }
                continue;
            }
            singles.push(Outgoing {
                id: row.message.id.clone(),
                kind,
                role: row.message.recipient_role.clone(),
                text: texts::single(kind, &facts),
                facts: vec![facts],
                rows: vec![row],
            });
        }
        for ((recipient, ready), items) in digests {
            let (rows, facts): (Vec<OutboxRow>, Vec<Facts>) = items.into_iter().unzip();
            singles.push(Outgoing {
                id: digest_id(&recipient, ready),
                kind: Kind::Inbox,
                role: rows
                    .first()
                    .map(|r| r.message.recipient_role.clone())
                    .unwrap_or_default(),
                text: texts::digest(&facts),
                facts,
                rows,
            });
        }
        for outgoing in singles {
            let recipient = outgoing
                .rows
                .first()
                .map(|r| r.message.recipient.clone())
                .unwrap_or_default();
            let Some(Ok(Some(contact))) = contacts.get(&recipient) else {
                continue;
            };
            let count = outgoing.rows.len();
            if self.send(&outgoing, contact, now).await? {
                done.sent += count;
            } else {
                done.failed += count;
            }
        }
        Ok(done)
    }

    /// Why `contact` can be reached on no channel of this server, if so.
    fn no_channel(&self, contact: &Contact) -> Option<String> {
        let by_email = contact.email.is_some() && self.email.is_some();
        let by_webhook = contact.whatsapp.is_some() && self.webhook.is_some();
        if by_email || by_webhook {
            return None;
        }
        Some(
            match (contact.email.is_some(), contact.whatsapp.is_some()) {
                (false, false) => "the recipient's contact holds no address".to_owned(),
                _ => "no channel of this server reaches the recipient's addresses (configure \
                  --smtp-host for email, --webhook-url for WhatsApp)"
                    .to_owned(),
            },
        )
    }

    /// Sends `outgoing` on each channel that has not taken it yet, and
    /// records the outcome. True when it is sent.
    async fn send(
        &self,
        outgoing: &Outgoing,
        contact: &Contact,
        now: DateTime<Utc>,
    ) -> Result<bool, NotifyError> {
        let mut delivered: Vec<String> = outgoing
            .rows
            .iter()
            .flat_map(|r| r.delivered.iter().cloned())
            .collect();
        delivered.sort();
        delivered.dedup();
        let mut errors = Vec::new();
        if let (Some(email), Some(address)) = (&self.email, &contact.email)
            && !delivered.iter().any(|c| c == "email")
        {
            match email.send(&outgoing.id, address, &outgoing.text).await {
                Ok(()) => delivered.push("email".into()),
                Err(err) => errors.push(format!("email: {err}")),
            }
        }
        if let (Some(hook), Some(number)) = (&self.webhook, &contact.whatsapp)
            && !delivered.iter().any(|c| c == "webhook")
        {
            let body = webhook::Body {
                id: &outgoing.id,
                kind: outgoing.kind.as_str(),
                role: &outgoing.role,
                whatsapp: number,
                subject: &outgoing.text.subject,
                text: &outgoing.text.body,
                facts: &outgoing.facts,
            };
            match hook.post(&body).await {
                Ok(()) => delivered.push("webhook".into()),
                Err(err) => errors.push(format!("webhook: {err}")),
            }
        }
        let ids: Vec<String> = outgoing.rows.iter().map(|r| r.message.id.clone()).collect();
        let store = self.engine.store();
        if errors.is_empty() {
            store
                .settle_messages(
                    &ids,
                    &Settle::Sent {
                        at: now,
                        delivery_id: outgoing.id.clone(),
                        delivered,
                    },
                )
                .await?;
            return Ok(true);
        }
        self.fail(&outgoing.rows, delivered, errors.join("; "), now)
            .await?;
        Ok(false)
    }

    /// Records that `rows` failed (once more) for `error`: due again after
    /// the backoff, or given up after too many attempts.
    async fn fail(
        &self,
        rows: &[OutboxRow],
        delivered: Vec<String>,
        error: String,
        now: DateTime<Utc>,
    ) -> Result<(), NotifyError> {
        let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or_default() + 1;
        let give_up = attempts >= self.config.max_attempts;
        let ids: Vec<String> = rows.iter().map(|r| r.message.id.clone()).collect();
        tracing::warn!(messages = ?ids, attempts, give_up, error = %error, "a notification was not delivered");
        self.engine
            .store()
            .settle_messages(
                &ids,
                &Settle::Failed {
                    attempts,
                    next_attempt_at: now + self.config.backoff(attempts),
                    error,
                    give_up,
                    delivered,
                },
            )
            .await?;
        Ok(())
    }

    /// Delivers what is due every [`NotifyConfig::every`] until
    /// `shutdown`, while this server (`holder`) holds the lease [`LEASE`]:
    /// on a log shared by several servers, one delivers.
    pub async fn run(&self, holder: uuid::Uuid, shutdown: impl Future<Output = ()>) {
        let store = self.engine.store();
        let ttl = Duration::from_secs(5);
        tokio::pin!(shutdown);
        let mut lease = None;
        loop {
            match &mut lease {
                None => match store.acquire_lease(LEASE, holder, ttl).await {
                    Ok(Some(held)) => lease = Some(held),
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot reach the database for the delivery lease")
                    }
                },
                Some(held) => {
                    if held.due()
                        && let Err(err) = store.renew_lease(held).await
                    {
                        tracing::warn!(error = %err, "cannot renew the delivery lease");
                    }
                    if !held.live() {
                        lease = None;
                    }
                }
            }
            if lease.is_some()
                && let Err(err) = self.deliver_due().await
            {
                tracing::error!(error = %err, "delivering notifications failed; retrying");
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(self.config.every) => {}
            }
        }
        if let Some(held) = lease
            && let Err(err) = store.release_lease(&held).await
        {
            tracing::warn!(error = %err, "could not give the delivery lease up; it lapses by itself");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let config = NotifyConfig::default();
        assert_eq!(config.backoff(1), chrono::Duration::seconds(30));
        assert_eq!(config.backoff(2), chrono::Duration::seconds(60));
        assert_eq!(config.backoff(3), chrono::Duration::seconds(120));
        assert_eq!(config.backoff(30), chrono::Duration::hours(6));
    }
}
