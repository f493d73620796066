//! The SQLite log's appends, on one rusqlite connection of its own (ADR 0019).
//!
//! Each statement through sqlx is a hop to sqlx's worker thread and back;
//! once a batch also wrote its seal and tree hashes beside its events, a
//! lone append took five of them (BEGIN, the checked INSERT, the request
//! row, seal and tree, COMMIT). Here a whole batch — its reads under the
//! append lock, the planning, every row, the commit — is one call on this
//! task's thread, with prepared statements kept between batches.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, TransactionBehavior, params};

use super::StoreError;
use super::merkle::{Frontier, TreeRead, frontier_indexes};
use super::plan::{BatchContext, Guess, Guessed, Plan, PreparedAppend, Row, StoredRequest, plan};
use super::seal::{Beside, HeadSeal, Ledger, Seal};
use super::sqlite::{COLUMNS, format_time, parse_time};

/// Runs `f`, which blocks on the disk, without stalling the other tasks of
/// a multi-threaded runtime (they move to another thread meanwhile); on a
/// single-threaded runtime there is nobody to move, and it just runs.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// How many pages a writer's WAL holds before the commit that finds them
/// copies them into the file (SQLite's default is 1,000). The copy and its
/// fsync stall every command waiting for the next batch: at 64 clients a
/// thousand pages made a p99 of 52–131 ms and 250 one of 17–49 ms, with a
/// fifth more commands a second; a separate thread that checkpoints
/// beside the writer was slower still, its fsyncs meeting the writer's
/// (ADR 0040).
const CHECKPOINT_PAGES: u32 = 250;

/// Opens the log file for writing as the sqlx pool does (WAL, set when the
/// file was migrated; commits that wait for the disk; foreign keys; a
/// statement journal in memory; a checkpoint every [`CHECKPOINT_PAGES`]),
/// or, for a store opened `read_only`, read-only, so that a write is
/// refused as the pool would refuse it.
pub(crate) fn open(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let access = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    };
    let conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; \
         PRAGMA secure_delete = ON; PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES};"
    ))?;
    Ok(conn)
}

/// Opens the read models' file for their writes, as their sqlx pool is
/// opened ([`super::EventStore::sqlite_views_pool`]): commits that do not
/// wait for the disk (they are rebuilt from the log), deleted content
/// overwritten (view rows that named an erased person leave the file).
pub(crate) fn open_relaxed(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let conn = open(path, read_only)?;
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;")?;
    Ok(conn)
}

/// Whether `err` is a unique key's refusal, or the trigger's refusal of a
/// request id that is taken (migration 0007): nothing was written.
fn refused_as_taken(err: &rusqlite::Error) -> bool {
    match err {
        rusqlite::Error::SqliteFailure(failure, message) => {
            failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                || message
                    .as_deref()
                    .is_some_and(|m| m.contains("this request id is taken"))
        }
        _ => false,
    }
}

const INSERT_EVENT: &str = "INSERT INTO events (position, event_id, stream_id, stream_type, \
     stream_version, event_type, event_version, payload, metadata, recorded_at, prev_hash, hash) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// One event, written only if the head is still at `?13` and the stream's
/// newest row still has type and version `?14` (`NULL`: a new stream), in
/// the statement that writes (ADR 0007).
static INSERT_EVENT_CHECKED: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO events ({COLUMNS}) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12 \
         WHERE (SELECT position FROM events ORDER BY position DESC LIMIT 1) IS ?13 \
         AND (SELECT stream_type || ':' || stream_version FROM events WHERE stream_id = ?3 \
              ORDER BY stream_version DESC LIMIT 1) IS ?14"
    )
});

const INSERT_REQUEST: &str = "INSERT INTO requests (request_id, stream_id, first_version, \
     last_version, first_position, last_position) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// The head, its seal and whether any seal exists.
const HEAD: &str = "SELECT e.position, e.hash, e.recorded_at, s.position, s.key_id, s.signature, \
     EXISTS (SELECT 1 FROM seals) FROM events e LEFT JOIN seals s ON s.position = e.position \
     ORDER BY e.position DESC LIMIT 1";

const STREAM: &str = "SELECT stream_type, stream_version FROM events WHERE stream_id = ?1 \
     ORDER BY stream_version DESC LIMIT 1";

const REQUEST: &str = "SELECT stream_id, first_version, last_version, first_position, \
     last_position FROM requests WHERE request_id = ?1";

fn hash32(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().unwrap_or([0; 32])
}

/// The event row's values, `?1`..`?12` of [`INSERT_EVENT`].
fn insert_row(
    statement: &mut rusqlite::CachedStatement<'_>,
    row: &Row<'_>,
) -> rusqlite::Result<usize> {
    statement.execute(params![
        row.position as i64,
        row.event_id.to_string(),
        row.stream_id,
        row.stream_type,
        row.stream_version as i64,
        row.event_type,
        i64::from(row.event_version),
        row.payload,
        row.metadata,
        format_time(row.recorded_at),
        &row.prev_hash[..],
        &row.hash[..],
    ])
}

fn insert_requests(conn: &Connection, requests: &[(&str, StoredRequest)]) -> rusqlite::Result<()> {
    let mut statement = conn.prepare_cached(INSERT_REQUEST)?;
    for (request_id, r) in requests {
        statement.execute(params![
            request_id,
            r.stream_id,
            r.first_version as i64,
            r.last_version as i64,
            r.first_position as i64,
            r.last_position as i64,
        ])?;
    }
    Ok(())
}

/// Writes what a batch keeps beside its events: tree hashes and seal.
fn insert_beside(conn: &Connection, beside: &Beside) -> rusqlite::Result<()> {
    let mut tree = conn.prepare_cached("INSERT INTO tree_hashes (idx, hash) VALUES (?1, ?2)")?;
    for (idx, hash) in &beside.tree {
        tree.execute(params![*idx as i64, &hash[..]])?;
    }
    if let Some(seal) = &beside.seal {
        conn.prepare_cached("INSERT INTO seals (position, key_id, signature) VALUES (?1, ?2, ?3)")?
            .execute(params![
                seal.position as i64,
                i64::from(seal.key_id),
                &seal.signature[..]
            ])?;
    }
    Ok(())
}

/// Writes a guessed lone append if the log is still as guessed, with its
/// request row, tree hashes and seal, in one `BEGIN IMMEDIATE` transaction.
/// Nothing is written unless [`Guessed::Written`].
pub(crate) fn write_guess(
    conn: &mut Connection,
    guess: &Guess<'_>,
    beside: &Beside,
) -> Result<Guessed, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows = &guess.plan.rows;
    let Some((first, rest)) = rows.split_first() else {
        return Ok(Guessed::Moved);
    };
    let stream = guess.stream.as_ref().map(|(t, v)| format!("{t}:{v}"));
    let written = {
        let mut checked = tx.prepare_cached(&INSERT_EVENT_CHECKED)?;
        checked.execute(params![
            first.position as i64,
            first.event_id.to_string(),
            first.stream_id,
            first.stream_type,
            first.stream_version as i64,
            first.event_type,
            i64::from(first.event_version),
            first.payload,
            first.metadata,
            format_time(first.recorded_at),
            &first.prev_hash[..],
            &first.hash[..],
            guess.head_position,
            stream,
        ])
    };
    match written {
        Ok(1) => {}
        Ok(_) => return Ok(Guessed::Moved),
        Err(e) if refused_as_taken(&e) => return Ok(Guessed::Moved),
        Err(e) => return Err(e.into()),
    }
    // Under the write lock of `BEGIN IMMEDIATE`, the rest follows the head
    // the first row has just checked.
    {
        let mut insert = tx.prepare_cached(INSERT_EVENT)?;
        for row in rest {
            insert_row(&mut insert, row)?;
        }
    }
    match insert_requests(&tx, &guess.plan.requests) {
        Ok(()) => {}
        Err(e) if refused_as_taken(&e) => return Ok(Guessed::RequestUsed),
        Err(e) => return Err(e.into()),
    }
    insert_beside(&tx, beside)?;
    tx.commit()?;
    Ok(Guessed::Written)
}

/// Reads what a batch needs under the append lock (the head and its seal,
/// the batch's streams and request ids, the tree's right edge unless the
/// ledger knows it), plans it, and writes it with its tree hashes and seal,
/// in one `BEGIN IMMEDIATE` transaction.
pub(crate) fn commit_batch<'a>(
    conn: &mut Connection,
    batch: &'a [PreparedAppend],
    ledger: &Ledger,
) -> Result<(Plan<'a>, Frontier), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut ctx = BatchContext::default();
    let head = tx
        .prepare_cached(HEAD)?
        .query_row([], |row| {
            let seal = match (
                row.get::<_, Option<i64>>(3)?,
                row.get::<_, Option<i64>>(4)?,
                row.get::<_, Option<Vec<u8>>>(5)?,
            ) {
                (Some(p), Some(k), Some(s)) => Some(Seal {
                    position: p as u64,
                    key_id: k as u32,
                    signature: s.try_into().unwrap_or([0; 64]),
                }),
                _ => None,
            };
            Ok((
                row.get::<_, i64>(0)? as u64,
                hash32(&row.get::<_, Vec<u8>>(1)?),
                parse_time(&row.get::<_, String>(2)?),
                HeadSeal {
                    seal,
                    any: row.get(6)?,
                },
            ))
        })
        .optional()?;
    if let Some((position, hash, recorded_at, seal)) = head {
        ctx.head_position = position;
        ctx.head_hash = hash;
        ctx.head_recorded_at = Some(recorded_at);
        ctx.head_seal = seal;
    }
    {
        let mut stream = tx.prepare_cached(STREAM)?;
        for append in batch {
            let id = append.stream_id.as_str();
            if ctx.streams.contains_key(id) {
                continue;
            }
            if let Some(current) = stream
                .query_row([id], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))
                .optional()?
            {
                ctx.streams.insert(id.to_owned(), current);
            }
        }
        let mut request = tx.prepare_cached(REQUEST)?;
        for id in batch.iter().filter_map(|a| a.request_id.as_deref()) {
            if let Some(stored) = request
                .query_row([id], |row| {
                    Ok(StoredRequest {
                        stream_id: row.get(0)?,
                        first_version: row.get::<_, i64>(1)? as u64,
                        last_version: row.get::<_, i64>(2)? as u64,
                        first_position: row.get::<_, i64>(3)? as u64,
                        last_position: row.get::<_, i64>(4)? as u64,
                    })
                })
                .optional()?
            {
                ctx.requests.insert(id.to_owned(), stored);
            }
        }
    }
    ledger.check_head(ctx.head_position, &ctx.head_hash, &ctx.head_seal)?;
    let base = match ledger.frontier_at(ctx.head_position) {
        Some(frontier) => frontier,
        None => Frontier::from_found(
            ctx.head_position,
            tree_hashes(&tx, &frontier_indexes(ctx.head_position))?,
        )?,
    };
    let plan = plan(ctx, batch);
    let (beside, frontier) = ledger.beside(base, &plan.rows);
    {
        let mut insert = tx.prepare_cached(INSERT_EVENT)?;
        for row in &plan.rows {
            insert_row(&mut insert, row)?;
        }
    }
    insert_requests(&tx, &plan.requests)?;
    insert_beside(&tx, &beside)?;
    tx.commit()?;
    Ok((plan, frontier))
}

/// Tree hashes built from events already in the log (`complete_tree`).
pub(crate) fn insert_tree_rows(
    conn: &mut Connection,
    rows: &[(u64, super::merkle::TreeHash)],
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert =
            tx.prepare_cached("INSERT OR IGNORE INTO tree_hashes (idx, hash) VALUES (?1, ?2)")?;
        for (idx, hash) in rows {
            insert.execute(params![*idx as i64, &hash[..]])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// The tree's hashes at `indexes`, as many as exist: read from
/// `tree_hashes`, or computed from the events' chain hashes below the
/// stored levels ([`TreeRead`]).
fn tree_hashes(
    conn: &Connection,
    indexes: &[u64],
) -> rusqlite::Result<HashMap<u64, super::merkle::TreeHash>> {
    let read = TreeRead::new(indexes);
    // A hash by its key (an index, a position), as many as exist.
    let hashes = |sql: &str, keys: &[u64]| -> rusqlite::Result<HashMap<u64, [u8; 32]>> {
        let mut statement = conn.prepare_cached(sql)?;
        let mut found = HashMap::with_capacity(keys.len());
        for &key in keys {
            if let Some(hash) = statement
                .query_row([key as i64], |row| row.get::<_, Vec<u8>>(0))
                .optional()?
            {
                found.insert(key, hash32(&hash));
            }
        }
        Ok(found)
    };
    let stored = hashes("SELECT hash FROM tree_hashes WHERE idx = ?1", &read.stored)?;
    let chain = hashes(
        "SELECT hash FROM events WHERE position = ?1",
        &read.positions,
    )?;
    Ok(read.finish(stored, &chain))
}
