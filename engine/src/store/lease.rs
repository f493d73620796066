//! Leases with fencing (ADR 0029): on a log shared by several servers, the
//! one server that applies a view, or runs the process managers.
//!
//! A lease is a row of `leases`: its holder (a random id per process), a
//! token and an expiry kept by the database's clock. A server takes a lease
//! that has expired (the token goes up by one), renews it well before it
//! expires, and stops acting under it once as long as the lease lasts has
//! passed, by its own clock, since the last renewal it sent: it stops
//! before the database lets anyone else take over. Every write under a
//! lease checks, in its own transaction, that the lease still carries its
//! token and has not expired ([`fence`]), holding the row so that nobody
//! takes over until the write has committed: a server that hung (stopped,
//! frozen, cut off) and wakes up after the takeover cannot write under the
//! lease it lost.
//!
//! A lease holds no connection: a hung server holds nothing the others wait
//! for. On SQLite the log has one process, which is always alone.

use std::time::{Duration, Instant};

use sqlx::PgConnection;
use uuid::Uuid;

use super::{EventStore, StoreError};

/// A lease this process holds (or believes it holds: see [`Lease::live`]).
#[derive(Clone, Debug)]
pub struct Lease {
    name: String,
    holder: Uuid,
    token: i64,
    ttl: Duration,
    /// When the last renewal that succeeded was sent.
    renewed: Instant,
    /// On SQLite: the only process, no row, no expiry.
    alone: bool,
    /// Another server asked for a rebuild, learnt at the last renewal.
    requested: bool,
}

/// A lease as the database holds it, for status reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRow {
    /// What it is the lease of (`view:NAME`, `process-managers`).
    pub name: String,
    /// The holding process.
    pub holder: Uuid,
    /// Taken over this many times, less one.
    pub token: i64,
    /// Whether it is held now (it has not expired).
    pub held: bool,
}

impl Lease {
    /// What it is the lease of.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The fencing token: higher for every takeover.
    #[must_use]
    pub fn token(&self) -> i64 {
        self.token
    }

    /// Whether this process may still act under the lease: less than its
    /// length has passed since the last renewal that succeeded was sent.
    /// The database's expiry is later still, so this process stops before
    /// anyone else may start.
    #[must_use]
    pub fn live(&self) -> bool {
        self.alone || self.renewed.elapsed() < self.ttl
    }

    /// Whether another server asked, since this was last called, for the
    /// view to be rebuilt ([`EventStore::request_rebuild`]).
    pub fn take_request(&mut self) -> bool {
        std::mem::take(&mut self.requested)
    }

    /// Whether it is time to renew: a third of its length has passed.
    #[must_use]
    pub fn due(&self) -> bool {
        !self.alone && self.renewed.elapsed() >= self.ttl / 3
    }
}

/// Milliseconds of `ttl`, as PostgreSQL's interval arithmetic takes them.
fn millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

impl EventStore {
    /// Takes the lease `name` for `holder` for `ttl`, if nobody holds it
    /// (it expired, or `holder` held it: taking it again fences the old
    /// taking out). `None` while another holder's lease runs.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: Uuid,
        ttl: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let Some(pool) = self.postgres_pool() else {
            return Ok(Some(Lease {
                name: name.to_owned(),
                holder,
                token: 0,
                ttl,
                renewed: Instant::now(),
                alone: true,
                requested: false,
            }));
        };
        let sent = Instant::now();
        let token: Option<i64> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, token, expires_at) \
             VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond') \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             token = leases.token + 1, expires_at = excluded.expires_at, \
             acquired_at = clock_timestamp() \
             WHERE leases.expires_at <= clock_timestamp() OR leases.holder = excluded.holder \
             RETURNING token",
        )
        .bind(name)
        .bind(holder)
        .bind(millis(ttl))
        .fetch_optional(pool)
        .await?;
        Ok(token.map(|token| Lease {
            name: name.to_owned(),
            holder,
            token,
            ttl,
            renewed: sent,
            alone: false,
            requested: false,
        }))
    }

    /// Renews `lease` for its length from now. False when it was lost
    /// (it expired, or another holder took it over): stop acting under it.
    ///
    /// # Errors
    /// Storage failures (the lease is not renewed; it stays live until its
    /// length has passed since the last renewal).
    pub async fn renew_lease(&self, lease: &mut Lease) -> Result<bool, StoreError> {
        let Some(pool) = self.postgres_pool() else {
            return Ok(true);
        };
        let sent = Instant::now();
        // One round trip renews and takes what was asked of the holder.
        let asked: Option<bool> = sqlx::query_scalar(
            "UPDATE leases SET expires_at = clock_timestamp() + $4 * interval '1 millisecond', \
             rebuild_requested = false \
             FROM (SELECT name, rebuild_requested FROM leases WHERE name = $1 FOR UPDATE) AS old \
             WHERE leases.name = old.name AND holder = $2 AND token = $3 \
             AND expires_at > clock_timestamp() \
             RETURNING old.rebuild_requested",
        )
        .bind(&lease.name)
        .bind(lease.holder)
        .bind(lease.token)
        .bind(millis(lease.ttl))
        .fetch_optional(pool)
        .await?;
        let renewed = asked.is_some();
        if let Some(asked) = asked {
            lease.renewed = sent;
            lease.requested |= asked;
        } else {
            lease.ttl = Duration::ZERO;
        }
        Ok(renewed)
    }

    /// Gives `lease` up (on stopping), so that another server takes over
    /// at once instead of when it would have expired.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        let Some(pool) = self.postgres_pool() else {
            return Ok(());
        };
        sqlx::query(
            "UPDATE leases SET expires_at = clock_timestamp() \
             WHERE name = $1 AND holder = $2 AND token = $3",
        )
        .bind(&lease.name)
        .bind(lease.holder)
        .bind(lease.token)
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Asks the server holding the lease of view `name` to rebuild it; it
    /// learns it when it next renews, within a third of the lease's
    /// length. False when nobody holds the lease now (and on SQLite,
    /// where the one process rebuilds by itself).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn request_rebuild(&self, name: &str) -> Result<bool, StoreError> {
        let Some(pool) = self.postgres_pool() else {
            return Ok(false);
        };
        Ok(sqlx::query(
            "UPDATE leases SET rebuild_requested = true \
             WHERE name = $1 AND expires_at > clock_timestamp()",
        )
        .bind(name)
        .execute(pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// Every lease the database holds, by name (none on SQLite).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn leases(&self) -> Result<Vec<LeaseRow>, StoreError> {
        let Some(pool) = self.postgres_pool() else {
            return Ok(Vec::new());
        };
        let rows: Vec<(String, Uuid, i64, bool)> = sqlx::query_as(
            "SELECT name, holder, token, expires_at > clock_timestamp() FROM leases ORDER BY name",
        )
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, holder, token, held)| LeaseRow {
                name,
                holder,
                token,
                held,
            })
            .collect())
    }

    /// Records a named reader's position under `lease`: nothing is written
    /// (and [`StoreError::Unavailable`] says why) once the lease is lost.
    ///
    /// # Errors
    /// The lease was lost; storage failures; a position out of range.
    pub async fn save_checkpoint_under(
        &self,
        name: &str,
        position: u64,
        lease: &Lease,
    ) -> Result<(), StoreError> {
        let Some(pool) = self.postgres_pool() else {
            return self.save_checkpoint(name, position).await;
        };
        let position = super::check_i64("position", position)?;
        let mut tx = pool.begin().await?;
        fence(&mut tx, lease).await?;
        sqlx::query(
            "INSERT INTO checkpoints (name, position) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position \
             WHERE excluded.position > checkpoints.position",
        )
        .bind(name)
        .bind(position)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Checks, inside a PostgreSQL transaction, that `lease` still holds (its
/// token, not expired by the database's clock) and holds its row until the
/// transaction ends, so that no takeover happens before this write commits.
///
/// # Errors
/// [`StoreError::Unavailable`] when the lease was lost; storage failures.
pub async fn fence(conn: &mut PgConnection, lease: &Lease) -> Result<(), StoreError> {
    if lease.alone {
        return Ok(());
    }
    let held: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND token = $3 \
         AND expires_at > clock_timestamp() FOR SHARE",
    )
    .bind(&lease.name)
    .bind(lease.holder)
    .bind(lease.token)
    .fetch_optional(&mut *conn)
    .await?;
    match held {
        Some(_) => Ok(()),
        None => Err(StoreError::Unavailable(format!(
            "this server's lease '{}' lapsed and another server may hold it now; \
             nothing was written under it",
            lease.name
        ))),
    }
}
