//! The key table `person_keys` on both backends (migration 0012).

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use crate::store::{ERASABLE_TABLES, EventStore, StoreError};

/// A person's row in the key table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyRow {
    /// No key yet: nothing was sealed for the person.
    Missing,
    /// The wrapped key.
    Wrapped(Vec<u8>),
    /// The person was erased at this moment; the key is gone.
    Erased(DateTime<Utc>),
}

fn sqlite_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn parse_sqlite_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// How an erased key's old bytes left the database files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scrubbed {
    /// SQLite: overwritten on delete (`secure_delete`), and the write-ahead
    /// log checkpointed and truncated.
    Overwritten,
    /// PostgreSQL: the table rewritten by `VACUUM FULL`.
    Vacuumed,
    /// PostgreSQL, as a login that does not own the table: the old row
    /// version stays in the table's file until its owner runs
    /// `jejak privacy vacuum` (`VACUUM FULL person_keys`).
    VacuumPending,
    /// SQLite: the write-ahead log could not be truncated now (a reader
    /// held it); its old frames are overwritten as the log goes on.
    WalBusy,
}

pub(crate) async fn read(store: &EventStore, person: &str) -> Result<KeyRow, StoreError> {
    let row = if let Some(pool) = store.sqlite_pool() {
        sqlx::query("SELECT wrapped, erased_at FROM person_keys WHERE person_id = ?")
            .bind(person)
            .fetch_optional(pool)
            .await?
            .map(|row| -> Result<KeyRow, sqlx::Error> {
                let wrapped: Option<Vec<u8>> = row.try_get(0)?;
                let erased: Option<String> = row.try_get(1)?;
                Ok(match (wrapped, erased) {
                    (Some(w), _) => KeyRow::Wrapped(w),
                    (None, e) => KeyRow::Erased(parse_sqlite_time(&e.unwrap_or_default())),
                })
            })
            .transpose()?
    } else if let Some(pool) = store.postgres_pool() {
        sqlx::query("SELECT wrapped, erased_at FROM person_keys WHERE person_id = $1")
            .bind(person)
            .fetch_optional(pool)
            .await?
            .map(|row| -> Result<KeyRow, sqlx::Error> {
                let wrapped: Option<Vec<u8>> = row.try_get(0)?;
                let erased: Option<DateTime<Utc>> = row.try_get(1)?;
                Ok(match wrapped {
                    Some(w) => KeyRow::Wrapped(w),
                    None => KeyRow::Erased(erased.unwrap_or_default()),
                })
            })
            .transpose()?
    } else {
        None
    };
    Ok(row.unwrap_or(KeyRow::Missing))
}

/// How many persons one query of [`read_many`] asks for, at most.
const READ_BATCH: usize = 500;

/// The key rows of `persons`, in one query per [`READ_BATCH`] of them; a
/// person without a row is not in the answer.
pub(crate) async fn read_many(
    store: &EventStore,
    persons: &[&str],
) -> Result<std::collections::HashMap<String, KeyRow>, StoreError> {
    let mut found = std::collections::HashMap::with_capacity(persons.len());
    for chunk in persons.chunks(READ_BATCH) {
        if let Some(pool) = store.sqlite_pool() {
            let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "SELECT person_id, wrapped, erased_at FROM person_keys WHERE person_id IN (",
            );
            let mut list = query.separated(", ");
            for person in chunk {
                list.push_bind(*person);
            }
            query.push(")");
            for row in query.build().fetch_all(pool).await? {
                let person: String = row.try_get(0)?;
                let wrapped: Option<Vec<u8>> = row.try_get(1)?;
                let erased: Option<String> = row.try_get(2)?;
                let key = match wrapped {
                    Some(w) => KeyRow::Wrapped(w),
                    None => KeyRow::Erased(parse_sqlite_time(&erased.unwrap_or_default())),
                };
                found.insert(person, key);
            }
        } else if let Some(pool) = store.postgres_pool() {
            let rows = sqlx::query(
                "SELECT person_id, wrapped, erased_at FROM person_keys WHERE person_id = ANY($1)",
            )
            .bind(
                chunk
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect::<Vec<String>>(),
            )
            .fetch_all(pool)
            .await?;
            for row in rows {
                let person: String = row.try_get(0)?;
                let wrapped: Option<Vec<u8>> = row.try_get(1)?;
                let erased: Option<DateTime<Utc>> = row.try_get(2)?;
                let key = match wrapped {
                    Some(w) => KeyRow::Wrapped(w),
                    None => KeyRow::Erased(erased.unwrap_or_default()),
                };
                found.insert(person, key);
            }
        }
    }
    Ok(found)
}

/// Whether the people index (NIP to person id) holds `person`.
pub(crate) async fn indexed(store: &EventStore, person: &str) -> Result<bool, StoreError> {
    let found: Option<i32> = if let Some(pool) = store.sqlite_pool() {
        sqlx::query_scalar("SELECT 1 FROM people WHERE person_id = ?")
            .bind(person)
            .fetch_optional(pool)
            .await?
    } else if let Some(pool) = store.postgres_pool() {
        sqlx::query_scalar("SELECT 1 FROM people WHERE person_id = $1")
            .bind(person)
            .fetch_optional(pool)
            .await?
    } else {
        None
    };
    Ok(found.is_some())
}

/// Stores `wrapped` as the key of `person` unless the person has a row
/// already (another server made the key first, or the person was erased).
pub(crate) async fn insert(
    store: &EventStore,
    person: &str,
    wrapped: &[u8],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if let Some(pool) = store.sqlite_pool() {
        let lock = store.sqlite_write_lock().unwrap_or_default();
        let _write = lock.lock().await;
        sqlx::query(
            "INSERT INTO person_keys (person_id, wrapped, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (person_id) DO NOTHING",
        )
        .bind(person)
        .bind(wrapped)
        .bind(sqlite_time(now))
        .execute(pool)
        .await?;
    } else if let Some(pool) = store.postgres_pool() {
        sqlx::query(
            "INSERT INTO person_keys (person_id, wrapped, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (person_id) DO NOTHING",
        )
        .bind(person)
        .bind(wrapped)
        .bind(now)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Destroys the key of `person`: the row is deleted and a row without a
/// key put in its place, in one transaction; then the old bytes are
/// scrubbed from the files as far as this login may.
pub(crate) async fn destroy(
    store: &EventStore,
    person: &str,
    now: DateTime<Utc>,
) -> Result<Scrubbed, StoreError> {
    if let Some(pool) = store.sqlite_pool() {
        let lock = store.sqlite_write_lock().unwrap_or_default();
        let _write = lock.lock().await;
        let mut tx = pool.begin().await?;
        sqlx::query("DELETE FROM person_keys WHERE person_id = ?")
            .bind(person)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO person_keys (person_id, erased_at, created_at) VALUES (?, ?, ?)")
            .bind(person)
            .bind(sqlite_time(now))
            .bind(sqlite_time(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return truncate_wal(pool).await;
    }
    let Some(pool) = store.postgres_pool() else {
        return Ok(Scrubbed::Overwritten);
    };
    let mut tx = pool.begin().await?;
    let deleted_by: String = sqlx::query_scalar("SELECT pg_current_xact_id()::text")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM person_keys WHERE person_id = $1")
        .bind(person)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO person_keys (person_id, erased_at, created_at) VALUES ($1, $2, $2)")
        .bind(person)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    wait_past(pool, deleted_by.parse().unwrap_or(u64::MAX)).await?;
    vacuum_postgres(pool, ERASABLE_TABLES).await
}

/// How long an erasure waits for the transactions that were running when
/// it deleted a key to end, before it rewrites the table.
const WAIT_FOR_OLDER: std::time::Duration = std::time::Duration::from_secs(30);

/// PostgreSQL keeps a deleted row version, even through `VACUUM FULL`,
/// while any transaction that began before the delete still runs (it may
/// still see the row). Waits until the oldest running transaction began
/// after `xid`, polling, at most [`WAIT_FOR_OLDER`]; after that the
/// rewrite keeps the old version, which `jejak privacy vacuum` removes.
async fn wait_past(pool: &sqlx::PgPool, xid: u64) -> Result<(), StoreError> {
    let start = std::time::Instant::now();
    loop {
        let oldest: String =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
                .fetch_one(pool)
                .await?;
        if oldest.parse::<u64>().is_ok_and(|oldest| oldest > xid) {
            return Ok(());
        }
        if start.elapsed() > WAIT_FOR_OLDER {
            tracing::warn!(
                "a transaction older than the erasure still runs; the key's old row may stay until `jejak privacy vacuum`"
            );
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// SQLite: copies the write-ahead log into the database and truncates it,
/// so that the old versions of the pages it held (the deleted key among
/// them) leave the `-wal` file. A reader that holds the log open makes it
/// wait; then the old frames are overwritten as the log goes on.
pub(crate) async fn truncate_wal(pool: &sqlx::SqlitePool) -> Result<Scrubbed, StoreError> {
    let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(pool)
        .await?;
    let busy: i64 = row.try_get(0)?;
    Ok(if busy == 0 {
        Scrubbed::Overwritten
    } else {
        tracing::warn!(
            "the write-ahead log is in use; an erased key's old page stays in it until it is overwritten"
        );
        Scrubbed::WalBusy
    })
}

/// PostgreSQL: rewrites `tables` with `VACUUM FULL` when this login owns
/// them (or is a superuser): a deleted row's old version is then in no
/// file of the table. A login that does not own them (the server role of
/// `jejak admin init-db`) may not, and says so.
pub(crate) async fn vacuum_postgres(
    pool: &sqlx::PgPool,
    tables: &[&str],
) -> Result<Scrubbed, StoreError> {
    for table in tables {
        let owns: Option<bool> = sqlx::query_scalar(
            "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class \
             WHERE oid = to_regclass($1)",
        )
        .bind(format!("public.{table}"))
        .fetch_optional(pool)
        .await?
        .flatten();
        match owns {
            Some(true) => {
                // The table names are jejak's own constants, never input.
                sqlx::raw_sql(&format!("VACUUM FULL {table}"))
                    .execute(pool)
                    .await?;
            }
            Some(false) => {
                tracing::warn!(
                    table,
                    "this login does not own the table; its erased rows stay in its file until \
                     the owner runs `jejak privacy vacuum`"
                );
                return Ok(Scrubbed::VacuumPending);
            }
            None => {}
        }
    }
    Ok(Scrubbed::Vacuumed)
}
