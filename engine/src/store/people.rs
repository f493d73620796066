//! The people index: a NIP to the opaque [`PersonId`] that stands for the
//! person in every id, token subject and actor (ADR 0020).
//!
//! It is a table beside the log, outside the hash chain (`people`), written
//! when an organizer enrols someone (never by a decider) and read when a
//! token names a NIP or an organizer looks a participant up. Erasing a
//! person deletes their row ([`EventStore::forget_person`]); the chain,
//! which holds only the person id, stays whole.
//!
//! A row stands for an enrolment in the log: enrolling reserves the row
//! first ([`EventStore::index_person`], so that enrolments of one NIP at
//! once share its id), and takes it back when nothing was appended
//! ([`EventStore::unindex_person`]); a NIP whose enrolment was refused is
//! not held.

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
        Ok(self.index_person(nip).await?.0)
    }

    /// As [`EventStore::person_for_nip`], and whether this call made the
    /// row (`true`): an enrolment that then appends nothing takes it back
    /// with [`EventStore::unindex_person`].
    ///
    /// # Errors
    /// Storage failures.
    pub async fn index_person(&self, nip: &Nip) -> Result<(PersonId, bool), StoreError> {
        if let Some(person) = self.find_person(nip).await? {
            return Ok((person, false));
        }
        let fresh = PersonId::generate();
        let made = self.insert_person(&fresh, nip).await?;
        let person = self.find_person(nip).await?.ok_or_else(|| {
            StoreError::Internal("the people index lost a row just written".into())
        })?;
        Ok((person, made))
    }

    /// Inserts `nip` → `person` unless the index holds `nip` already, or
    /// `person` was erased; true when it inserted.
    async fn insert_person(&self, person: &PersonId, nip: &Nip) -> Result<bool, StoreError> {
        let inserted = match &self.inner.backend {
            Backend::Sqlite(s) => {
                let _write = s.write_lock.lock().await;
                sqlx::query(
                    "INSERT INTO people (person_id, nip, created_at) \
                     SELECT ?1, ?2, ?3 WHERE NOT EXISTS \
                     (SELECT 1 FROM person_keys WHERE person_id = ?1 AND wrapped IS NULL) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(person.as_str())
                .bind(nip.as_str())
                .bind(chrono::Utc::now().to_rfc3339())
                .execute(&s.pool)
                .await?
                .rows_affected()
            }
            Backend::Postgres(p) => sqlx::query(
                "INSERT INTO people (person_id, nip) \
                 SELECT $1, $2 WHERE NOT EXISTS \
                 (SELECT 1 FROM person_keys WHERE person_id = $1 AND wrapped IS NULL) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(person.as_str())
            .bind(nip.as_str())
            .execute(&p.pool)
            .await?
            .rows_affected(),
        };
        Ok(inserted > 0)
    }

    /// After an enrolment of `person` with `nip` was appended: makes sure
    /// the index holds it (an enrolment of the same NIP refused at the same
    /// moment may have taken the shared row back). Nothing for a person
    /// erased since. Returns whether the index maps `nip` to `person`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn reindex_person(&self, person: &PersonId, nip: &Nip) -> Result<bool, StoreError> {
        self.insert_person(person, nip).await?;
        Ok(self.find_person(nip).await?.as_ref() == Some(person))
    }

    /// Takes back the row [`EventStore::index_person`] made for `nip` when
    /// the enrolment it was made for appended nothing (refused, or already
    /// recorded): a NIP is held only for a person the log names. Returns
    /// whether a row was deleted.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn unindex_person(&self, person: &PersonId, nip: &Nip) -> Result<bool, StoreError> {
        let deleted = match &self.inner.backend {
            Backend::Sqlite(s) => {
                let _write = s.write_lock.lock().await;
                sqlx::query("DELETE FROM people WHERE person_id = ? AND nip = ?")
                    .bind(person.as_str())
                    .bind(nip.as_str())
                    .execute(&s.pool)
                    .await?
                    .rows_affected()
            }
            Backend::Postgres(p) => {
                sqlx::query("DELETE FROM people WHERE person_id = $1 AND nip = $2")
                    .bind(person.as_str())
                    .bind(nip.as_str())
                    .execute(&p.pool)
                    .await?
                    .rows_affected()
            }
        };
        Ok(deleted > 0)
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
