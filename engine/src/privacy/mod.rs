//! Personal data under UU PDP 27/2022 (ADR 0021): sealed per person,
//! erasable with the chain intact.
//!
//! - [`MasterKey`] (`master.rs`): 32 bytes outside the database
//!   (`--master-key-file`, or `DATA_DIR/master-key`, 0600), under which
//!   every data key is wrapped.
//! - The key table `person_keys` (`keys.rs`, migration 0012), outside the
//!   hash chain: one random 32-byte data key per person, wrapped with
//!   XChaCha20-Poly1305 under the master key; [`Privacy`] keeps unwrapped
//!   keys in a bounded cache.
//! - [`Sealed`] (`sealed.rs`): a person's fields inside a payload,
//!   `{"person": ID, "sealed": BASE64}`; opening yields them, or
//!   [`Opened::Erased`] once the key is gone, shown as [`ERASED`]. The
//!   chain hashes the stored text, the ciphertext, so destroying a key
//!   changes no hash.
//! - Erasure (`erase.rs`, [`crate::engine::Engine::erase_person`]): the
//!   event `PersonErased` in the stream `privacy` (who, when, why; never
//!   the data), then the key destroyed and its bytes scrubbed from the
//!   database files ([`Scrubbed`]).

mod erase;
pub mod fields;
mod keys;
mod master;
mod reads;
pub mod retention;
mod sealed;

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use crate::domain::DomainError;
use crate::domain::values::PersonId;
use crate::engine::CommandError;
use crate::store::{EventStore, StoreError};

pub use erase::{Erasure, PRIVACY_STREAM, PrivacyEvent};
pub use fields::{Keyring, Unready, Withheld};
pub use keys::Scrubbed;
pub use master::{MASTER_KEY_FILE, MasterKey};
pub use reads::PersonalRead;
pub use retention::Retention;
pub use sealed::{ERASED, Opened, Sealed};

use keys::KeyRow;
use sealed::DataKey;

/// How many unwrapped data keys [`Privacy`] keeps (about 1 KiB each).
pub const KEY_CACHE: usize = 4_096;

#[derive(Clone, Debug)]
enum Slot {
    Key(Arc<DataKey>),
    Erased,
}

/// Seals and opens personal fields with each person's data key.
#[derive(Clone)]
pub struct Privacy {
    store: EventStore,
    master: MasterKey,
    cache: Arc<Mutex<lru::LruCache<String, Slot>>>,
    reads: reads::ReadLog,
    /// Queries of the key table made to fill the cache.
    lookups: Arc<std::sync::atomic::AtomicU64>,
    /// Without the deployment's master key (an auditor's offline copy):
    /// every sealed value reads as withheld, nothing is sealed.
    withheld: bool,
}

impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Privacy")
            .field("master", &self.master)
            .finish_non_exhaustive()
    }
}

fn check_person(person: &str) -> Result<PersonId, DomainError> {
    PersonId::parse_field("person", person)
}

impl Privacy {
    /// Personal data of the log `store`, under `master`.
    pub fn new(store: EventStore, master: MasterKey) -> Self {
        Self {
            store,
            master,
            cache: Arc::new(Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(KEY_CACHE).unwrap_or(NonZeroUsize::MIN),
            ))),
            reads: reads::ReadLog::default(),
            lookups: Arc::default(),
            withheld: false,
        }
    }

    /// Personal data of the log `store` read without its master key (an
    /// auditor's copy, offline): every person's fields read as [`ERASED`],
    /// as if erased, and nothing can be sealed. The events, their hashes
    /// and everything not personal read as they are.
    pub fn withheld(store: EventStore) -> Self {
        Self {
            withheld: true,
            ..Self::new(store, MasterKey::generate())
        }
    }

    /// The master key.
    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    fn cached(&self, person: &str) -> Option<Slot> {
        if self.withheld {
            return Some(Slot::Erased);
        }
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(person)
            .cloned()
    }

    fn remember(&self, person: &str, slot: Slot) {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .put(person.to_owned(), slot);
    }

    /// Takes `person` as erased in this process from now on, whatever the
    /// key table still holds: their erasure is recorded in the log (here
    /// or by another server sharing it) and their key is being destroyed.
    pub fn mark_erased(&self, person: &str) {
        self.remember(person, Slot::Erased);
    }

    /// How many queries of the key table this process made to fetch keys
    /// it had not cached (one per person, or one per batch of them).
    pub fn key_lookups(&self) -> u64 {
        self.lookups.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn looked_up(&self) {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Caches the key of `person` as `row` holds it.
    ///
    /// # Errors
    /// A key that does not open with this master key.
    fn remember_row(&self, person: &str, row: KeyRow) -> Result<Option<Slot>, CommandError> {
        let slot = match row {
            KeyRow::Missing => return Ok(None),
            KeyRow::Erased(_) => Slot::Erased,
            KeyRow::Wrapped(wrapped) => {
                let key = self.master.unwrap(person, &wrapped)?;
                Slot::Key(Arc::new(DataKey::new(&key)))
            }
        };
        self.remember(person, slot.clone());
        Ok(Some(slot))
    }

    /// Fetches the keys of `persons` that are not cached into the cache,
    /// all in one query (per 500), not one each: a view's list or a fold
    /// over many people costs one round trip on a cold cache. With
    /// `create`, a person without a key gets one. Malformed person ids are
    /// skipped (opening their values fails as damaged).
    ///
    /// # Errors
    /// Store failures; a key that does not open with this master key.
    pub async fn fetch_keys<'a>(
        &self,
        persons: impl IntoIterator<Item = &'a str>,
        create: bool,
    ) -> Result<(), CommandError> {
        if self.withheld {
            return Ok(());
        }
        let wanted: std::collections::BTreeSet<&str> = persons
            .into_iter()
            .filter(|p| self.cached(p).is_none() && check_person(p).is_ok())
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let wanted: Vec<&str> = wanted.into_iter().collect();
        self.looked_up();
        let mut rows = keys::read_many(&self.store, &wanted).await?;
        for person in wanted {
            match rows.remove(person) {
                Some(row) => {
                    self.remember_row(person, row)?;
                }
                None if create => {
                    self.slot(person, true).await?;
                }
                None => {}
            }
        }
        Ok(())
    }

    /// The person's key slot, making a key when `create` and none exists.
    async fn slot(&self, person: &str, create: bool) -> Result<Option<Slot>, CommandError> {
        if let Some(slot) = self.cached(person) {
            return Ok(Some(slot));
        }
        self.looked_up();
        let mut row = keys::read(&self.store, person).await?;
        if row == KeyRow::Missing && create {
            let fresh = zeroize::Zeroizing::new(rand::random::<[u8; 32]>());
            let wrapped = self.master.wrap(person, &fresh);
            keys::insert(&self.store, person, &wrapped, chrono::Utc::now()).await?;
            // Another server may have made the person's key first: use
            // whichever is stored.
            row = keys::read(&self.store, person).await?;
        }
        self.remember_row(person, row)
    }

    /// Seals `fields` of `person` for `purpose` (e.g. `"participant"`),
    /// making the person's data key on first use.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] for a malformed person id or a person who
    /// was erased (nothing is recorded of them again); store failures; a
    /// key that does not open with this master key.
    pub async fn seal(
        &self,
        person: &str,
        purpose: &str,
        fields: &serde_json::Value,
    ) -> Result<Sealed, CommandError> {
        check_person(person)?;
        match self.slot(person, true).await? {
            Some(Slot::Key(key)) => Ok(key.seal(person, purpose, fields)),
            Some(Slot::Erased) | None => Err(DomainError::invalid(
                "person",
                format!("person {person} was erased; nothing personal is recorded of them again"),
            )
            .into()),
        }
    }

    /// Opens `sealed` for `purpose`: the fields, or [`Opened::Erased`]
    /// when the person's key was destroyed.
    ///
    /// # Errors
    /// [`StoreError::Internal`] for a value that does not open with the
    /// person's key (damaged, moved to another person or purpose), or a
    /// person without any key; store failures.
    pub async fn open(&self, sealed: &Sealed, purpose: &str) -> Result<Opened, CommandError> {
        let damaged = || {
            CommandError::Store(StoreError::Internal(format!(
                "a sealed value of person {} does not open as {purpose}: it was damaged or moved",
                sealed.person
            )))
        };
        match self.slot(&sealed.person, false).await? {
            Some(Slot::Key(key)) => key
                .open(sealed, purpose)
                .map(Opened::Fields)
                .ok_or_else(damaged),
            Some(Slot::Erased) => Ok(Opened::Erased),
            None => Err(damaged()),
        }
    }

    /// Whether `person` was erased.
    ///
    /// # Errors
    /// Store failures.
    pub async fn is_erased(&self, person: &str) -> Result<bool, CommandError> {
        Ok(matches!(
            self.slot(person, false).await?,
            Some(Slot::Erased)
        ))
    }
}

/// One synchronous pass over [`Privacy`]'s cache ([`Privacy::with_keys`]):
/// a key not cached is noted and stands in as erased (or as a dummy seal)
/// in the first pass, whose result is then thrown away.
struct Pass<'a> {
    privacy: &'a Privacy,
    strict: bool,
    missing: std::cell::RefCell<std::collections::BTreeSet<String>>,
}

impl Pass<'_> {
    fn lack(&self, person: &str) -> Result<(), Unready> {
        if self.strict {
            return Err(Unready::NoKey(person.to_owned()));
        }
        self.missing.borrow_mut().insert(person.to_owned());
        Ok(())
    }
}

impl Keyring for Pass<'_> {
    fn seal(
        &self,
        person: &str,
        purpose: &str,
        fields: &serde_json::Value,
    ) -> Result<Sealed, Unready> {
        match self.privacy.cached(person) {
            Some(Slot::Key(key)) => Ok(key.seal(person, purpose, fields)),
            Some(Slot::Erased) => Err(Unready::Erased(person.to_owned())),
            None => self.lack(person).map(|()| Sealed {
                person: person.to_owned(),
                sealed: String::new(),
            }),
        }
    }

    fn open(&self, sealed: &Sealed, purpose: &str) -> Result<Opened, Unready> {
        match self.privacy.cached(&sealed.person) {
            Some(Slot::Key(key)) => key
                .open(sealed, purpose)
                .map(Opened::Fields)
                .ok_or_else(|| Unready::Damaged(sealed.person.clone())),
            Some(Slot::Erased) => Ok(Opened::Erased),
            None => self.lack(&sealed.person).map(|()| Opened::Erased),
        }
    }
}

impl Privacy {
    /// Runs `pass`, which seals or opens synchronously through the
    /// [`Keyring`] it is handed, with the keys of this process's cache.
    /// When it needed keys that were not cached, they are all fetched in
    /// one query ([`Privacy::fetch_keys`]; made, when `create`) and `pass`
    /// runs once more, strictly: its first result is thrown away. So a pass
    /// over a stream costs one key lookup for all the persons not cached.
    ///
    /// # Errors
    /// Store failures fetching keys; a key that does not open with the
    /// master key. What `pass` returns is its own.
    pub async fn with_keys<T>(
        &self,
        create: bool,
        mut pass: impl FnMut(&dyn Keyring) -> T,
    ) -> Result<T, CommandError> {
        let first = Pass {
            privacy: self,
            strict: false,
            missing: std::cell::RefCell::default(),
        };
        let result = pass(&first);
        let missing = first.missing.into_inner();
        if missing.is_empty() {
            return Ok(result);
        }
        drop(result);
        self.fetch_keys(missing.iter().map(String::as_str), create)
            .await?;
        Ok(pass(&Pass {
            privacy: self,
            strict: true,
            missing: std::cell::RefCell::default(),
        }))
    }

    /// Records that `read.reader` read `read.person`'s personal data
    /// (`personal_reads`): handed to a task that writes in batches, so
    /// this waits only when many reads wait to be written already.
    /// Call it only for readers other than the person.
    pub async fn record_read(&self, read: PersonalRead) {
        self.reads.record(&self.store, read).await;
    }

    /// Waits until every read recorded before is written.
    pub async fn flush_reads(&self) {
        self.reads.flush(&self.store).await;
    }

    /// Every recorded read of `person`'s personal data, oldest first.
    ///
    /// # Errors
    /// Store failures.
    pub async fn reads_of(&self, person: &str) -> Result<Vec<PersonalRead>, StoreError> {
        reads::reads_of(&self.store, person).await
    }

    /// Seals `fields` of `person` from the cache alone.
    ///
    /// # Errors
    /// [`Unready::NoKey`] when the key is not cached, [`Unready::Erased`].
    pub fn seal_cached(
        &self,
        person: &str,
        purpose: &str,
        fields: &serde_json::Value,
    ) -> Result<Sealed, Unready> {
        match self.cached(person) {
            Some(Slot::Key(key)) => Ok(key.seal(person, purpose, fields)),
            Some(Slot::Erased) => Err(Unready::Erased(person.to_owned())),
            None => Err(Unready::NoKey(person.to_owned())),
        }
    }

    /// Opens `sealed` from the cache or the key table: the fields as text
    /// (each of [`fields::FIELDS`]), [`ERASED`] in each for an erased
    /// person.
    ///
    /// # Errors
    /// As [`Privacy::open`].
    pub async fn open_participant(&self, sealed: &Sealed) -> Result<[String; 3], CommandError> {
        let opened = self.open(sealed, fields::PURPOSE).await?;
        Ok(fields::FIELDS.map(|f| opened.text(f).unwrap_or_else(|| ERASED.to_owned())))
    }
}

/// PostgreSQL, logged in as the tables' owner or a superuser (`url`):
/// rewrites the tables that erasures delete from ([`crate::store::ERASABLE_TABLES`])
/// with `VACUUM FULL`, so that no old version of an erased key stays in
/// their files. The server role may delete a key but not vacuum (only
/// the owner may before PostgreSQL 17), so an erasure it makes reports
/// [`Scrubbed::VacuumPending`] until this runs (`jejak privacy vacuum`).
///
/// # Errors
/// [`StoreError::InvalidInput`] for a URL that is not PostgreSQL's;
/// storage failures.
pub async fn vacuum_erased(url: &str) -> Result<Scrubbed, StoreError> {
    use std::str::FromStr as _;
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::invalid("database_url", e.to_string()))?
        .application_name("jejak-vacuum");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let done = keys::vacuum_postgres(&pool, crate::store::ERASABLE_TABLES).await;
    pool.close().await;
    done
}
