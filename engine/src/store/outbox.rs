//! The outbox and the contacts (ADR 0032): two tables beside the log,
//! outside the hash chain.
//!
//! - `outbox`: the messages owed to people. [`EventStore::enqueue`] adds
//!   messages and ignores one whose id is there already, so a process
//!   manager that reads an event again makes nothing twice; the deliverer
//!   claims what is due ([`EventStore::claim_due`]: nobody else takes a
//!   message while its [`Claim`] runs) and records what became of it
//!   ([`EventStore::settle_messages`]); both run the lease's [`fence`] in
//!   their transaction when the deliverer holds one. Sent messages are
//!   pruned after their retention ([`EventStore::prune_sent`]).
//! - `contacts`: each person's addresses (sealed by the caller) and
//!   preferences, written and deleted only by that person or their erasure.
//!
//! Times are kept as microseconds since the epoch on both backends.

use chrono::{DateTime, Utc};

use super::lease::{Lease, fence};
use super::{Backend, EventStore, StoreError, micros, time};

/// A message to put in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    /// Stable: derived from its cause, recipient and kind.
    pub id: String,
    /// A person id or a staff subject.
    pub recipient: String,
    /// `participant`, `mentor` or `organizer`.
    pub recipient_role: String,
    /// What kind of message (`inbox`, `decision`, …).
    pub kind: String,
    /// What it tells, as JSON (codes, titles, dates; nothing personal).
    pub facts: String,
    /// The log position of its cause (the head, for a timer's message).
    pub cause_position: u64,
    /// When it was made, by the engine's clock.
    pub created_at: DateTime<Utc>,
}

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageStatus {
    /// To be sent (first time, or again after a failure).
    Pending,
    /// Sent on every channel the recipient has.
    Sent,
    /// Given up after too many failures (sent again only when retried).
    Failed,
    /// Not to be sent: no address, opted out, or the recipient was erased.
    Dropped,
}

impl MessageStatus {
    /// The status as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Dropped => "dropped",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            "dropped" => Self::Dropped,
            _ => Self::Pending,
        }
    }
}

/// A message in the outbox, with its delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    /// The message.
    pub message: NewMessage,
    /// Where it stands.
    pub status: MessageStatus,
    /// How often sending it failed.
    pub attempts: u32,
    /// When it is (next) due.
    pub next_attempt_at: DateTime<Utc>,
    /// The channels that took it already.
    pub delivered: Vec<String>,
    /// The last failure, or why it was dropped.
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// The id the person saw (the message's own, or its digest's).
    pub delivery_id: Option<String>,
}

impl OutboxRow {
    /// Whether sending it failed at least once and it is not sent: a
    /// message retrying, or given up.
    pub fn failing(&self) -> bool {
        matches!(self.status, MessageStatus::Pending | MessageStatus::Failed)
            && self.last_error.is_some()
    }
}

/// What became of messages the deliverer handled.
#[derive(Clone, Debug)]
pub enum Settle {
    /// Sent, seen by the person as `delivery_id`.
    Sent {
        /// When.
        at: DateTime<Utc>,
        /// The id the person sees.
        delivery_id: String,
        /// The channels that took it.
        delivered: Vec<String>,
    },
    /// Not sent this time.
    Failed {
        /// How often it has failed now.
        attempts: u32,
        /// When to try again.
        next_attempt_at: DateTime<Utc>,
        /// Why, in words.
        error: String,
        /// Whether to give up (until retried by an operator).
        give_up: bool,
        /// The channels that took it anyway (not sent on them again).
        delivered: Vec<String>,
    },
    /// Not due yet (a digest's item): due at `until`.
    Deferred {
        /// When it is due.
        until: DateTime<Utc>,
    },
    /// Not to be sent, for `reason`.
    Dropped {
        /// Why.
        reason: String,
    },
}

/// A deliverer's claim on the messages of a round: nobody else takes them
/// until `until` (by the engine's clock), and only this claim settles them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The claiming deliverer (one id per server process).
    pub holder: String,
    /// The token of the delivery lease it held (0 without one).
    pub epoch: i64,
    /// When the claim runs out.
    pub until: DateTime<Utc>,
}

/// A value bound to a statement of the outbox.
enum Bind {
    Text(String),
    Int(i64),
}

/// Runs `$sql` once per list of binds in `$each`, in one transaction on
/// `$store`'s backend, first running the fence of `$lease` (PostgreSQL);
/// a fence that fails when `$lenient` is true lets the statements run
/// anyway. Yields the rows affected.
macro_rules! fenced_writes {
    ($store:expr, $lease:expr, $lenient:expr, $sql:expr, $each:expr) => {{
        let mut affected = 0_u64;
        macro_rules! run_all {
            ($tx:expr, $text:expr) => {
                for binds in $each {
                    let mut q = sqlx::query($text);
                    for b in binds {
                        q = match b {
                            Bind::Text(t) => q.bind(t.as_str()),
                            Bind::Int(i) => q.bind(*i),
                        };
                    }
                    affected += q.execute(&mut *$tx).await?.rows_affected();
                }
            };
        }
        match &$store.inner.backend {
            Backend::Sqlite(s) => {
                let _write = s.write_lock.lock().await;
                let sql = $sql.replace('$', "?");
                let mut tx = s.pool.begin().await?;
                run_all!(tx, &sql);
                tx.commit().await?;
            }
            Backend::Postgres(p) => {
                let mut tx = p.pool.begin().await?;
                if let Some(lease) = $lease {
                    match fence(&mut tx, lease).await {
                        Ok(()) => {}
                        Err(StoreError::Unavailable(_)) if $lenient => {}
                        Err(err) => return Err(err),
                    }
                }
                run_all!(tx, $sql);
                tx.commit().await?;
            }
        }
        affected
    }};
}

/// Which messages to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutboxFilter {
    /// Every message, newest first.
    #[default]
    All,
    /// Messages whose sending failed and that are not sent.
    Failed,
    /// Messages not yet sent.
    Pending,
}

/// The outbox in numbers, for `admin status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxSummary {
    /// Messages not yet sent (including those retrying).
    pub pending: u64,
    /// Of those, how many failed at least once.
    pub retrying: u64,
    /// Messages given up after too many failures.
    pub failed: u64,
    /// Messages sent (and not yet pruned).
    pub sent: u64,
    /// Messages not to be sent (no contact, opted out, erased).
    pub dropped: u64,
    /// When the oldest message not yet sent was made.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// A person's contact as stored: addresses sealed, preferences plain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRow {
    /// Whose (a person id or a staff subject).
    pub subject: String,
    /// Whose data key seals the addresses.
    pub person: String,
    /// The sealed addresses, as JSON text.
    pub sealed: String,
    /// Inbox items as a daily digest (true) or one by one at once.
    pub digest: bool,
    /// Kinds of message not wanted, comma-separated.
    pub opt_out: String,
    /// The language messages are written in: `id` or `en`.
    pub lang: String,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    i64,
    i64,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
);

const COLUMNS: &str = "id, recipient, recipient_role, kind, facts, cause_position, created_at, \
     status, attempts, next_attempt_at, delivered, last_error, sent_at, delivery_id";

fn row_out(r: Row) -> OutboxRow {
    OutboxRow {
        message: NewMessage {
            id: r.0,
            recipient: r.1,
            recipient_role: r.2,
            kind: r.3,
            facts: r.4,
            cause_position: u64::try_from(r.5).unwrap_or_default(),
            created_at: time(r.6),
        },
        status: MessageStatus::parse(&r.7),
        attempts: u32::try_from(r.8).unwrap_or_default(),
        next_attempt_at: time(r.9),
        delivered: r
            .10
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        last_error: r.11,
        sent_at: r.12.map(time),
        delivery_id: r.13,
    }
}

impl EventStore {
    /// Adds `messages` to the outbox, due at once; a message whose id is
    /// there already is left as it is. Returns how many were added.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn enqueue(&self, messages: &[NewMessage]) -> Result<u64, StoreError> {
        const INSERT: &str = "INSERT INTO outbox (id, recipient, recipient_role, kind, facts, \
             cause_position, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (id) DO NOTHING";
        if messages.is_empty() {
            return Ok(0);
        }
        let mut added = 0;
        // One transaction for the lot: one commit (one fsync) per batch.
        macro_rules! insert_all {
            ($tx:expr, $sql:expr) => {
                for m in messages {
                    added += sqlx::query($sql)
                        .bind(&m.id)
                        .bind(&m.recipient)
                        .bind(&m.recipient_role)
                        .bind(&m.kind)
                        .bind(&m.facts)
                        .bind(i64::try_from(m.cause_position).unwrap_or(i64::MAX))
                        .bind(micros(m.created_at))
                        .execute(&mut *$tx)
                        .await?
                        .rows_affected();
                }
            };
        }
        match &self.inner.backend {
            Backend::Sqlite(s) => {
                let _write = s.write_lock.lock().await;
                let sql = INSERT.replace('$', "?");
                let mut tx = s.pool.begin().await?;
                insert_all!(tx, &sql);
                tx.commit().await?;
            }
            Backend::Postgres(p) => {
                let mut tx = p.pool.begin().await?;
                insert_all!(tx, INSERT);
                tx.commit().await?;
            }
        }
        Ok(added)
    }

    /// Up to `limit` messages due at `now`, the longest due first, whose
    /// claim (if any) has run out.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn due_messages(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
             AND (claim_expires_at IS NULL OR claim_expires_at <= $1) \
             ORDER BY next_attempt_at, id LIMIT $2"
        );
        let rows: Vec<Row> = on_backend!(
            self,
            query_as::<Row>,
            sql.as_str(),
            [micros(now), i64::try_from(limit).unwrap_or(i64::MAX)],
            fetch_all
        );
        Ok(rows.into_iter().map(row_out).collect())
    }

    /// Claims up to `limit` messages due at `now` for `claim`, the longest
    /// due first, and returns them: messages nobody claims, or whose claim
    /// ran out. Under `lease` (PostgreSQL) the claim is written only while
    /// the lease holds ([`fence`], in the same transaction), so a server
    /// whose lease lapsed claims nothing; two servers never claim the same
    /// message at once (rows another transaction is claiming are skipped).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the lease was lost; storage failures.
    pub async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        claim: &Claim,
        lease: Option<&Lease>,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = |lock: &str| {
            format!(
                "UPDATE outbox SET claimed_by = $1, claim_epoch = $2, claim_expires_at = $3 \
                 WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' \
                 AND next_attempt_at <= $4 \
                 AND (claim_expires_at IS NULL OR claim_expires_at <= $4) \
                 ORDER BY next_attempt_at, id LIMIT $5{lock}) \
                 RETURNING {COLUMNS}"
            )
        };
        let mut rows: Vec<Row> = match &self.inner.backend {
            Backend::Sqlite(s) => {
                let _write = s.write_lock.lock().await;
                let sql = sql("").replace('$', "?");
                sqlx::query_as(&sql)
                    .bind(&claim.holder)
                    .bind(claim.epoch)
                    .bind(micros(claim.until))
                    .bind(micros(now))
                    .bind(limit)
                    .fetch_all(&s.pool)
                    .await?
            }
            Backend::Postgres(p) => {
                let mut tx = p.pool.begin().await?;
                if let Some(lease) = lease {
                    fence(&mut tx, lease).await?;
                }
                let rows = sqlx::query_as(&sql(" FOR UPDATE SKIP LOCKED"))
                    .bind(&claim.holder)
                    .bind(claim.epoch)
                    .bind(micros(claim.until))
                    .bind(micros(now))
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows
            }
        };
        rows.sort_by(|a: &Row, b: &Row| (a.9, &a.0).cmp(&(b.9, &b.0)));
        Ok(rows.into_iter().map(row_out).collect())
    }

    /// Records what became of the messages `ids`, in one transaction, and
    /// clears their claim. With `claim`, only messages it still holds are
    /// settled (another server's claim is left alone); under `lease`
    /// (PostgreSQL) the lease's [`fence`] runs first. A message that was
    /// sent is recorded under its claim even when the lease lapsed during
    /// the send: it happened, and nobody else took the message while the
    /// claim ran, so recording it keeps anyone from sending it again.
    /// Returns how many messages were settled.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the lease was lost (nothing but a
    /// send is recorded then); storage failures.
    pub async fn settle_messages(
        &self,
        ids: &[String],
        settle: &Settle,
        claim: Option<&Claim>,
        lease: Option<&Lease>,
    ) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let (set, mut binds): (&str, Vec<Bind>) = match settle {
            Settle::Sent {
                at,
                delivery_id,
                delivered,
            } => (
                "status = 'sent', sent_at = $2, delivery_id = $3, delivered = $4, \
                 last_error = NULL",
                vec![
                    Bind::Int(micros(*at)),
                    Bind::Text(delivery_id.clone()),
                    Bind::Text(delivered.join(",")),
                ],
            ),
            Settle::Failed {
                attempts,
                next_attempt_at,
                error,
                give_up,
                delivered,
            } => {
                let status = if *give_up {
                    MessageStatus::Failed
                } else {
                    MessageStatus::Pending
                };
                (
                    "status = $2, attempts = $3, next_attempt_at = $4, last_error = $5, \
                     delivered = $6",
                    vec![
                        Bind::Text(status.as_str().to_owned()),
                        Bind::Int(i64::from(*attempts)),
                        Bind::Int(micros(*next_attempt_at)),
                        Bind::Text(error.clone()),
                        Bind::Text(delivered.join(",")),
                    ],
                )
            }
            Settle::Deferred { until } => ("next_attempt_at = $2", vec![Bind::Int(micros(*until))]),
            Settle::Dropped { reason } => (
                "status = 'dropped', last_error = $2",
                vec![Bind::Text(reason.clone())],
            ),
        };
        let mut sql = format!(
            "UPDATE outbox SET {set}, claimed_by = NULL, claim_epoch = NULL, \
             claim_expires_at = NULL WHERE id = $1"
        );
        if let Some(claim) = claim {
            let n = binds.len() + 2;
            sql.push_str(&format!(
                " AND claimed_by = ${n} AND claim_epoch = ${}",
                n + 1
            ));
            binds.push(Bind::Text(claim.holder.clone()));
            binds.push(Bind::Int(claim.epoch));
        }
        let lenient = matches!(settle, Settle::Sent { .. }) && claim.is_some();
        let each: Vec<Vec<Bind>> = ids
            .iter()
            .map(|id| {
                std::iter::once(Bind::Text(id.clone()))
                    .chain(binds.iter().map(|b| match b {
                        Bind::Text(t) => Bind::Text(t.clone()),
                        Bind::Int(i) => Bind::Int(*i),
                    }))
                    .collect()
            })
            .collect();
        let settled = fenced_writes!(self, lease, lenient, sql.as_str(), &each);
        Ok(settled)
    }

    /// Deletes the messages sent before `before` (their retention passed),
    /// never one failed or waiting. Returns how many.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn prune_sent(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = on_backend!(
            self,
            query,
            "DELETE FROM outbox WHERE status = 'sent' AND sent_at < $1",
            [micros(before)],
            execute,
            write
        );
        Ok(done)
    }

    /// Dismisses message `id`, failed or retrying: an operator decides it
    /// is not to be sent (it is dropped, and pruned like a sent one is
    /// never: it stays listed as dropped). Returns the message, `None`
    /// when there is no such message.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn dismiss_message(
        &self,
        id: &str,
        reason: &str,
    ) -> Result<Option<OutboxRow>, StoreError> {
        on_backend!(
            self,
            query,
            "UPDATE outbox SET status = 'dropped', last_error = $2, claimed_by = NULL, \
             claim_epoch = NULL, claim_expires_at = NULL \
             WHERE id = $1 AND status IN ('pending', 'failed')",
            [id, reason],
            execute,
            write
        );
        self.outbox_message(id).await
    }

    /// Drops every message to `recipient` not sent yet, for `reason` (their
    /// erasure). Returns how many.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn drop_messages_to(&self, recipient: &str, reason: &str) -> Result<u64, StoreError> {
        let done = on_backend!(
            self,
            query,
            "UPDATE outbox SET status = 'dropped', last_error = $2 \
             WHERE recipient = $1 AND status IN ('pending', 'failed')",
            [recipient, reason],
            execute,
            write
        );
        Ok(done)
    }

    /// Up to `limit` messages of the outbox, newest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list_outbox(
        &self,
        filter: OutboxFilter,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let condition = match filter {
            OutboxFilter::All => "1 = 1",
            OutboxFilter::Failed => {
                "(status = 'failed' OR (status = 'pending' AND last_error IS NOT NULL))"
            }
            OutboxFilter::Pending => "status = 'pending'",
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox WHERE {condition} \
             ORDER BY created_at DESC, id LIMIT $1"
        );
        let rows: Vec<Row> = on_backend!(
            self,
            query_as::<Row>,
            sql.as_str(),
            [i64::try_from(limit).unwrap_or(i64::MAX)],
            fetch_all
        );
        Ok(rows.into_iter().map(row_out).collect())
    }

    /// One message of the outbox.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn outbox_message(&self, id: &str) -> Result<Option<OutboxRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = $1");
        let row: Option<Row> =
            on_backend!(self, query_as::<Row>, sql.as_str(), [id], fetch_optional);
        Ok(row.map(row_out))
    }

    /// Makes message `id` due again at `now`, its failures forgotten
    /// (an operator's retry). Returns the message, `None` when there is no
    /// such message; a message sent already is left as it is.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn retry_message(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OutboxRow>, StoreError> {
        on_backend!(
            self,
            query,
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2 \
             WHERE id = $1 AND status IN ('pending', 'failed')",
            [id, micros(now)],
            execute,
            write
        );
        self.outbox_message(id).await
    }

    /// The outbox in numbers.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn outbox_summary(&self) -> Result<OutboxSummary, StoreError> {
        let (pending, retrying, failed, sent, dropped, oldest): (
            i64,
            i64,
            i64,
            i64,
            i64,
            Option<i64>,
        ) = on_backend!(
            self,
            query_as::<(i64, i64, i64, i64, i64, Option<i64>)>,
            "SELECT \
               COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN status = 'pending' AND last_error IS NOT NULL THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN status = 'dropped' THEN 1 ELSE 0 END), 0), \
               MIN(CASE WHEN status = 'pending' THEN created_at END) \
             FROM outbox",
            [],
            fetch_one
        );
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(OutboxSummary {
            pending: count(pending),
            retrying: count(retrying),
            failed: count(failed),
            sent: count(sent),
            dropped: count(dropped),
            oldest_pending: oldest.map(time),
        })
    }

    /// Writes `row` as `subject`'s contact, replacing the one before.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn save_contact(
        &self,
        row: &ContactRow,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_backend!(
            self,
            query,
            "INSERT INTO contacts (subject, person, sealed, digest, opt_out, updated_at, lang) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (subject) DO UPDATE SET person = excluded.person, \
             sealed = excluded.sealed, digest = excluded.digest, opt_out = excluded.opt_out, \
             updated_at = excluded.updated_at, lang = excluded.lang",
            [
                &row.subject,
                &row.person,
                &row.sealed,
                row.digest,
                &row.opt_out,
                micros(at),
                &row.lang,
            ],
            execute,
            write
        );
        Ok(())
    }

    /// `subject`'s contact as stored, if they set one.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn contact_row(&self, subject: &str) -> Result<Option<ContactRow>, StoreError> {
        type Stored = (String, String, String, bool, String, String);
        let row: Option<Stored> = on_backend!(
            self,
            query_as::<Stored>,
            "SELECT subject, person, sealed, digest, opt_out, lang FROM contacts WHERE subject = $1",
            [subject],
            fetch_optional
        );
        Ok(row.map(
            |(subject, person, sealed, digest, opt_out, lang)| ContactRow {
                subject,
                person,
                sealed,
                digest,
                opt_out,
                lang,
            },
        ))
    }

    /// Deletes `subject`'s contact. Returns whether there was one.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn delete_contact(&self, subject: &str) -> Result<bool, StoreError> {
        let done = on_backend!(
            self,
            query,
            "DELETE FROM contacts WHERE subject = $1",
            [subject],
            execute,
            write
        );
        Ok(done > 0)
    }

    /// The subjects whose contacts `person`'s key seals, other than
    /// `person` (a staff member's subject, for their key).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn contact_subjects(&self, person: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_backend!(
            self,
            query_as::<(String,)>,
            "SELECT subject FROM contacts WHERE person = $1 AND subject <> $1",
            [person],
            fetch_all
        );
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }

    /// Deletes every contact sealed with `person`'s key (their erasure).
    /// Returns how many.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn forget_contacts(&self, person: &str) -> Result<u64, StoreError> {
        let done = on_backend!(
            self,
            query,
            "DELETE FROM contacts WHERE person = $1 OR subject = $1",
            [person],
            execute,
            write
        );
        Ok(done)
    }
}
