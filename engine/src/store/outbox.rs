//! The outbox and the contacts (ADR 0032): two tables beside the log,
//! outside the hash chain.
//!
//! - `outbox`: the messages owed to people. [`EventStore::enqueue`] adds
//!   messages and ignores one whose id is there already, so a process
//!   manager that reads an event again makes nothing twice; the deliverer
//!   takes what is due ([`EventStore::due_messages`]) and records what
//!   became of it ([`EventStore::settle_messages`]).
//! - `contacts`: each person's addresses (sealed by the caller) and
//!   preferences, written and deleted only by that person or their erasure.
//!
//! Times are kept as microseconds since the epoch on both backends.

use chrono::{DateTime, Utc};

use super::{Backend, EventStore, StoreError};

/// Runs `$sql` (written with `$1`, `$2`… placeholders) on either backend,
/// with `$binds`, as `$run` (`fetch_all`, …; a `write` is `execute`d and
/// yields the rows it affected). On SQLite the placeholders become `?1`,
/// `?2`… and writes take the write lock.
macro_rules! on_backend {
    ($store:expr, $query:ident $(::<$ty:ty>)?, $sql:expr, [$($bind:expr),* $(,)?], $run:ident, write) => {
        match &$store.inner.backend {
            Backend::Sqlite(s) => {
                let _write = s.write_lock.lock().await;
                let sql = $sql.replace('$', "?");
                sqlx::$query$(::<_, $ty>)?(&sql)$(.bind($bind))*.$run(&s.pool).await?.rows_affected()
            }
            Backend::Postgres(p) => sqlx::$query$(::<_, $ty>)?($sql)$(.bind($bind))*.$run(&p.pool).await?.rows_affected(),
        }
    };
    ($store:expr, $query:ident $(::<$ty:ty>)?, $sql:expr, [$($bind:expr),* $(,)?], $run:ident) => {
        match &$store.inner.backend {
            Backend::Sqlite(s) => {
                let sql = $sql.replace('$', "?");
                sqlx::$query$(::<_, $ty>)?(&sql)$(.bind($bind))*.$run(&s.pool).await?
            }
            Backend::Postgres(p) => sqlx::$query$(::<_, $ty>)?($sql)$(.bind($bind))*.$run(&p.pool).await?,
        }
    };
}

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
    /// Messages sent.
    pub sent: u64,
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
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
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

    /// Up to `limit` messages due at `now`, the longest due first.
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

    /// Records what became of the messages `ids`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn settle_messages(&self, ids: &[String], settle: &Settle) -> Result<(), StoreError> {
        for id in ids {
            match settle {
                Settle::Sent {
                    at,
                    delivery_id,
                    delivered,
                } => {
                    on_backend!(
                        self,
                        query,
                        "UPDATE outbox SET status = 'sent', sent_at = $2, delivery_id = $3, \
                         delivered = $4, last_error = NULL WHERE id = $1",
                        [id, micros(*at), delivery_id, delivered.join(",")],
                        execute,
                        write
                    );
                }
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
                    on_backend!(
                        self,
                        query,
                        "UPDATE outbox SET status = $2, attempts = $3, next_attempt_at = $4, \
                         last_error = $5, delivered = $6 WHERE id = $1",
                        [
                            id,
                            status.as_str(),
                            i64::from(*attempts),
                            micros(*next_attempt_at),
                            error,
                            delivered.join(","),
                        ],
                        execute,
                        write
                    );
                }
                Settle::Deferred { until } => {
                    on_backend!(
                        self,
                        query,
                        "UPDATE outbox SET next_attempt_at = $2 WHERE id = $1",
                        [id, micros(*until)],
                        execute,
                        write
                    );
                }
                Settle::Dropped { reason } => {
                    on_backend!(
                        self,
                        query,
                        "UPDATE outbox SET status = 'dropped', last_error = $2 WHERE id = $1",
                        [id, reason],
                        execute,
                        write
                    );
                }
            }
        }
        Ok(())
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
        let (pending, retrying, failed, sent, oldest): (i64, i64, i64, i64, Option<i64>) = on_backend!(
            self,
            query_as::<(i64, i64, i64, i64, Option<i64>)>,
            "SELECT \
               COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN status = 'pending' AND last_error IS NOT NULL THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0), \
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
            "INSERT INTO contacts (subject, person, sealed, digest, opt_out, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (subject) DO UPDATE SET person = excluded.person, \
             sealed = excluded.sealed, digest = excluded.digest, opt_out = excluded.opt_out, \
             updated_at = excluded.updated_at",
            [
                &row.subject,
                &row.person,
                &row.sealed,
                row.digest,
                &row.opt_out,
                micros(at),
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
        let row: Option<(String, String, String, bool, String)> = on_backend!(
            self,
            query_as::<(String, String, String, bool, String)>,
            "SELECT subject, person, sealed, digest, opt_out FROM contacts WHERE subject = $1",
            [subject],
            fetch_optional
        );
        Ok(
            row.map(|(subject, person, sealed, digest, opt_out)| ContactRow {
                subject,
                person,
                sealed,
                digest,
                opt_out,
            }),
        )
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
