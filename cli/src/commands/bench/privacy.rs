//! Personal data (ADR 0021): appends whose payload holds a participant's
//! fields sealed with their key beside the same fields in plain text, the
//! open of a sealed value beside parsing the plain one, and erasures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use jejak_engine::clock::SystemClock;
use jejak_engine::domain::{Actor, Role};
use jejak_engine::engine::{Context, Engine, EngineConfig};
use jejak_engine::privacy::MasterKey;
use jejak_engine::store::{AppendRequest, EventStore, ExpectedVersion, NewEvent, StreamId};
use serde_json::json;

use super::{Run, percentile, sealed_config};

/// People whose keys the run makes first, as a city's participants.
const PEOPLE: usize = 1_000;
/// Writers appending at once.
const WRITERS: usize = 16;
/// Erasures timed.
const ERASURES: usize = 20;

fn fields(i: usize) -> serde_json::Value {
    json!({
        "nip": format!("19870101201001{:04}", i % 10_000),
        "name": format!("Peserta Pelatihan Nomor {i}"),
        "position": "Kepala Seksi Pelayanan Umum",
    })
}

fn person(i: usize) -> String {
    uuid::Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0000 + i as u128).to_string()
}

/// Appends from [`WRITERS`] tasks for `seconds`, each event holding one
/// participant's fields, sealed or plain; events per second.
async fn appends(engine: &Engine, sealed: bool, seconds: u64) -> anyhow::Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let engine = engine.clone();
            tokio::spawn(async move {
                let tag = if sealed { "sealed" } else { "plain" };
                let stream = StreamId::parse(format!("bench-pd-{tag}-{w}"))?;
                let mut n = 0_usize;
                while Instant::now() < deadline {
                    let i = (w * 7_919 + n) % PEOPLE;
                    let participant = if sealed {
                        serde_json::to_value(
                            engine
                                .privacy()
                                .seal(&person(i), "participant", &fields(i))
                                .await?,
                        )?
                    } else {
                        fields(i)
                    };
                    engine
                        .store()
                        .append(
                            AppendRequest::new(stream.clone(), "bench", ExpectedVersion::Any)
                                .event(NewEvent::new(
                                    "Enrolled",
                                    json!({ "participant": participant, "n": n }),
                                )),
                        )
                        .await?;
                    n += 1;
                }
                Ok::<_, anyhow::Error>(n)
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Opens (or parses) 20,000 participants' fields; per second.
async fn opens(engine: &Engine, sealed: bool) -> anyhow::Result<f64> {
    let values: Vec<String> = {
        let mut v = Vec::new();
        for i in 0..PEOPLE {
            v.push(if sealed {
                serde_json::to_string(
                    &engine
                        .privacy()
                        .seal(&person(i), "participant", &fields(i))
                        .await?,
                )?
            } else {
                fields(i).to_string()
            });
        }
        v
    };
    let rounds = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        for text in &values {
            if sealed {
                let value: jejak_engine::privacy::Sealed = serde_json::from_str(text)?;
                std::hint::black_box(engine.privacy().open(&value, "participant").await?);
            } else {
                let value: serde_json::Value = serde_json::from_str(text)?;
                std::hint::black_box(value);
            }
        }
    }
    Ok((rounds * values.len()) as f64 / started.elapsed().as_secs_f64())
}

/// The figures of personal data on the empty log at `url`.
pub(super) async fn measure(run: &mut Run, url: &str, seconds: u64) -> anyhow::Result<()> {
    let backend = run.backend;
    eprintln!("[{backend}] personal data: appends sealed and plain, opens, erasures …");
    let store = EventStore::open(url, sealed_config()?)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    let engine = Engine::open_with(
        store,
        Arc::new(SystemClock),
        EngineConfig {
            master_key: Some(MasterKey::generate()),
            ..EngineConfig::default()
        },
    )
    .await?;
    // Every person has a key, as a city's participants would.
    for i in 0..PEOPLE {
        engine
            .privacy()
            .seal(&person(i), "participant", &fields(i))
            .await?;
    }
    let plain = appends(&engine, false, seconds).await?;
    let sealed = appends(&engine, true, seconds).await?;
    let plain_again = appends(&engine, false, seconds).await?;
    let plain = f64::midpoint(plain, plain_again);
    run.add(
        "personal data: append, 16 writers, a participant's fields in plain text",
        plain,
        "events/s",
        None,
        None,
        "reference".into(),
        true,
    );
    run.add(
        "personal data: append, 16 writers, the same fields sealed with the person's key",
        sealed,
        "events/s",
        None,
        Some(plain),
        "≥ 0.9 × plain".into(),
        sealed >= 0.9 * plain,
    );
    run.limited_by("jejak: one XChaCha20-Poly1305 seal and a cached key lookup per event".into());
    let parsed = opens(&engine, false).await?;
    let opened = opens(&engine, true).await?;
    run.add(
        "read a participant's fields: parse plain JSON",
        parsed,
        "values/s",
        None,
        None,
        "reference".into(),
        true,
    );
    run.add(
        "read a participant's fields: open the sealed value (key cached)",
        opened,
        "values/s",
        None,
        Some(parsed),
        "reference (a view rebuild opens one per event)".into(),
        true,
    );
    let mut times = Vec::new();
    for i in 0..ERASURES {
        let ctx = Context::new(
            Actor::new("bench-operator", Role::Admin),
            format!("bench-erase-{i}"),
        );
        let t = Instant::now();
        engine
            .erase_person(&ctx, &person(i), "UU 27/2022 Pasal 8: bench")
            .await?;
        times.push(t.elapsed());
    }
    times.sort();
    let p99 = percentile(&times, 0.99);
    run.add(
        &format!("erase a person ({PEOPLE} people with keys), without the views' rebuild"),
        percentile(&times, 0.5),
        "ms p50",
        Some(&times),
        None,
        "< 1000 ms".into(),
        p99 < 1_000.0,
    );
    Ok(())
}
