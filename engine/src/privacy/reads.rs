//! The record of reads of personal data (`personal_reads`, migration
//! 0012; ADR 0022): who read whose personal data, what, when and why.
//!
//! A read is handed to a bounded channel and returns at once; one task
//! per process lets reads gather for [`GATHER`] and writes them in one
//! statement (up to [`BATCH`] rows), so recording costs a read one channel
//! send, not a database round trip, and steady reading one commit per
//! gathering, not one per read. When the channel is full the reader waits for
//! room: a read is never served unrecorded, and never dropped.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use sqlx::Row as _;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::store::{EventStore, StoreError};

/// Reads waiting to be written, at most.
pub const CHANNEL: usize = 16_384;
/// Reads written in one statement, at most.
pub const BATCH: usize = 512;
/// How long the writer lets reads gather after the first of a batch
/// before it writes them (a flush writes at once): under steady reading
/// one statement a gathering, not one per read.
pub const GATHER: std::time::Duration = std::time::Duration::from_millis(50);

/// One read of a person's personal data by someone else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonalRead {
    /// When.
    pub at: DateTime<Utc>,
    /// Who read (their subject id).
    pub reader: String,
    /// Whose data (a person id).
    pub person: String,
    /// What was read, e.g. `name,nip,position`.
    pub what: String,
    /// Why: the request that read it and the reader's role, e.g.
    /// `Projects.GetProject as mentor`.
    pub why: String,
}

enum Message {
    Read(PersonalRead),
    Flush(oneshot::Sender<()>),
}

/// The channel to the task that writes reads; started on first use.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReadLog {
    sender: Arc<OnceLock<mpsc::Sender<Message>>>,
    /// Wakes the writer gathering reads when a flush is asked for.
    flushing: Arc<Notify>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message")
    }
}

impl ReadLog {
    fn sender(&self, store: &EventStore) -> &mpsc::Sender<Message> {
        self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::channel(CHANNEL);
            tokio::spawn(write_reads(store.clone(), rx, self.flushing.clone()));
            tx
        })
    }

    /// Records `read`, waiting only when [`CHANNEL`] reads wait already.
    pub(crate) async fn record(&self, store: &EventStore, read: PersonalRead) {
        let sender = self.sender(store);
        match sender.try_send(Message::Read(read)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(message)) => {
                let _ = sender.send(message).await;
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("the record of personal reads stopped; a read went unrecorded");
            }
        }
    }

    /// Waits until every read recorded before is written.
    pub(crate) async fn flush(&self, store: &EventStore) {
        let (done, written) = oneshot::channel();
        if self.sender(store).send(Message::Flush(done)).await.is_ok() {
            self.flushing.notify_one();
            let _ = written.await;
        }
    }
}

async fn write_reads(store: EventStore, mut rx: mpsc::Receiver<Message>, flushing: Arc<Notify>) {
    let mut messages = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut messages, BATCH).await == 0 {
            return;
        }
        // Reads gather for GATHER without the channel waking this task at
        // each one (a wake-up per read cost the reads a fifth of their
        // time); a flush ends the wait at once.
        if !messages.iter().any(|m| matches!(m, Message::Flush(_))) {
            tokio::select! {
                () = tokio::time::sleep(GATHER) => {}
                () = flushing.notified() => {}
            }
            while messages.len() < BATCH {
                match rx.try_recv() {
                    Ok(message) => messages.push(message),
                    Err(_) => break,
                }
            }
        }
        let mut reads = Vec::new();
        let mut flushes = Vec::new();
        for message in messages.drain(..) {
            match message {
                Message::Read(read) => reads.push(read),
                Message::Flush(done) => flushes.push(done),
            }
        }
        let mut wait = std::time::Duration::from_millis(100);
        while !reads.is_empty() {
            match insert(&store, &reads).await {
                Ok(()) => break,
                Err(err) => {
                    tracing::warn!(error = %err, rows = reads.len(), "writing the record of personal reads failed; trying again");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(std::time::Duration::from_secs(5));
                }
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

async fn insert(store: &EventStore, reads: &[PersonalRead]) -> Result<(), StoreError> {
    if let Some(pool) = store.sqlite_pool() {
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO personal_reads (read_at, reader, person_id, what, why) ",
        );
        query.push_values(reads, |mut row, read| {
            row.push_bind(read.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
                .push_bind(&read.reader)
                .push_bind(&read.person)
                .push_bind(&read.what)
                .push_bind(&read.why);
        });
        query.build().execute(pool).await?;
    } else if let Some(pool) = store.postgres_pool() {
        let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "INSERT INTO personal_reads (read_at, reader, person_id, what, why) ",
        );
        query.push_values(reads, |mut row, read| {
            row.push_bind(read.at)
                .push_bind(&read.reader)
                .push_bind(&read.person)
                .push_bind(&read.what)
                .push_bind(&read.why);
        });
        query.build().execute(pool).await?;
    }
    Ok(())
}

/// Every read recorded of `person`'s data, oldest first.
pub(crate) async fn reads_of(
    store: &EventStore,
    person: &str,
) -> Result<Vec<PersonalRead>, StoreError> {
    let sql_sqlite = "SELECT read_at, reader, person_id, what, why FROM personal_reads WHERE person_id = ? ORDER BY id";
    let sql_postgres = "SELECT read_at, reader, person_id, what, why FROM personal_reads WHERE person_id = $1 ORDER BY id";
    if let Some(pool) = store.sqlite_pool() {
        let rows = sqlx::query(sql_sqlite).bind(person).fetch_all(pool).await?;
        return rows
            .into_iter()
            .map(|row| {
                let at: String = row.try_get(0)?;
                Ok(PersonalRead {
                    at: DateTime::parse_from_rfc3339(&at)
                        .map(|t| t.with_timezone(&Utc))
                        .unwrap_or_default(),
                    reader: row.try_get(1)?,
                    person: row.try_get(2)?,
                    what: row.try_get(3)?,
                    why: row.try_get(4)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into);
    }
    let Some(pool) = store.postgres_pool() else {
        return Ok(vec![]);
    };
    let rows = sqlx::query(sql_postgres)
        .bind(person)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(PersonalRead {
                at: row.try_get(0)?,
                reader: row.try_get(1)?,
                person: row.try_get(2)?,
                what: row.try_get(3)?,
                why: row.try_get(4)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}
