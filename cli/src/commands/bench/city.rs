//! The demo city scaled up: the demo is loaded once through the engine's
//! commands, then its log is copied with every id renamed (cohort
//! `pka-2025-1` becomes `pka-2025-1-x7`, its projects and innovations
//! likewise, and its staff: mentors, coaches, examiners and organizers, so
//! that a mentor of a big log has a mentor's few participants, not those
//! of every copy), until the log holds the events wanted. Copies are written
//! side by side, each in the order the demo wrote it, so every view sees
//! one consistent city per copy.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use jejak_engine::engine::Engine;
use jejak_engine::store::{
    AppendRequest, EventStore, ExpectedVersion, Metadata, NewEvent, RecordedEvent, StoreConfig,
    StreamId,
};
use serde_json::Value;

/// The file of the master key the demo city's participants are sealed
/// under: a log that is to open its copies' personal fields uses it, with
/// the city's people ([`copy_people`]).
pub fn master_key_file(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("city-master-key")
}

/// The demo city's events, read back from a log of its own.
pub async fn template(dir: &std::path::Path) -> anyhow::Result<Vec<RecordedEvent>> {
    let url = format!("sqlite://{}", dir.join("city.db").display());
    let store = EventStore::open(&url, StoreConfig::default()).await?;
    let engine = Engine::open_with(
        store.clone(),
        Arc::new(jejak_engine::clock::SystemClock),
        jejak_engine::engine::EngineConfig {
            master_key: Some(jejak_engine::privacy::MasterKey::load_or_create(
                &master_key_file(dir),
            )?),
            ..jejak_engine::engine::EngineConfig::default()
        },
    )
    .await?;
    crate::commands::demo::load(&engine, indicatif::ProgressBar::hidden()).await?;
    let mut events: Vec<RecordedEvent> = Vec::new();
    loop {
        let after = events.last().map_or(0, |e| e.position);
        let batch = store.read_all(after, 10_000).await?;
        if batch.is_empty() {
            return Ok(events);
        }
        events.extend(batch);
    }
}

/// Copies the demo city's people index and data keys (wrapped under
/// [`master_key_file`]) from the template's log in `dir` into `store`, so
/// that a log seeded with the demo and scaled by copies opens every
/// participant's fields under that master key.
pub async fn copy_people(dir: &std::path::Path, store: &EventStore) -> anyhow::Result<()> {
    let path = dir.join("city.db");
    let (people, keys) = tokio::task::spawn_blocking(move || {
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let people: Vec<(String, String)> = conn
            .prepare("SELECT person_id, nip FROM people")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let keys: Vec<(String, Vec<u8>)> = conn
            .prepare("SELECT person_id, wrapped FROM person_keys WHERE wrapped IS NOT NULL")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        anyhow::Ok((people, keys))
    })
    .await??;
    let now = chrono::Utc::now();
    if let Some(pool) = store.sqlite_pool() {
        for (person, nip) in &people {
            sqlx::query("INSERT INTO people (person_id, nip, created_at) VALUES (?, ?, ?)")
                .bind(person)
                .bind(nip)
                .bind(now.to_rfc3339())
                .execute(pool)
                .await?;
        }
        for (person, wrapped) in &keys {
            sqlx::query(
                "INSERT INTO person_keys (person_id, wrapped, created_at) VALUES (?, ?, ?)",
            )
            .bind(person)
            .bind(wrapped)
            .bind(now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
            .execute(pool)
            .await?;
        }
    } else if let Some(pool) = store.postgres_pool() {
        for (person, nip) in &people {
            sqlx::query("INSERT INTO people (person_id, nip) VALUES ($1, $2)")
                .bind(person)
                .bind(nip)
                .execute(pool)
                .await?;
        }
        for (person, wrapped) in &keys {
            sqlx::query(
                "INSERT INTO person_keys (person_id, wrapped, created_at) VALUES ($1, $2, $3)",
            )
            .bind(person)
            .bind(wrapped)
            .bind(now)
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}

/// The entity id of a stream, `innovation-pkm-01` → `pkm-01`.
fn entity(stream: &str) -> Option<&str> {
    stream.split_once('-').map(|(_, id)| id)
}

/// One renamed copy of the city.
struct RenamedCity {
    ids: HashMap<String, String>,
}

/// Hands every staff id in `value` (a `mentor`, `coach`, `organizer` or
/// one of `examiners`) to `found`.
fn staff(value: &Value, found: &mut impl FnMut(&str)) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("mentor" | "coach" | "organizer", Value::String(id)) => found(id),
                    ("examiners", Value::Array(ids)) => {
                        ids.iter().filter_map(Value::as_str).for_each(&mut *found);
                    }
                    _ => staff(v, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| staff(v, found)),
        _ => {}
    }
}

impl RenamedCity {
    fn new(events: &[RecordedEvent], k: usize) -> Self {
        let mut ids = HashMap::new();
        for event in events {
            if let Some(id) = entity(event.stream_id.as_str()) {
                ids.insert(id.to_owned(), format!("{id}-x{k}"));
            }
            if let Ok(payload) = serde_json::from_str::<Value>(&event.payload) {
                staff(&payload, &mut |id| {
                    ids.insert(id.to_owned(), format!("{id}-x{k}"));
                });
            }
        }
        Self { ids }
    }

    fn rename(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Some(renamed) = self.ids.get(s.as_str()) {
                    s.clone_from(renamed);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.rename(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.rename(v)),
            _ => {}
        }
    }

    fn stream(&self, stream: &str) -> anyhow::Result<StreamId> {
        let (kind, id) = stream.split_once('-').context("a stream id KIND-ID")?;
        let id = self.ids.get(id).map_or(id, String::as_str);
        Ok(StreamId::parse(format!("{kind}-{id}"))?)
    }

    /// The copy's appends, one per run of events on one stream, in order.
    fn appends(&self, events: &[RecordedEvent]) -> anyhow::Result<Vec<AppendRequest>> {
        let mut runs: Vec<(&RecordedEvent, Vec<NewEvent>)> = Vec::new();
        for event in events {
            let mut payload: Value = serde_json::from_str(&event.payload)?;
            self.rename(&mut payload);
            let metadata: Metadata = serde_json::from_str(&event.metadata)?;
            let new = NewEvent::new(event.event_type.clone(), payload)
                .with_version(event.event_version)
                .with_metadata(metadata);
            match runs.last_mut() {
                Some((first, run)) if first.stream_id == event.stream_id => run.push(new),
                _ => runs.push((event, vec![new])),
            }
        }
        runs.into_iter()
            .map(|(first, run)| {
                Ok(AppendRequest::new(
                    self.stream(first.stream_id.as_str())?,
                    first.stream_type.clone(),
                    ExpectedVersion::Any,
                )
                .events(run))
            })
            .collect()
    }
}

/// The city's events but the engine's workflow definitions (the engine
/// opening a log registers its own).
fn without_workflows(city: &[RecordedEvent]) -> Vec<RecordedEvent> {
    city.iter()
        .filter(|e| e.stream_type != "workflow_registry")
        .cloned()
        .collect()
}

/// Appends the city's events to `store` as they are, ids unchanged: an
/// empty log of another backend then holds the demo city itself (its
/// people copied with [`copy_people`]).
pub async fn copy(store: &EventStore, city: &[RecordedEvent]) -> anyhow::Result<()> {
    let city = without_workflows(city);
    let same = RenamedCity {
        ids: HashMap::new(),
    };
    for append in same.appends(&city)? {
        store.append(append).await?;
    }
    Ok(())
}

/// Appends renamed copies of `city` to `store` until it holds at least
/// `events` events; `progress` is told each copy's size.
pub async fn scale(
    store: &EventStore,
    city: &[RecordedEvent],
    events: u64,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    let city: Arc<Vec<RecordedEvent>> = Arc::new(without_workflows(city));
    let mut k = 0;
    while store.digest().await?.position < events {
        // Sixteen copies at a time, each written in its own order.
        let wave: Vec<_> = (0..16)
            .map(|_| {
                k += 1;
                let store = store.clone();
                let city = city.clone();
                let k = k;
                tokio::spawn(async move {
                    for append in RenamedCity::new(&city, k).appends(&city)? {
                        store.append(append).await?;
                    }
                    anyhow::Ok(city.len() as u64)
                })
            })
            .collect();
        for copy in wave {
            progress.inc(copy.await??);
        }
    }
    Ok(())
}
