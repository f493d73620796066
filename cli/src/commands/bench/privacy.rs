//! Personal data (ADR 0021, 0022): appends whose payload holds a
//! participant's fields sealed with their key beside the same fields in
//! plain text, the open of a sealed value beside parsing the plain one;
//! the domain's own `ProjectProposed` appended, projects loaded and the
//! project board applied with the participant sealed, each beside the
//! same events in plain text in the same run; a project read with the read
//! recorded beside the same read unrecorded; and erasures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use jejak_engine::clock::SystemClock;
use jejak_engine::codec::{encode, encode_with};
use jejak_engine::domain::Aggregate as _;
use jejak_engine::domain::change_project::{ChangeProject, ProjectEvent};
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
        "nip": nip(i),
        "name": format!("Peserta Pelatihan Nomor {i}"),
        "position": "Kepala Seksi Pelayanan Umum",
    })
}

/// The `i`-th participant's NIP: born 1 January 1987, appointed in a month
/// of 2010, either sex, a serial from 001; 23,976 distinct NIPs.
fn nip(i: usize) -> String {
    format!(
        "19870101{}{:02}{}{:03}",
        2010,
        1 + (i / 1_998) % 12,
        1 + (i / 999) % 2,
        1 + i % 999
    )
}

fn person(i: usize) -> String {
    uuid::Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0000 + i as u128).to_string()
}

/// Appends from [`WRITERS`] tasks for `turn`, each event holding one
/// participant's fields, sealed or plain; events per second.
async fn appends(
    engine: &Engine,
    sealed: bool,
    turn: Duration,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let deadline = Instant::now() + turn;
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
    Ok((total as f64 / started.elapsed().as_secs_f64(), Vec::new()))
}

/// One figure measured plain and sealed in turns.
struct Turns {
    /// Events per second over the plain turns, and each append's latency.
    plain: (f64, Vec<Duration>),
    /// The same over the sealed turns.
    sealed: (f64, Vec<Duration>),
    /// Sealed ÷ plain of each pair of turns.
    ratios: Vec<f64>,
}

impl Turns {
    /// The median of the pairs' ratios: what the target judges, so that a
    /// second in which the database stalled does not decide it.
    fn ratio(&self) -> f64 {
        let mut ratios = self.ratios.clone();
        ratios.sort_by(f64::total_cmp);
        let n = ratios.len();
        if n % 2 == 1 {
            ratios[n / 2]
        } else {
            f64::midpoint(ratios[n / 2 - 1], ratios[n / 2])
        }
    }
}

/// Measures plain and sealed in turns of one second, three times
/// `seconds` of each, which goes first alternating (plain sealed, sealed
/// plain …), so that the database's swings between seconds fall on both
/// alike and their spread shows.
async fn in_turns(
    seconds: u64,
    mut measure: impl AsyncFnMut(bool, Duration) -> anyhow::Result<(f64, Vec<Duration>)>,
) -> anyhow::Result<Turns> {
    let turn = Duration::from_secs(1);
    let (mut plain, mut sealed) = (Vec::new(), Vec::new());
    let (mut plain_lat, mut sealed_lat) = (Vec::new(), Vec::new());
    let mut ratios = Vec::new();
    for round in 0..(3 * seconds).max(1) {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        let mut pair = [0.0; 2];
        for is_sealed in order {
            let (rate, latencies) = measure(is_sealed, turn).await?;
            pair[usize::from(is_sealed)] = rate;
            if is_sealed {
                sealed.push(rate);
                sealed_lat.extend(latencies);
            } else {
                plain.push(rate);
                plain_lat.extend(latencies);
            }
        }
        ratios.push(pair[1] / pair[0]);
    }
    let mean = |rates: &[f64]| rates.iter().sum::<f64>() / rates.len() as f64;
    plain_lat.sort();
    sealed_lat.sort();
    Ok(Turns {
        plain: (mean(&plain), plain_lat),
        sealed: (mean(&sealed), sealed_lat),
        ratios,
    })
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
    let turns = in_turns(seconds, async |sealed, turn| {
        appends(&engine, sealed, turn).await
    })
    .await?;
    let (plain, sealed) = (turns.plain.0, turns.sealed.0);
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
        turns.ratio() >= 0.9,
    );
    run.median_of_turns(turns.ratio(), turns.ratios);
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
    domain_figures(run, &engine, seconds).await?;
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

/// Change projects of each kind (sealed, plain) for the load and rebuild
/// figures.
const PROJECTS: usize = 40;
/// Events per project stream: the proposal and comments.
const STREAM_EVENTS: usize = 100;

/// A participant's `ProjectProposed`, as the engine writes it.
fn proposed(i: usize) -> anyhow::Result<ProjectEvent> {
    use jejak_engine::domain::change_project::{Goals, MilestonePlan, Proposal};
    use jejak_engine::domain::cohort::{CohortFacts, Enrollment, Participant};
    use jejak_engine::domain::values::{
        CohortId, Horizon, MilestoneId, Nip, PersonId, ProjectId, TrainingLevel,
    };
    use jejak_engine::workflow::WorkflowRef;
    let cohort = CohortId::parse("pka-2026-1")?;
    let person = PersonId::parse(&person(i))?;
    let date = |m: u32| chrono::NaiveDate::from_ymd_opt(2026, m, 15).unwrap_or_default();
    let participant = Participant::new(
        person.clone(),
        &Nip::parse(&nip(i))?,
        &format!("Peserta Pelatihan Nomor {i}"),
        "Kepala Seksi Pelayanan Umum",
        "dpmptsp",
    )?;
    let mut enrollment =
        Enrollment::new(participant, "mentor-1", "coach-1", &["examiner-1".into()])?;
    enrollment.ordinal = u32::try_from(i + 1)?;
    Ok(ProjectEvent::ProjectProposed {
        project_id: ProjectId::for_participant(&cohort, &person),
        cohort: CohortFacts {
            cohort_id: cohort,
            level: TrainingLevel::Pka,
            organizer: "organizer-1".into(),
            starts_on: date(1),
            ends_on: date(6),
            workflow: "change-project-pka".into(),
            workflow_version: Some(1),
        },
        enrollment,
        workflow: WorkflowRef {
            name: "change-project-pka".into(),
            version: 1,
            hash: "00".repeat(32),
        },
        proposal: Proposal {
            title: "Antrian daring perizinan".into(),
            change_area: "Pelayanan".into(),
            problem: "Antrian panjang di loket".into(),
            baseline: "Rata-rata 3 jam menunggu".into(),
            goals: Goals {
                short_term: "Antrian daring di satu loket".into(),
                medium_term: "Semua loket".into(),
                long_term: String::new(),
            },
            stakeholders: vec![],
            team: vec![],
            milestones: vec![MilestonePlan {
                id: MilestoneId::parse("m1")?,
                horizon: Horizon::Short,
                title: "Tahap 1".into(),
                due: date(4),
                expected_output: "SK tim efektif".into(),
            }],
        },
    })
}

fn comment(n: usize) -> ProjectEvent {
    ProjectEvent::CommentAdded {
        by: "coach-1".into(),
        role: Role::Coach,
        text: format!("Catatan coach nomor {n}: lengkapi notulen dan daftar hadir."),
    }
}

/// `event` as the engine appends it: sealed with the participant's key,
/// or (`sealed` false) in plain, as before ADR 0022.
async fn encoded(engine: &Engine, event: &ProjectEvent, sealed: bool) -> anyhow::Result<NewEvent> {
    let metadata = jejak_engine::store::Metadata::default();
    if !sealed {
        return Ok(encode(event, metadata));
    }
    Ok(engine
        .privacy()
        .with_keys(true, |keys| {
            encode_with(event, metadata.clone(), keys, None)
        })
        .await??)
}

/// Appends `ProjectProposed` events from [`WRITERS`] tasks for `turn`,
/// sealed or plain: events per second and each append's latency.
async fn proposals(
    engine: &Engine,
    sealed: bool,
    turn: Duration,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let deadline = Instant::now() + turn;
    let started = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let engine = engine.clone();
            tokio::spawn(async move {
                let tag = if sealed { "sealed" } else { "plain" };
                let stream = StreamId::parse(format!("bench-pp-{tag}-{w}"))?;
                let mut latencies = Vec::new();
                let mut n = 0_usize;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let event =
                        encoded(&engine, &proposed((w * 7_919 + n) % PEOPLE)?, sealed).await?;
                    engine
                        .store()
                        .append(
                            AppendRequest::new(stream.clone(), "bench", ExpectedVersion::Any)
                                .event(event),
                        )
                        .await?;
                    latencies.push(t.elapsed());
                    n += 1;
                }
                Ok::<_, anyhow::Error>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    Ok((rate, all))
}

/// Writes [`PROJECTS`] change-project streams of [`STREAM_EVENTS`]
/// events with their proposals sealed and as many plain, one of each in
/// turn (so that neither kind sits in the log's older pages); their ids,
/// sealed and plain.
async fn projects(engine: &Engine) -> anyhow::Result<(Vec<StreamId>, Vec<StreamId>)> {
    let (mut sealed_streams, mut plain_streams) = (Vec::new(), Vec::new());
    for p in 0..PROJECTS {
        for sealed in [true, false] {
            let tag = if sealed { "sealed" } else { "plain" };
            let stream = StreamId::parse(format!("change_project-bench-{tag}-{p}"))?;
            let mut events = vec![encoded(engine, &proposed(PEOPLE - 1 - p)?, sealed).await?];
            events.extend((1..STREAM_EVENTS).map(|n| encode(&comment(n), Default::default())));
            engine
                .store()
                .append(
                    AppendRequest::new(
                        stream.clone(),
                        ChangeProject::KIND,
                        ExpectedVersion::NoStream,
                    )
                    .events(events),
                )
                .await?;
            if sealed {
                sealed_streams.push(stream);
            } else {
                plain_streams.push(stream);
            }
        }
    }
    Ok((sealed_streams, plain_streams))
}

/// Loads every stream of `streams` once; the time of each.
async fn load_all(engine: &Engine, streams: &[StreamId]) -> anyhow::Result<Duration> {
    let t = Instant::now();
    for stream in streams {
        let loaded = engine.load::<ChangeProject>(stream).await?;
        anyhow::ensure!(
            loaded.version == STREAM_EVENTS as u64,
            "the stream is there"
        );
        std::hint::black_box(loaded);
    }
    Ok(t.elapsed())
}

/// Times a project read is repeated over [`PROJECTS`] streams in one
/// timing: 400 reads.
const READ_PASSES: usize = 10;

/// Reads every project of `streams` [`READ_PASSES`] times as a mentor
/// would (the stream loaded, its participant opened), recording each read
/// of their personal data when `record`, as the server does for anyone
/// but the person. The record's writer runs beside the reads, as in a
/// server, and what it has not written when the time stops is flushed
/// after it: the time is what the reads cost, the writer's work included
/// only as far as it slows them.
async fn reads(engine: &Engine, streams: &[StreamId], record: bool) -> anyhow::Result<Duration> {
    use jejak_engine::privacy::PersonalRead;
    let t = Instant::now();
    for stream in std::iter::repeat_n(streams, READ_PASSES).flatten() {
        let loaded = engine.load::<ChangeProject>(stream).await?;
        let person = loaded
            .state
            .participant()
            .map(|p| p.person.to_string())
            .unwrap_or_default();
        if record {
            engine
                .privacy()
                .record_read(PersonalRead {
                    at: chrono::Utc::now(),
                    reader: "bench-mentor".into(),
                    person,
                    what: "nip,name,position".into(),
                    why: "Projects.GetProject as mentor".into(),
                })
                .await;
        }
        std::hint::black_box(loaded);
    }
    let elapsed = t.elapsed();
    if record {
        engine.privacy().flush_reads().await;
    }
    Ok(elapsed)
}

/// Applies the project board to the events of `streams`, in memory, as a
/// rebuild does; events per second.
async fn rebuild(engine: &Engine, streams: &[StreamId]) -> anyhow::Result<Duration> {
    use jejak_projections::{Docs, Projection as _};
    let mut events = Vec::new();
    for stream in streams {
        events.extend(engine.store().read_stream_to_end(stream).await?);
    }
    let board = jejak_projections::views::ProjectBoard;
    let t = Instant::now();
    for _ in 0..5 {
        let mut docs = Docs::default();
        for event in &events {
            board
                .apply(event, &mut docs)
                .map_err(|e| anyhow::anyhow!("the board: {}", e.0))?;
        }
        std::hint::black_box(docs);
    }
    Ok(t.elapsed() / 5)
}

/// Append, load and rebuild of the domain's own events with a
/// participant's fields sealed, each beside the same with them plain.
async fn domain_figures(run: &mut Run, engine: &Engine, seconds: u64) -> anyhow::Result<()> {
    let turns = in_turns(seconds, async |sealed, turn| {
        proposals(engine, sealed, turn).await
    })
    .await?;
    let ratio = turns.ratio();
    let ((plain, plain_lat), (sealed, sealed_lat)) = (turns.plain, turns.sealed);
    run.add(
        "append ProjectProposed, 16 writers, participant sealed",
        sealed,
        "events/s",
        Some(&sealed_lat),
        Some(plain),
        "≥ 0.9 × plain (the same events in plain text)".into(),
        ratio >= 0.9,
    );
    run.median_of_turns(ratio, turns.ratios);
    run.limited_by("jejak: encoding to a JSON tree, one seal per event and a cached key".into());
    run.add(
        "baseline: append ProjectProposed, 16 writers, participant in plain text",
        plain,
        "events/s",
        Some(&plain_lat),
        None,
        "reference".into(),
        true,
    );
    let (sealed_streams, plain_streams) = projects(engine).await?;
    let (load_sealed, load_plain) = super::medians_in_turn(
        15,
        async || load_all(engine, &sealed_streams).await,
        async || load_all(engine, &plain_streams).await,
    )
    .await?;
    let per = |ms: f64| ms / PROJECTS as f64;
    run.add(
        "personal data: load a project of 100 events, proposal sealed",
        per(load_sealed),
        "ms",
        None,
        Some(per(load_plain)),
        "≤ 1.1 × plain".into(),
        load_sealed <= 1.1 * load_plain,
    );
    run.limited_by("jejak: the proposal read as a JSON tree and opened, one key lookup".into());
    let (recorded, unrecorded) = super::medians_in_turn(
        15,
        async || reads(engine, &sealed_streams, true).await,
        async || reads(engine, &sealed_streams, false).await,
    )
    .await?;
    let per_read = |ms: f64| ms / (PROJECTS * READ_PASSES) as f64;
    run.add(
        "personal data: read a project by someone else, the read recorded",
        per_read(recorded),
        "ms",
        None,
        Some(per_read(unrecorded)),
        "≤ 1.1 × unrecorded (the same reads)".into(),
        recorded <= 1.1 * unrecorded,
    );
    run.limited_by(
        "jejak: one channel send per read; the rows written beside the reads, gathered \
         for 50 ms into one statement"
            .into(),
    );
    let (rebuild_sealed, rebuild_plain) = super::medians_in_turn(
        7,
        async || rebuild(engine, &sealed_streams).await,
        async || rebuild(engine, &plain_streams).await,
    )
    .await?;
    let rate = |ms: f64| (PROJECTS * STREAM_EVENTS) as f64 / (ms / 1_000.0);
    run.add(
        "personal data: apply the project board (rebuild), proposals sealed",
        rate(rebuild_sealed),
        "events/s",
        None,
        Some(rate(rebuild_plain)),
        "≥ 0.9 × plain".into(),
        rebuild_sealed * 0.9 <= rebuild_plain,
    );
    run.limited_by(
        "jejak: the sealed value kept, not opened; the proposal read as a JSON tree".into(),
    );
    Ok(())
}
