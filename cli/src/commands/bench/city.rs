//! The demo city scaled up: the demo is loaded once through the engine's
//! commands, then its log is copied with every id renamed (cohort
//! `pka-2025-1` becomes `pka-2025-1-x7`, its projects and innovations
//! likewise), until the log holds the events wanted. Copies are written
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

/// The demo city's events, read back from a log of its own.
pub async fn template(dir: &std::path::Path) -> anyhow::Result<Vec<RecordedEvent>> {
    let url = format!("sqlite://{}", dir.join("city.db").display());
    let store = EventStore::open(&url, StoreConfig::default()).await?;
    let engine = Engine::open(store.clone()).await?;
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

/// The entity id of a stream, `innovation-pkm-01` → `pkm-01`.
fn entity(stream: &str) -> Option<&str> {
    stream.split_once('-').map(|(_, id)| id)
}

/// One renamed copy of the city.
struct RenamedCity {
    ids: HashMap<String, String>,
}

impl RenamedCity {
    fn new(events: &[RecordedEvent], k: usize) -> Self {
        let mut ids = HashMap::new();
        for event in events {
            if let Some(id) = entity(event.stream_id.as_str()) {
                ids.insert(id.to_owned(), format!("{id}-x{k}"));
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
        Ok(StreamId::parse(format!("{kind}-{}", self.ids[id]))?)
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

/// Appends renamed copies of `city` to `store` until it holds at least
/// `events` events; `progress` is told each copy's size.
pub async fn scale(
    store: &EventStore,
    city: &[RecordedEvent],
    events: u64,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    // Workflow definitions are the engine's, not the city's: copied once.
    let city: Arc<Vec<RecordedEvent>> = Arc::new(
        city.iter()
            .filter(|e| e.stream_type != "workflow_registry")
            .cloned()
            .collect(),
    );
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
