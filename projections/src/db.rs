//! The view tables, on whichever database holds the log.

use std::collections::HashMap;
use std::sync::Arc;

use jejak_engine::store::{
    EmbeddedMigrations, EventStore, Lease, StoreError, embedded_migrator, fence,
};
use sqlx::{PgPool, Row as _, SqlitePool};

use crate::projection::Counts;

/// One document write: `None` deletes. With it, the terms the document
/// is no longer found by and those it is found by now (ADR 0033).
#[derive(Debug)]
pub(crate) struct Write {
    pub key: String,
    pub doc: Option<String>,
    pub unterm: Vec<(&'static str, String)>,
    pub term: Vec<(&'static str, String)>,
}

#[derive(Clone, Debug)]
pub(crate) enum Db {
    /// On SQLite: a pool on the views' own file beside the log (ADR 0039),
    /// whose commits do not wait for the disk (a view lost to a power cut
    /// is applied again from its checkpoint), the lock the views' writers
    /// queue on, and the connection the views' writes are made on.
    Sqlite(SqlitePool, Arc<tokio::sync::Mutex<()>>, Arc<Writer>),
    Postgres(PgPool),
}

/// The views' writes on SQLite (ADR 0023): one rusqlite connection, made
/// as the views' pool's are, opened on the first write and again after a
/// failure, its statements kept prepared. A view's batch — the checkpoint's
/// compare-and-set, documents, terms, counts, the commit — is one call on
/// the writing task's thread, as the log's appends are (ADR 0019), not a
/// hop to sqlx's thread per statement.
pub(crate) struct Writer {
    store: EventStore,
    conn: std::sync::Mutex<Option<rusqlite::Connection>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Runs `write` on the connection, on this thread
    /// ([`jejak_engine::store::blocking`]). A connection that failed is
    /// closed, and the next write opens another.
    fn run<R>(
        &self,
        write: impl FnOnce(&mut rusqlite::Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        jejak_engine::store::blocking(|| {
            let mut slot = self
                .conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let conn = match &mut *slot {
                Some(conn) => conn,
                None => slot.insert(self.store.sqlite_views_connection()?.ok_or_else(|| {
                    StoreError::Internal("a SQLite log has a SQLite connection".into())
                })?),
            };
            let written = write(conn);
            if written.is_err() {
                *slot = None;
            }
            written
        })
    }
}

const CHUNK: usize = 500;

/// How a view's write is made on a shared log (ADR 0029).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Under<'a> {
    /// The lease it is made under, checked in its transaction.
    pub lease: Option<&'a Lease>,
    /// Whether it is announced to standbys (the served generation's).
    pub announce: bool,
}

/// The checkpoint's move on PostgreSQL, announced on
/// [`jejak_engine::store::VIEWS_CHANNEL`] as `VIEW:POSITION` when it moved.
static ANNOUNCED_CHECKPOINT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH moved AS (INSERT INTO view_checkpoints (view, generation, position) VALUES ($1, $2, $3) \
         ON CONFLICT (view, generation) DO UPDATE SET position = excluded.position \
         WHERE view_checkpoints.position = $4 RETURNING view, position) \
         SELECT pg_notify('{}', view || ':' || position) FROM moved",
        jejak_engine::store::VIEWS_CHANNEL
    )
});

/// The tables that keep a view's generations, beside `view_active` (the
/// generation each view serves).
const GENERATION_TABLES: [&str; 4] = ["view_docs", "view_checkpoints", "view_terms", "view_counts"];

/// On SQLite, empties the views' file when it was applied from another
/// history than `store`'s log (ADR 0039): another log (its first event
/// differs), or an older copy of this one (a view's checkpoint lies past
/// the log's head, as after restoring a backup of the log beside a newer
/// views' file). The views are then applied again from the log's start,
/// as on a first start. Then records which log the file follows.
async fn follow_this_log(pool: &SqlitePool, store: &EventStore) -> Result<(), StoreError> {
    let first = store.read_all(0, 1).await?.first().map(|e| e.hash.to_vec());
    let head = store.digest().await?.position;
    let mut tx = pool.begin().await?;
    let known: Option<Option<Vec<u8>>> =
        sqlx::query_scalar("SELECT first_hash FROM views_log WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?;
    let furthest: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM view_checkpoints")
        .fetch_one(&mut *tx)
        .await?;
    let other_log = matches!((&known, &first), (Some(Some(was)), Some(is)) if was != is);
    let ahead = u64::try_from(furthest.unwrap_or(0)).unwrap_or(0) > head;
    if other_log || ahead {
        tracing::warn!(
            head,
            furthest,
            other_log,
            "the views' file was applied from another history than this log's \
             (a log restored from a backup, or copied); applying the views again from the start"
        );
        for table in GENERATION_TABLES.iter().chain(&["view_active"]) {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
    }
    sqlx::query(
        "INSERT INTO views_log (id, first_hash) VALUES (1, ?) \
         ON CONFLICT (id) DO UPDATE SET first_hash = excluded.first_hash",
    )
    .bind(first)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

impl Db {
    pub(crate) async fn open(store: &EventStore) -> Result<Self, StoreError> {
        let db = match (store.sqlite_pool(), store.postgres_pool()) {
            // The views' own file (ADR 0039): its writers queue on a lock
            // of their own, not the log's.
            (Some(_), _) => Self::Sqlite(
                store
                    .sqlite_views_pool(4)
                    .await?
                    .unwrap_or_else(|| unreachable!("a SQLite log has a SQLite pool")),
                Arc::default(),
                Arc::new(Writer {
                    store: store.clone(),
                    conn: std::sync::Mutex::new(None),
                }),
            ),
            (_, Some(pool)) => Self::Postgres(pool.clone()),
            _ => return Err(StoreError::Internal("the log has no database pool".into())),
        };
        if !store.config().read_only {
            match &db {
                Self::Sqlite(pool, ..) => {
                    embedded_migrator(SQLITE_MIGRATIONS).run(pool).await?;
                    follow_this_log(pool, store).await?;
                }
                // The server role finds the schema migrated by its owner.
                Self::Postgres(pool) => {
                    jejak_engine::store::migrate_postgres(&postgres_migrator(), pool).await?;
                }
            }
        }
        Ok(db)
    }

    /// On SQLite, queues behind the process's other writers.
    async fn write_lock(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self {
            Self::Sqlite(_, lock, _) => Some(lock.clone().lock_owned().await),
            Self::Postgres(_) => None,
        }
    }

    /// The documents with these keys.
    pub(crate) async fn load(
        &self,
        view: &str,
        generation: i64,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(CHUNK) {
            let rows = match self {
                Self::Sqlite(pool, ..) => {
                    let marks = vec!["?"; chunk.len()].join(", ");
                    let sql = format!("SELECT key, doc FROM view_docs WHERE view = ? AND generation = ? AND key IN ({marks})");
                    let mut query = sqlx::query(&sql).bind(view).bind(generation);
                    for key in chunk {
                        query = query.bind(key);
                    }
                    query.fetch_all(pool).await?.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<Vec<_>, sqlx::Error>>()?
                }
                // One primary-key lookup per key, whatever the statistics
                // say (they may be stale, or taken while the table was
                // empty): `OFFSET 0` keeps the lookup from being turned into
                // a scan of the generation filtered by key, and a statement
                // planned anew each time, not kept prepared, sees the table
                // as it is now. Either mistake alone made every batch scan
                // the whole generation, slower the larger the view grew.
                Self::Postgres(pool) => sqlx::query("SELECT k.key, d.doc FROM unnest($3::text[]) AS k(key) CROSS JOIN LATERAL (SELECT doc FROM view_docs WHERE view = $1 AND generation = $2 AND key = k.key OFFSET 0) AS d")
                    .persistent(false)
                    .bind(view)
                    .bind(generation)
                    .bind(chunk)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<Vec<_>, sqlx::Error>>()?,
            };
            found.extend(rows);
        }
        Ok(found)
    }

    /// Writes documents and moves the checkpoint from `from` to `to`, in one
    /// transaction. Returns false, writing nothing, when the checkpoint was
    /// no longer at `from` (another process applied these events).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn commit(
        &self,
        view: &str,
        generation: i64,
        writes: &[Write],
        counts: &Counts,
        from: i64,
        to: i64,
        under: Under<'_>,
    ) -> Result<bool, StoreError> {
        let Under { lease, announce } = under;
        let _write = self.write_lock().await;
        // One statement per chunk of documents, not one per document: each
        // statement is a round trip to the database.
        let (upserts, deletes): (Vec<&Write>, Vec<&Write>) =
            writes.iter().partition(|w| w.doc.is_some());
        // What the view keeps beside them (ADR 0033): terms gone, terms
        // new, and the counts' changes, in the same transaction.
        let unterms: Vec<(&str, &str, &str)> = writes
            .iter()
            .flat_map(|w| {
                w.unterm
                    .iter()
                    .map(|(n, v)| (*n, v.as_str(), w.key.as_str()))
            })
            .collect();
        let terms: Vec<(&str, &str, &str)> = writes
            .iter()
            .flat_map(|w| w.term.iter().map(|(n, v)| (*n, v.as_str(), w.key.as_str())))
            .collect();
        let counts: Vec<(&(&str, String, String), &i64)> = counts.iter().collect();
        macro_rules! commit {
            ($db:ty, $pool:expr, $begin:expr, $checkpoint:expr $(, $tx:ident => $fence:block)?) => {{
                let mut tx = jejak_engine::store::Begun::begin($pool, $begin).await?;
                $({
                    let $tx = &mut *tx;
                    $fence
                })?
                let moved = sqlx::query($checkpoint)
                    .bind(view)
                    .bind(generation)
                    .bind(to)
                    .bind(from)
                    .execute(&mut *tx)
                    .await?;
                if moved.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                for chunk in upserts.chunks(CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO view_docs (view, generation, key, doc) ",
                    );
                    q.push_values(chunk, |mut row, w| {
                        row.push_bind(view)
                            .push_bind(generation)
                            .push_bind(&w.key)
                            .push_bind(&w.doc);
                    });
                    q.push(" ON CONFLICT (view, generation, key) DO UPDATE SET doc = excluded.doc");
                    q.build().execute(&mut *tx).await?;
                }
                for chunk in deletes.chunks(CHUNK) {
                    let mut q =
                        sqlx::QueryBuilder::<$db>::new("DELETE FROM view_docs WHERE view = ");
                    q.push_bind(view)
                        .push(" AND generation = ")
                        .push_bind(generation)
                        .push(" AND key IN (");
                    let mut keys = q.separated(", ");
                    for w in chunk {
                        keys.push_bind(&w.key);
                    }
                    keys.push_unseparated(")");
                    q.build().execute(&mut *tx).await?;
                }
                for chunk in unterms.chunks(CHUNK) {
                    let mut q =
                        sqlx::QueryBuilder::<$db>::new("DELETE FROM view_terms WHERE view = ");
                    q.push_bind(view)
                        .push(" AND generation = ")
                        .push_bind(generation)
                        .push(" AND (name, value, key) IN (VALUES ");
                    let mut rows = q.separated(", ");
                    for (name, value, key) in chunk {
                        rows.push("(")
                            .push_bind_unseparated(*name)
                            .push_unseparated(", ")
                            .push_bind_unseparated(*value)
                            .push_unseparated(", ")
                            .push_bind_unseparated(*key)
                            .push_unseparated(")");
                    }
                    rows.push_unseparated(")");
                    q.build().execute(&mut *tx).await?;
                }
                for chunk in terms.chunks(CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO view_terms (view, generation, name, value, key) ",
                    );
                    q.push_values(chunk, |mut row, (name, value, key)| {
                        row.push_bind(view)
                            .push_bind(generation)
                            .push_bind(*name)
                            .push_bind(*value)
                            .push_bind(*key);
                    });
                    q.push(" ON CONFLICT DO NOTHING");
                    q.build().execute(&mut *tx).await?;
                }
                for chunk in counts.chunks(CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO view_counts (view, generation, scope, name, value, n) ",
                    );
                    q.push_values(chunk, |mut row, ((name, scope, value), n)| {
                        row.push_bind(view)
                            .push_bind(generation)
                            .push_bind(scope.as_str())
                            .push_bind(*name)
                            .push_bind(value.as_str())
                            .push_bind(**n);
                    });
                    q.push(" ON CONFLICT (view, generation, scope, name, value) DO UPDATE SET n = view_counts.n + excluded.n");
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }};
        }
        match self {
            Self::Sqlite(_, _, writer) => {
                return writer.run(|conn| {
                    sqlite_commit(
                        conn, view, generation, &upserts, &deletes, &unterms, &terms, &counts,
                        from, to,
                    )
                });
            }
            // A view is rebuilt from the log: its commit need not wait for
            // the disk (ADR 0023). Documents and checkpoint still commit
            // together, and a crash that loses the newest of these commits
            // leaves the view at an older checkpoint, from which it applies
            // the log again. On SQLite the views' pool already commits
            // without waiting (`synchronous=NORMAL`).
            // The served generation's writes are announced to standbys
            // (ADR 0029), in the statement that moves the checkpoint; the
            // notice goes out when the transaction commits.
            Self::Postgres(pool) => commit!(
                sqlx::Postgres,
                pool,
                // The setting rides in the BEGIN's round trip (ADR 0041).
                "BEGIN; SET LOCAL synchronous_commit = off",
                if announce {
                    ANNOUNCED_CHECKPOINT.as_str()
                } else {
                    "INSERT INTO view_checkpoints (view, generation, position) VALUES ($1, $2, $3) ON CONFLICT (view, generation) DO UPDATE SET position = excluded.position WHERE view_checkpoints.position = $4"
                },
                // Only under the view's lease (ADR 0029).
                tx => {
                    if let Some(lease) = lease {
                        fence(tx, lease).await?;
                    }
                }
            ),
        }
        Ok(true)
    }

    /// Up to `limit` documents after key `after`, in key order.
    pub(crate) async fn scan_after(
        &self,
        view: &str,
        generation: i64,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match self {
            Self::Sqlite(pool, ..) => sqlx::query(
                "SELECT key, doc FROM view_docs WHERE view = ? AND generation = ? AND key > ? ORDER BY key LIMIT ?",
            )
            .bind(view)
            .bind(generation)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?,
            Self::Postgres(pool) => sqlx::query(
                "SELECT key, doc FROM view_docs WHERE view = $1 AND generation = $2 AND key > $3 ORDER BY key LIMIT $4",
            )
            .bind(view)
            .bind(generation)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?,
        };
        Ok(rows)
    }

    /// Every document of a generation, by key.
    pub(crate) async fn scan(
        &self,
        view: &str,
        generation: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = match self {
            Self::Sqlite(pool, ..) => {
                sqlx::query(
                    "SELECT key, doc FROM view_docs WHERE view = ? AND generation = ? ORDER BY key",
                )
                .bind(view)
                .bind(generation)
                .fetch_all(pool)
                .await?
            }
            Self::Postgres(pool) => {
                return Ok(sqlx::query("SELECT key, doc FROM view_docs WHERE view = $1 AND generation = $2 ORDER BY key")
                    .bind(view)
                    .bind(generation)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<_, sqlx::Error>>()?);
            }
        };
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// How far a generation has applied the log.
    pub(crate) async fn checkpoint(&self, view: &str, generation: i64) -> Result<u64, StoreError> {
        let position: Option<i64> = match self {
            Self::Sqlite(pool, ..) => {
                sqlx::query_scalar(
                    "SELECT position FROM view_checkpoints WHERE view = ? AND generation = ?",
                )
                .bind(view)
                .bind(generation)
                .fetch_optional(pool)
                .await?
            }
            Self::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT position FROM view_checkpoints WHERE view = $1 AND generation = $2",
                )
                .bind(view)
                .bind(generation)
                .fetch_optional(pool)
                .await?
            }
        };
        Ok(position.unwrap_or(0) as u64)
    }

    /// The generation a view serves (1 for a view never built).
    pub(crate) async fn active(&self, view: &str) -> Result<i64, StoreError> {
        let generation: Option<i64> = match self {
            Self::Sqlite(pool, ..) => {
                sqlx::query_scalar("SELECT generation FROM view_active WHERE view = ?")
                    .bind(view)
                    .fetch_optional(pool)
                    .await?
            }
            Self::Postgres(pool) => {
                sqlx::query_scalar("SELECT generation FROM view_active WHERE view = $1")
                    .bind(view)
                    .fetch_optional(pool)
                    .await?
            }
        };
        Ok(generation.unwrap_or(1))
    }

    /// Serves `generation` from now on and drops the documents of every other one.
    pub(crate) async fn activate(
        &self,
        view: &str,
        generation: i64,
        lease: Option<&Lease>,
    ) -> Result<(), StoreError> {
        let _write = self.write_lock().await;
        macro_rules! activate {
            ($pool:expr, $set:literal, $drop_docs:literal, $drop_checkpoints:literal, $drop_terms:literal, $drop_counts:literal $(, $tx:ident => $fence:block)?) => {{
                let mut tx = $pool.begin().await?;
                $({
                    let $tx = &mut *tx;
                    $fence
                })?
                sqlx::query($set)
                    .bind(view)
                    .bind(generation)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query($drop_docs)
                    .bind(view)
                    .bind(generation)
                    .execute(&mut *tx)
                    .await?;
                for drop in [$drop_checkpoints, $drop_terms, $drop_counts] {
                    sqlx::query(drop)
                        .bind(view)
                        .bind(generation)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }};
        }
        match self {
            Self::Sqlite(pool, ..) => activate!(
                pool,
                "INSERT INTO view_active (view, generation) VALUES (?, ?) ON CONFLICT (view) DO UPDATE SET generation = excluded.generation",
                "DELETE FROM view_docs WHERE view = ? AND generation <> ?",
                "DELETE FROM view_checkpoints WHERE view = ? AND generation <> ?",
                "DELETE FROM view_terms WHERE view = ? AND generation <> ?",
                "DELETE FROM view_counts WHERE view = ? AND generation <> ?"
            ),
            Self::Postgres(pool) => activate!(
                pool,
                "INSERT INTO view_active (view, generation) VALUES ($1, $2) ON CONFLICT (view) DO UPDATE SET generation = excluded.generation",
                "DELETE FROM view_docs WHERE view = $1 AND generation <> $2",
                "DELETE FROM view_checkpoints WHERE view = $1 AND generation <> $2",
                "DELETE FROM view_terms WHERE view = $1 AND generation <> $2",
                "DELETE FROM view_counts WHERE view = $1 AND generation <> $2",
                tx => {
                    if let Some(lease) = lease {
                        fence(tx, lease).await?;
                    }
                }
            ),
        }
        Ok(())
    }

    /// Drops a generation that will not be served (a rebuild started over).
    pub(crate) async fn drop_generation(
        &self,
        view: &str,
        generation: i64,
    ) -> Result<(), StoreError> {
        let _write = self.write_lock().await;
        for table in GENERATION_TABLES {
            match self {
                Self::Sqlite(pool, ..) => {
                    sqlx::query(&format!(
                        "DELETE FROM {table} WHERE view = ? AND generation = ?"
                    ))
                    .bind(view)
                    .bind(generation)
                    .execute(pool)
                    .await?;
                }
                Self::Postgres(pool) => {
                    sqlx::query(&format!(
                        "DELETE FROM {table} WHERE view = $1 AND generation = $2"
                    ))
                    .bind(view)
                    .bind(generation)
                    .execute(pool)
                    .await?;
                }
            }
        }
        Ok(())
    }
}

/// [`Db::commit`] on SQLite, in one `BEGIN IMMEDIATE` transaction on the
/// views' connection, each kind of row by a statement kept prepared.
#[allow(clippy::too_many_arguments)]
fn sqlite_commit(
    conn: &mut rusqlite::Connection,
    view: &str,
    generation: i64,
    upserts: &[&Write],
    deletes: &[&Write],
    unterms: &[(&str, &str, &str)],
    terms: &[(&str, &str, &str)],
    counts: &[(&(&str, String, String), &i64)],
    from: i64,
    to: i64,
) -> Result<bool, StoreError> {
    use rusqlite::params;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let moved = tx
        .prepare_cached(
            "INSERT INTO view_checkpoints (view, generation, position) VALUES (?1, ?2, ?3) \
             ON CONFLICT (view, generation) DO UPDATE SET position = excluded.position \
             WHERE view_checkpoints.position = ?4",
        )?
        .execute(params![view, generation, to, from])?;
    if moved != 1 {
        // Dropped: rolled back.
        return Ok(false);
    }
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO view_docs (view, generation, key, doc) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (view, generation, key) DO UPDATE SET doc = excluded.doc",
        )?;
        for w in upserts {
            upsert.execute(params![view, generation, w.key, w.doc])?;
        }
    }
    if !deletes.is_empty() {
        let mut delete = tx.prepare_cached(
            "DELETE FROM view_docs WHERE view = ?1 AND generation = ?2 AND key = ?3",
        )?;
        for w in deletes {
            delete.execute(params![view, generation, w.key])?;
        }
    }
    if !unterms.is_empty() {
        let mut unterm = tx.prepare_cached(
            "DELETE FROM view_terms WHERE view = ?1 AND generation = ?2 AND name = ?3 \
             AND value = ?4 AND key = ?5",
        )?;
        for (name, value, key) in unterms {
            unterm.execute(params![view, generation, name, value, key])?;
        }
    }
    if !terms.is_empty() {
        let mut term = tx.prepare_cached(
            "INSERT INTO view_terms (view, generation, name, value, key) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )?;
        for (name, value, key) in terms {
            term.execute(params![view, generation, name, value, key])?;
        }
    }
    if !counts.is_empty() {
        let mut count = tx.prepare_cached(
            "INSERT INTO view_counts (view, generation, scope, name, value, n) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (view, generation, scope, name, value) \
             DO UPDATE SET n = view_counts.n + excluded.n",
        )?;
        for ((name, scope, value), n) in counts {
            count.execute(params![view, generation, scope, name, value, n])?;
        }
    }
    tx.commit()?;
    Ok(true)
}

/// The read models' PostgreSQL migrations (`jejak admin init-db` runs them
/// as the schema's owner).
#[must_use]
pub fn postgres_migrator() -> sqlx::migrate::Migrator {
    embedded_migrator(POSTGRES_MIGRATIONS)
}

/// The read models' migrations, embedded by the build script.
const SQLITE_MIGRATIONS: EmbeddedMigrations =
    include!(concat!(env!("OUT_DIR"), "/sqlite_migrations.rs"));
const POSTGRES_MIGRATIONS: EmbeddedMigrations =
    include!(concat!(env!("OUT_DIR"), "/postgres_migrations.rs"));
