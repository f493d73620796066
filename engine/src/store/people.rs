//! The people index: a NIP to the opaque [`PersonId`] that stands for the
//! person in every id, token subject and actor (ADR 0020).
//!
//! It is a table beside the log, outside the hash chain (`people`), written
//! when an organizer enrols someone (never by a decider) and read when a
//! token names a NIP or an organizer looks a participant up. Erasing a
//! person deletes their row ([`EventStore::forget_person`]); the chain,
//! which holds only the person id, stays whole.

use crate::domain::values::{Nip, PersonId};

use super::{Backend, EventStore, StoreError};

impl EventStore {
    /// The person id of `nip`, if the index holds one.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn find_person(&self, nip: &Nip) -> Result<Option<PersonId>, StoreError> {
        let id: Option<String> = match &self.inner.backend {
            Backend::Sqlite(s) => {
                sqlx::query_scalar("SELECT person_id FROM people WHERE nip = ?")
                    .bind(nip.as_str())
                    .fetch_optional(&s.pool)
                    .await?
            }
            Backend::Postgres(p) => {
                sqlx::query_scalar("SELECT person_id FROM people WHERE nip = $1")
                    .bind(nip.as_str())
                    .fetch_optional(&p.pool)
                    .await?
            }
        };
        id.map(|id| {
            PersonId::parse(&id).map_err(|_| {
                StoreError::Internal("the people index holds a malformed person id".into())
            })
        })
        .transpose()
    }

    /// The person id of `nip`: the one the index holds, else a new one
    /// (UUIDv7) recorded for it. Safe to call at once from many places:
    /// the first insert wins and every caller reads the same id back.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn person_for_nip(&self, nip: &Nip) -> Result<PersonId, StoreError> {
        if let Some(person) = self.find_person(nip).await? {
            return Ok(person);
        }
        let fresh = PersonId::generate();
        match &self.inner.backend {
            Backend::Sqlite(s) => {
                let _write = s.write_lock.lock().await;
                sqlx::query(
                    "INSERT INTO people (person_id, nip, created_at) VALUES (?, ?, ?) \
                     ON CONFLICT (nip) DO NOTHING",
                )
                .bind(fresh.as_str())
                .bind(nip.as_str())
                .bind(chrono::Utc::now().to_rfc3339())
                .execute(&s.pool)
                .await?;
            }
            Backend::Postgres(p) => {
                sqlx::query(
                    "INSERT INTO people (person_id, nip) VALUES ($1, $2) \
                     ON CONFLICT (nip) DO NOTHING",
                )
                .bind(fresh.as_str())
                .bind(nip.as_str())
                .execute(&p.pool)
                .await?;
            }
        }
        self.find_person(nip)
            .await?
            .ok_or_else(|| StoreError::Internal("the people index lost a row just written".into()))
    }

    /// Deletes `person` from the index (part of erasing them): their NIP
    /// no longer finds them. Returns whether the index held them.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn forget_person(&self, person: &PersonId) -> Result<bool, StoreError> {
        let deleted = match &self.inner.backend {
            Backend::Sqlite(s) => {
                let _write = s.write_lock.lock().await;
                sqlx::query("DELETE FROM people WHERE person_id = ?")
                    .bind(person.as_str())
                    .execute(&s.pool)
                    .await?
                    .rows_affected()
            }
            Backend::Postgres(p) => sqlx::query("DELETE FROM people WHERE person_id = $1")
                .bind(person.as_str())
                .execute(&p.pool)
                .await?
                .rows_affected(),
        };
        Ok(deleted > 0)
    }
}
