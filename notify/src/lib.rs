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
//! - **One sender per message.** A round first claims its messages
//!   ([`jejak_engine::store::Claim`], for [`NotifyConfig::claim_for`]), in
//!   a transaction that runs the delivery lease's fence: a server whose
//!   lease lapsed claims nothing, and nobody takes a claimed message. A
//!   round sends only while its lease lives and its claim has
//!   [`NotifyConfig::claim_margin`] left, and settles each message under
//!   its claim and the fence.
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
use jejak_engine::store::{Claim, Lease, OutboxRow, Settle, StoreError};

pub use email::{SmtpAuth, SmtpConfig, SmtpTls};
pub use webhook::{SIGNATURE_HEADER, WebhookConfig, sign};

/// The lease under which one server of a deployment delivers the outbox.
pub const LEASE: &str = "outbox-delivery";

/// How often the server holding the lease prunes sent messages.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

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
    /// How long a round's claim on its messages lasts: nobody else sends
    /// them meanwhile.
    pub claim_for: chrono::Duration,
    /// A round stops sending when its claim has less than this left (more
    /// than the longest a send may take: SMTP and webhooks time out
    /// within 30 s).
    pub claim_margin: chrono::Duration,
    /// How long sent messages are kept before they are pruned (failed
    /// ones stay until retried or dismissed).
    pub keep_sent: chrono::Duration,
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
            claim_for: chrono::Duration::minutes(5),
            claim_margin: chrono::Duration::minutes(1),
            keep_sent: chrono::Duration::days(90),
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

/// The messages a round claimed, to be sent by
/// [`Deliverer::send_claimed`].
#[derive(Debug)]
pub struct Claimed {
    claim: Claim,
    rows: Vec<OutboxRow>,
}

impl Claimed {
    /// The ids of the messages claimed.
    pub fn ids(&self) -> Vec<&str> {
        self.rows.iter().map(|r| r.message.id.as_str()).collect()
    }
}

/// Delivers the outbox of one log.
#[derive(Debug)]
pub struct Deliverer {
    /// Whose claims this deliverer's are (one id per deliverer).
    id: String,
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
            id: uuid::Uuid::now_v7().to_string(),
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
    /// channels its recipient has, a mentor's digest items together. For
    /// a process alone on its log (and tests); on a shared log
    /// [`Deliverer::run`] delivers under the lease.
    ///
    /// # Errors
    /// Storage failures (what was not settled is sent in a later round).
    pub async fn deliver_due(&self) -> Result<Delivered, NotifyError> {
        let _round = self.round.lock().await;
        let claimed = self.claim(None).await?;
        self.send_claimed(claimed, None).await
    }

    /// As [`Deliverer::deliver_due`], under `lease` (the lease [`LEASE`]):
    /// claimed and settled under its fence, sent only while it lives.
    ///
    /// # Errors
    /// [`NotifyError::Store`] with [`StoreError::Unavailable`] when the
    /// lease was lost; storage failures.
    pub async fn deliver_under(&self, lease: &mut Lease) -> Result<Delivered, NotifyError> {
        let _round = self.round.lock().await;
        let claimed = self.claim(Some(lease)).await?;
        self.send_claimed(claimed, Some(lease)).await
    }

    /// Claims what is due by the engine's clock for this deliverer, under
    /// `lease` when it has one: the first half of a round.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the lease was lost; storage failures.
    pub async fn claim(&self, lease: Option<&Lease>) -> Result<Claimed, NotifyError> {
        let now = self.engine.clock().now();
        let claim = Claim {
            holder: self.id.clone(),
            epoch: lease.map_or(0, Lease::token),
            until: now + self.config.claim_for,
        };
        let rows = self
            .engine
            .store()
            .claim_due(now, ROUND, &claim, lease)
            .await?;
        Ok(Claimed { claim, rows })
    }

    /// Whether a round may still send: its lease (renewed when due) lives
    /// and its claim has its margin left.
    async fn may_send(&self, claim: &Claim, lease: &mut Option<&mut Lease>) -> bool {
        if let Some(lease) = lease.as_deref_mut() {
            if lease.due()
                && let Err(err) = self.engine.store().renew_lease(lease).await
            {
                tracing::warn!(error = %err, "cannot renew the delivery lease");
            }
            if !lease.live() {
                return false;
            }
        }
        self.engine.clock().now() + self.config.claim_margin < claim.until
    }

    /// Sends the messages of `claimed` (the second half of a round), each
    /// settled under the claim and `lease`'s fence. Messages left when
    /// the lease lapses or the claim runs short stay claimed until the
    /// claim runs out, then are due again.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn send_claimed(
        &self,
        claimed: Claimed,
        mut lease: Option<&mut Lease>,
    ) -> Result<Delivered, NotifyError> {
        let Claimed { claim, rows } = claimed;
        let store = self.engine.store();
        let now = self.engine.clock().now();
        let zone = self.engine.config().time_zone;
        let settle = |ids: Vec<String>, how: Settle, lease: Option<Lease>| {
            let claim = claim.clone();
            async move {
                store
                    .settle_messages(&ids, &how, Some(&claim), lease.as_ref())
                    .await
            }
        };
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
                    self.fail(
                        std::slice::from_ref(&row),
                        Vec::new(),
                        error.clone(),
                        now,
                        &claim,
                        lease.as_deref(),
                    )
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
                settle(
                    vec![row.message.id.clone()],
                    Settle::Dropped { reason },
                    lease.as_deref().cloned(),
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
                    settle(
                        vec![row.message.id.clone()],
                        Settle::Deferred { until: ready },
                        lease.as_deref().cloned(),
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
                text: texts::single_in(contact.lang, kind, &facts),
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
                text: texts::digest_in(
                    contacts
                        .get(&recipient)
                        .and_then(|c| c.as_ref().ok())
                        .and_then(Option::as_ref)
                        .map(|c| c.lang)
                        .unwrap_or_default(),
                    &facts,
                ),
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
            if !self.may_send(&claim, &mut lease).await {
                tracing::info!(
                    "the delivery lease lapsed or the round's claim runs short; \
                     the rest is sent when its claim runs out"
                );
                break;
            }
            let count = outgoing.rows.len();
            if self
                .send(&outgoing, contact, now, &claim, lease.as_deref())
                .await?
            {
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
        claim: &Claim,
        lease: Option<&Lease>,
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
                    Some(claim),
                    lease,
                )
                .await?;
            return Ok(true);
        }
        self.fail(
            &outgoing.rows,
            delivered,
            errors.join("; "),
            now,
            claim,
            lease,
        )
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
        claim: &Claim,
        lease: Option<&Lease>,
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
                Some(claim),
                lease,
            )
            .await?;
        Ok(())
    }

    /// Deletes the messages sent longer ago than [`NotifyConfig::keep_sent`]
    /// (by the engine's clock); failed and waiting ones stay. Returns how
    /// many.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn prune(&self) -> Result<u64, NotifyError> {
        let before = self.engine.clock().now() - self.config.keep_sent;
        Ok(self.engine.store().prune_sent(before).await?)
    }

    /// Delivers what is due every [`NotifyConfig::every`] until
    /// `shutdown`, while this server (`holder`) holds the lease [`LEASE`]:
    /// on a log shared by several servers, one delivers.
    pub async fn run(&self, holder: uuid::Uuid, shutdown: impl Future<Output = ()>) {
        let store = self.engine.store();
        let ttl = Duration::from_secs(5);
        tokio::pin!(shutdown);
        let mut lease = None;
        let mut pruned_at = None;
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
            if let Some(held) = lease.as_mut() {
                if let Err(err) = self.deliver_under(held).await {
                    tracing::error!(error = %err, "delivering notifications failed; retrying");
                }
                if pruned_at.is_none_or(|at: std::time::Instant| at.elapsed() >= PRUNE_EVERY) {
                    match self.prune().await {
                        Ok(_) => pruned_at = Some(std::time::Instant::now()),
                        Err(err) => {
                            tracing::warn!(error = %err, "pruning sent notifications failed; retrying");
                        }
                    }
                }
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
