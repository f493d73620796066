//! `jejak bench`: the log measured beside the raw database, in one run.
//!
//! The machines are shared and their disks swing several-fold in speed, so
//! every figure is printed beside a baseline measured in the same run,
//! interleaved (baseline, measurement, baseline again), and judged as a
//! ratio against the mean of the two baselines.

mod city;
mod grpc;
mod mix;
mod portal;
mod privacy;
mod proofs;
mod scale;
mod watch;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use jejak_engine::domain::{Aggregate, Command, DomainError};
use jejak_engine::engine::Engine;
use jejak_engine::store::{
    AppendRequest, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StoreConfig,
    StoredSnapshot, StreamId,
};
use jejak_engine::workflow::WorkflowRef;
use jejak_projections::views;
use jejak_projections::{Runner, RunnerConfig};
use serde::{Deserialize, Serialize};
use sqlx::Connection as _;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Also measure PostgreSQL: a server URL whose user may create databases.
    #[arg(long, env = "JEJAK_BENCH_POSTGRES_URL")]
    postgres: Option<String>,
    /// Events in the log (the demo city scaled up) for the read, catch-up
    /// and rebuild measurements.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Seconds per write measurement.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Where to write every figure as JSON.
    #[arg(long, default_value = "bench.json")]
    json_out: std::path::PathBuf,
    /// Measure only this part (a quick run): `log`, the appends, reads,
    /// verify, proofs and export of the log; `watchers`, the inbox watches
    /// and streams that never read; `privacy`, sealed personal data and
    /// erasures; `commands`, whole commands (a realistic mix) through the
    /// engine and through gRPC beside the log's own cost; `scale`, a served
    /// log of `--events` beside one of 10,000: reads, a mixed load,
    /// restarts, and on PostgreSQL three servers and takeovers; `portal`,
    /// the web portal's pages beside the calls they are made of (on
    /// PostgreSQL over the demo city copied into an empty database).
    #[arg(long, value_enum)]
    only: Option<Only>,
    /// Streams' states kept in memory by the engine direct and the served
    /// process of the command figures (0: none, every command reads its
    /// stream). Default: the server's default.
    #[arg(long)]
    cached_states: Option<usize>,
}

/// A part of the bench run alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Only {
    /// The log: appends beside their baselines, then, over the scaled-up
    /// city, the reads beside the raw read, verify, proofs and export.
    Log,
    /// Inbox watches beside the same write load without them, and streams
    /// that never read.
    Watchers,
    /// Appends with a participant's fields sealed beside plain, opening
    /// them, and erasing a person.
    Privacy,
    /// Whole commands of a realistic mix, engine direct and gRPC, from 1
    /// and 64 clients, beside the single-row commit and the log's own
    /// append from 64 writers.
    Commands,
    /// A served log of `--events` beside one of 10,000: the reads people
    /// make most (p50, p99), a mixed load, a restart's time and CPU; on
    /// PostgreSQL, three servers beside one and takeovers after a hang
    /// and a kill.
    Scale,
    /// The web portal's pages over the demo city (p50, p99) beside the
    /// gRPC calls each page is made of.
    Portal,
}

#[derive(Debug, Serialize)]
struct Figure {
    backend: String,
    name: String,
    value: f64,
    unit: String,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    baseline: Option<f64>,
    ratio: Option<f64>,
    target: String,
    pass: bool,
    /// For a missed target: whether the machine (shown by a baseline) or
    /// jejak itself is what limits the figure.
    limit: Option<String>,
    /// The ratio to the baseline in each turn, where the figure was
    /// measured in turns: fewest, most.
    spread: Option<(f64, f64)>,
    /// What was measured, where the name does not say it all.
    note: Option<String>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1_000.0
}

/// One row per append, the same shape as the log, on the log's own pool.
async fn baseline(store: &EventStore, rows_per_tx: usize, seconds: u64) -> anyhow::Result<f64> {
    let mut written = 0u64;
    let started = Instant::now();
    let payload = "{\"n\":1,\"text\":\"baseline row shaped like an event\"}";
    let max: Option<i64> = match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => {
            sqlx::query_scalar("SELECT MAX(position) FROM bench_baseline")
                .fetch_one(pool)
                .await?
        }
        (_, Some(pool)) => {
            sqlx::query_scalar("SELECT MAX(position) FROM bench_baseline")
                .fetch_one(pool)
                .await?
        }
        _ => anyhow::bail!("the log has no pool"),
    };
    let mut next = max.unwrap_or(0) + 1;
    while started.elapsed() < Duration::from_secs(seconds) {
        macro_rules! insert {
            ($pool:expr, $sql:literal) => {{
                let mut tx = $pool.begin().await?;
                for _ in 0..rows_per_tx {
                    sqlx::query($sql)
                        .bind(next)
                        .bind(uuid::Uuid::now_v7().to_string())
                        .bind("bench-stream")
                        .bind(payload)
                        .bind(vec![7u8; 32])
                        .execute(&mut *tx)
                        .await?;
                    next += 1;
                }
                tx.commit().await?;
            }};
        }
        match (store.sqlite_pool(), store.postgres_pool()) {
            (Some(pool), _) => insert!(
                pool,
                "INSERT INTO bench_baseline (position, event_id, stream_id, payload, hash) VALUES (?, ?, ?, ?, ?)"
            ),
            (_, Some(pool)) => insert!(
                pool,
                "INSERT INTO bench_baseline (position, event_id, stream_id, payload, hash) VALUES ($1, $2, $3, $4, $5)"
            ),
            _ => anyhow::bail!("the log has no pool"),
        }
        written += rows_per_tx as u64;
    }
    Ok(written as f64 / started.elapsed().as_secs_f64())
}

async fn create_baseline_table(store: &EventStore) -> anyhow::Result<()> {
    let sql = "CREATE TABLE IF NOT EXISTS bench_baseline (position BIGINT PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, stream_id TEXT NOT NULL, payload TEXT NOT NULL, hash BYTEA NOT NULL)";
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => {
            sqlx::query(&sql.replace("BYTEA", "BLOB"))
                .execute(pool)
                .await?;
            sqlx::query("DELETE FROM bench_baseline")
                .execute(pool)
                .await?;
        }
        (_, Some(pool)) => {
            sqlx::query(sql).execute(pool).await?;
            sqlx::query("TRUNCATE bench_baseline").execute(pool).await?;
        }
        _ => anyhow::bail!("the log has no pool"),
    }
    Ok(())
}

fn event(n: u64) -> NewEvent {
    NewEvent::new(
        "Measured",
        serde_json::json!({ "n": n, "text": "an event of a typical size for jejak's log" }),
    )
}

/// Appends from `writers` tasks on distinct streams for `seconds`; returns
/// events per second and the sorted latencies.
async fn appends(
    store: &EventStore,
    writers: usize,
    seconds: u64,
    tag: &str,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    // Spawn every writer first, so that they really run at once.
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            let tag = tag.to_owned();
            tokio::spawn(async move {
                let stream = StreamId::parse(format!("bench-{tag}-{w}")).expect("a stream id");
                let mut latencies = Vec::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    store
                        .append(
                            AppendRequest::new(stream.clone(), "bench", ExpectedVersion::Any)
                                .event(event(n)),
                        )
                        .await?;
                    latencies.push(t.elapsed());
                    n += 1;
                }
                Ok::<_, jejak_engine::store::StoreError>(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in futures_join(tasks).await {
        all.extend(task??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    Ok((all.len() as f64 / elapsed, all))
}

async fn futures_join<T>(
    tasks: impl IntoIterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await);
    }
    out
}

/// A minimal aggregate for load measurements: it counts its events.
#[derive(Debug)]
struct Tally;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum TallyEvent {
    Measured { n: u64, text: String },
}

impl Aggregate for Tally {
    const KIND: &'static str = "bench";
    const LABEL: &'static str = "bench stream";
    const SNAPSHOT_VERSION: u32 = 1;
    type State = u64;
    type Command = ();
    type Event = TallyEvent;

    fn decide(_: &u64, _: &Command<()>) -> Result<Vec<TallyEvent>, DomainError> {
        Ok(vec![])
    }
    fn evolve(state: u64, _: &TallyEvent) -> u64 {
        state + 1
    }
    fn command_name(_: &()) -> &'static str {
        "tally"
    }
    fn workflow_of(_: &u64) -> Option<&WorkflowRef> {
        None
    }
}

/// One load of `stream` through the engine, timed.
async fn load_once(engine: &Engine, stream: &StreamId) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let loaded = engine.load::<Tally>(stream).await?;
    let took = t.elapsed();
    anyhow::ensure!(loaded.version > 0, "the stream is there");
    Ok(took)
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    percentile(&times, 0.5)
}

/// The medians, in ms, of `rounds` timings of `a` and of `b` taken in
/// turn, so that the machine's swings fall on both alike; which goes
/// first alternates (a b, b a, a b …), so that neither always runs on what
/// the other left behind.
async fn medians_in_turn(
    rounds: usize,
    mut a: impl AsyncFnMut() -> anyhow::Result<Duration>,
    mut b: impl AsyncFnMut() -> anyhow::Result<Duration>,
) -> anyhow::Result<(f64, f64)> {
    let (mut times_a, mut times_b) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds {
        if round % 2 == 0 {
            times_a.push(a().await?);
            times_b.push(b().await?);
        } else {
            times_b.push(b().await?);
            times_a.push(a().await?);
        }
    }
    Ok((median_ms(times_a), median_ms(times_b)))
}

/// The log's columns, as the raw baselines of the log's reads read them.
const RAW_COLUMNS: &str = "position, event_id, stream_id, stream_type, stream_version, \
    event_type, event_version, payload, metadata, recorded_at, prev_hash, hash";

/// The columns loading a stream reads of each event (`StreamEvent`), as
/// the raw baseline of a load reads them.
const LOAD_COLUMNS: &str = "position, stream_version, event_type, event_version, payload";

/// Bytes of every column of a PostgreSQL row, read where the driver holds them.
fn touch_pg(row: &sqlx::postgres::PgRow) -> anyhow::Result<usize> {
    use sqlx::Row as _;
    (0..row.len()).try_fold(0, |n, i| {
        Ok(n + row.try_get_unchecked::<&[u8], _>(i)?.len())
    })
}

/// Bytes of every column of a SQLite row, read where SQLite holds them.
fn touch_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<usize> {
    use rusqlite::types::ValueRef;
    (0..row.as_ref().column_count()).try_fold(0, |n, i| {
        Ok(n + match row.get_ref(i)? {
            ValueRef::Text(b) | ValueRef::Blob(b) => b.len(),
            _ => 8,
        })
    })
}

/// A read-only connection of its own to the SQLite log at `sqlite://PATH`.
fn raw_sqlite(url: &str) -> anyhow::Result<rusqlite::Connection> {
    let path = url
        .strip_prefix("sqlite://")
        .context("a SQLite URL sqlite://PATH")?;
    Ok(rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?)
}

/// The raw database's read rate, for the figures that read the log: its
/// rows in batches of 10,000 in position order through the database's
/// driver, every column touched where the driver holds it, none turned
/// into an event.
async fn raw_read(store: &EventStore, url: &str) -> anyhow::Result<f64> {
    let sql = format!(
        "SELECT {RAW_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT 10000"
    );
    let started = Instant::now();
    let (mut rows, mut bytes) = (0u64, 0usize);
    if let Some(pool) = store.postgres_pool() {
        use sqlx::Row as _;
        let mut after = 0i64;
        loop {
            let batch = sqlx::query(&sql).bind(after).fetch_all(pool).await?;
            let Some(last) = batch.last() else { break };
            after = last.try_get(0)?;
            for row in &batch {
                bytes += touch_pg(row)?;
            }
            rows += batch.len() as u64;
        }
    } else {
        let conn = raw_sqlite(url)?;
        (rows, bytes) = tokio::task::spawn_blocking(move || {
            let mut statement = conn.prepare(&sql)?;
            let (mut rows, mut bytes, mut after) = (0u64, 0usize, 0i64);
            loop {
                let mut batch = statement.query([after])?;
                let mut read = 0;
                while let Some(row) = batch.next()? {
                    after = row.get(0)?;
                    bytes += touch_sqlite(row)?;
                    read += 1;
                }
                if read == 0 {
                    return anyhow::Ok((rows, bytes));
                }
                rows += read;
            }
        })
        .await??;
    }
    std::hint::black_box(bytes);
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// The raw database's read of one stream's rows in version order, the
/// columns a load reads ([`LOAD_COLUMNS`]) touched where the driver holds
/// them: the floor under loading it.
struct RawStreamRead {
    sql: String,
    stream: String,
    via: RawVia,
}

enum RawVia {
    Postgres(sqlx::PgPool),
    Sqlite(std::sync::Arc<std::sync::Mutex<rusqlite::Connection>>),
}

impl RawStreamRead {
    fn new(store: &EventStore, url: &str, stream: &StreamId) -> anyhow::Result<Self> {
        let via = match store.postgres_pool() {
            Some(pool) => RawVia::Postgres(pool.clone()),
            None => RawVia::Sqlite(std::sync::Arc::new(std::sync::Mutex::new(raw_sqlite(url)?))),
        };
        Ok(Self {
            sql: format!(
                "SELECT {LOAD_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version"
            ),
            stream: stream.as_str().to_owned(),
            via,
        })
    }

    /// One read, timed.
    async fn time(&self) -> anyhow::Result<Duration> {
        let mut bytes = 0;
        let took = match &self.via {
            RawVia::Postgres(pool) => {
                let t = Instant::now();
                let rows = sqlx::query(&self.sql)
                    .bind(&self.stream)
                    .fetch_all(pool)
                    .await?;
                for row in &rows {
                    bytes += touch_pg(row)?;
                }
                t.elapsed()
            }
            RawVia::Sqlite(conn) => {
                let (conn, sql, stream) = (conn.clone(), self.sql.clone(), self.stream.clone());
                let took;
                (took, bytes) = tokio::task::spawn_blocking(move || {
                    let conn = conn
                        .lock()
                        .map_err(|_| anyhow::anyhow!("a raw read failed"))?;
                    let t = Instant::now();
                    let mut statement = conn.prepare_cached(&sql)?;
                    let mut rows = statement.query([&stream])?;
                    let mut bytes = 0;
                    while let Some(row) = rows.next()? {
                        bytes += touch_sqlite(row)?;
                    }
                    anyhow::Ok((t.elapsed(), bytes))
                })
                .await??;
                took
            }
        };
        std::hint::black_box(bytes);
        Ok(took)
    }
}

struct Run {
    backend: &'static str,
    figures: Vec<Figure>,
}

impl Run {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        name: &str,
        value: f64,
        unit: &str,
        latencies: Option<&[Duration]>,
        baseline: Option<f64>,
        target: String,
        pass: bool,
    ) {
        self.figures.push(Figure {
            backend: self.backend.to_owned(),
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
            p50_ms: latencies.map(|l| percentile(l, 0.5)),
            p99_ms: latencies.map(|l| percentile(l, 0.99)),
            baseline,
            ratio: baseline.map(|b| value / b),
            target,
            pass,
            limit: None,
            spread: None,
            note: None,
        });
    }

    /// Judges the figure just added by `median`, the median of its
    /// per-turn ratios (`ratios`), stated with their spread: a turn in which
    /// the machine stalled moves neither the ratio nor the verdict.
    fn median_of_turns(&mut self, median: f64, ratios: Vec<f64>) {
        let turns = ratios.len();
        if let Some(last) = self.figures.last_mut() {
            last.ratio = Some(median);
        }
        self.spread(ratios);
        self.note(format!("× baseline: the median of {turns} turns' ratios"));
    }

    /// States the spread of the per-turn ratios of the figure just added.
    fn spread(&mut self, ratios: impl IntoIterator<Item = f64>) {
        let ratios: Vec<f64> = ratios.into_iter().collect();
        let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if let Some(last) = self.figures.last_mut()
            && lo.is_finite()
        {
            last.spread = Some((lo, hi));
        }
    }

    /// A note on the figure just added.
    fn note(&mut self, note: String) {
        if let Some(last) = self.figures.last_mut() {
            last.note = Some(note);
        }
    }

    /// Says what limits the figure just added, when it missed its target.
    fn limited_by(&mut self, limit: String) {
        if let Some(last) = self.figures.last_mut().filter(|f| !f.pass) {
            last.limit = Some(limit);
        }
    }
}

/// The empty databases one backend's run uses.
struct Urls {
    /// The log measured.
    main: String,
    /// The engine direct, for the gRPC comparison.
    direct: String,
    /// The `jejak serve` process, for the gRPC comparison, and its data folder.
    served: String,
    served_dir: std::path::PathBuf,
    /// The `jejak serve` process of the watch measurements, and its data folder.
    watched: String,
    watched_dir: std::path::PathBuf,
    /// The personal-data measurements.
    privacy: String,
    /// The scale section's small and big logs, and their servers' data folders.
    scale: [String; 2],
    scale_dirs: [std::path::PathBuf; 2],
    /// Where the demo city's template log and its master key are.
    city_dir: std::path::PathBuf,
}

/// Peak resident memory of the process whose `/proc/…/status` is at
/// `path`, in KiB (0 where there is no such file).
fn peak_rss_kib(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// A store configuration with a seal key of the bench's own.
pub(crate) fn sealed_config() -> anyhow::Result<StoreConfig> {
    Ok(StoreConfig {
        seal_key: Some(jejak_engine::store::SealKey::generate("jejak.bench/log")?),
        ..StoreConfig::default()
    })
}

/// Starts this process's peak memory afresh (Linux: clear_refs 5).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// Whole commands of the mix (`mix.rs`) beside the log's own cost;
/// returns the served process's peak memory in MiB.
async fn commands(
    run: &mut Run,
    urls: &Urls,
    seconds: u64,
    cached_states: Option<usize>,
    innovations: usize,
) -> anyhow::Result<f64> {
    let backend = run.backend;
    eprintln!(
        "[{backend}] commands of a realistic mix, engine direct and gRPC, 1 and 64 clients, beside the 1-row commit and the log's 64-writer append …"
    );
    let c = grpc::commands(
        &urls.direct,
        &urls.served,
        &urls.served_dir,
        seconds,
        cached_states,
        innovations,
    )
    .await?;
    let single = mean(&c.single);
    // Each one-client turn beside the baselines just before and after it.
    let beside: Vec<f64> = c.single.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
    run.add(
        "baseline: 1-row INSERT commits, in turn with the commands",
        single,
        "commits/s",
        None,
        None,
        "reference".into(),
        true,
    );
    run.add(
        "engine direct, 1 client",
        c.direct_one.per_second,
        "commands/s",
        Some(&c.direct_one.latencies),
        Some(single),
        "≥ 0.7 × the 1-row commit".into(),
        c.direct_one.per_second >= 0.7 * single,
    );
    run.spread(c.direct_one.turns.iter().zip(&beside).map(|(v, b)| v / b));
    run.note(c.mix.clone());
    run.limited_by(format!(
        "jejak: a command beyond its one write (the database commits {single:.0} single rows/s)"
    ));
    run.add(
        "gRPC end to end, 1 client",
        c.grpc_one.per_second,
        "commands/s",
        Some(&c.grpc_one.latencies),
        Some(single),
        "≥ 0.6 × the 1-row commit".into(),
        c.grpc_one.per_second >= 0.6 * single,
    );
    run.spread(c.grpc_one.turns.iter().zip(&beside).map(|(v, b)| v / b));
    run.limited_by(format!(
        "jejak: the gRPC layer and a command beyond its one write (the database commits {single:.0} single rows/s)"
    ));
    run.add(
        "the log's own append from 64 writers, in turn with the commands",
        c.append_many.per_second,
        "events/s",
        Some(&c.append_many.latencies),
        None,
        "reference".into(),
        true,
    );
    run.add(
        "engine direct, 64 clients",
        c.direct_many.per_second,
        "commands/s",
        Some(&c.direct_many.latencies),
        Some(c.append_many.per_second),
        "≥ 0.5 × the log's 64-writer append".into(),
        c.direct_many.per_second >= 0.5 * c.append_many.per_second,
    );
    run.spread(
        c.direct_many
            .turns
            .iter()
            .zip(&c.append_many.turns)
            .map(|(v, b)| v / b),
    );
    run.limited_by(
        "jejak: deciding, encoding and the read models beside the log's own append".into(),
    );
    let p99 = percentile(&c.grpc_many.latencies, 0.99);
    run.add(
        "gRPC end to end, 64 clients",
        c.grpc_many.per_second,
        "commands/s",
        Some(&c.grpc_many.latencies),
        Some(c.direct_many.per_second),
        "≥ 0.8 × engine direct, p99 ≤ 20 ms".into(),
        c.grpc_many.per_second >= 0.8 * c.direct_many.per_second && p99 <= 20.0,
    );
    run.spread(
        c.grpc_many
            .turns
            .iter()
            .zip(&c.direct_many.turns)
            .map(|(v, b)| v / b),
    );
    run.limited_by(
        "jejak: the gRPC layer (transport, tokens, conversion) and a second process on the same two cores".into(),
    );
    Ok(c.server_peak)
}

/// Inbox watches beside the same load without them, and streams that never read.
async fn watchers(run: &mut Run, urls: &Urls, args: &BenchArgs) -> anyhow::Result<()> {
    let backend = run.backend;
    eprintln!(
        "[{backend}] comments from 16 clients, without and with {} inbox watches, then 400 streams that never read …",
        watch::MENTORS
    );
    let w = watch::measure(&urls.watched, &urls.watched_dir, args.seconds).await?;
    let without = percentile(&w.without.1, 0.99);
    let with = percentile(&w.with.1, 0.99);
    run.add(
        "comments, 16 clients, no inbox watches",
        without,
        "ms p99",
        Some(&w.without.1),
        None,
        format!("reference ({:.0} commands/s)", w.without.0),
        true,
    );
    run.add(
        &format!(
            "comments, 16 clients, {} inbox watches open",
            watch::MENTORS
        ),
        with,
        "ms p99",
        Some(&w.with.1),
        Some(without),
        format!("p99 ≤ 1.5 × without ({:.0} commands/s)", w.with.0),
        with <= 1.5 * without,
    );
    run.limited_by(format!(
        "jejak: each watch wakes for every change of the board ({:.0} commands/s with, {:.0} without)",
        w.with.0, w.without.0
    ));
    let added = w.rss_with_stalled - w.rss_before;
    run.add(
        &format!(
            "server memory added by {} streams that never read ({} closed for it)",
            w.stalled, w.closed_unread
        ),
        added,
        "MiB",
        None,
        Some(w.rss_before),
        "≤ 50 MiB".into(),
        added <= 50.0,
    );
    Ok(())
}

async fn measure(
    backend: &'static str,
    urls: &Urls,
    city: &[RecordedEvent],
    args: &BenchArgs,
) -> anyhow::Result<Vec<Figure>> {
    if args.only == Some(Only::Watchers) {
        let mut run = Run {
            backend,
            figures: Vec::new(),
        };
        watchers(&mut run, urls, args).await?;
        return Ok(run.figures);
    }
    if args.only == Some(Only::Privacy) {
        let mut run = Run {
            backend,
            figures: Vec::new(),
        };
        privacy::measure(&mut run, &urls.main, args.seconds).await?;
        return Ok(run.figures);
    }
    if args.only == Some(Only::Scale) {
        let mut run = Run {
            backend,
            figures: Vec::new(),
        };
        scale_section(&mut run, urls, city, args).await?;
        return Ok(run.figures);
    }
    if args.only == Some(Only::Portal) {
        let mut run = Run {
            backend,
            figures: Vec::new(),
        };
        let postgres = (backend == "postgres").then_some(urls.main.as_str());
        portal::measure(&mut run, (&urls.city_dir, city), postgres).await?;
        return Ok(run.figures);
    }
    if args.only == Some(Only::Commands) {
        let mut run = Run {
            backend,
            figures: Vec::new(),
        };
        commands(
            &mut run,
            urls,
            args.seconds,
            args.cached_states,
            mix::SEEDED,
        )
        .await?;
        return Ok(run.figures);
    }
    let url = &urls.main;
    // Sealed as a server seals: every figure includes the seal and the tree.
    let store = EventStore::open(url, sealed_config()?)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    create_baseline_table(&store).await?;
    let mut run = Run {
        backend,
        figures: Vec::new(),
    };
    let s = args.seconds;
    eprintln!("[{backend}] single-row baseline, one writer, baseline again …");
    let b1 = baseline(&store, 1, s).await?;
    let (one, one_lat) = appends(&store, 1, s, "one").await?;
    let b2 = baseline(&store, 1, s).await?;
    let single = (b1 + b2) / 2.0;
    run.add(
        "baseline: 1-row INSERT commits",
        single,
        "commits/s",
        None,
        None,
        "reference".into(),
        true,
    );
    run.add(
        "append, one writer",
        one,
        "commits/s",
        Some(&one_lat),
        Some(single),
        "≥ 0.8 × baseline".into(),
        one >= 0.8 * single,
    );
    run.limited_by(format!(
        "jejak: the raw database commits {single:.0} single rows/s in three statements; a lone append is a transaction of the checked INSERT, its seal and tree rows, after a hop to the writer task"
    ));
    eprintln!("[{backend}] 64-row baseline, 64 writers …");
    let batch = baseline(&store, 64, s).await?;
    run.add(
        "baseline: 64 rows per transaction",
        batch,
        "rows/s",
        None,
        None,
        "reference".into(),
        true,
    );
    let (many, many_lat) = appends(&store, 64, s, "many").await?;
    let b3 = baseline(&store, 1, s).await?;
    let single = (single + b3) / 2.0;
    let p99 = percentile(&many_lat, 0.99);
    run.add(
        "append, 64 writers (group commit)",
        many,
        "events/s",
        Some(&many_lat),
        Some(single),
        "≥ 5 × baseline, p99 ≤ 20 ms".into(),
        many >= 5.0 * single && p99 <= 20.0,
    );
    run.limited_by(if many >= 0.9 * batch {
        format!("the machine: the raw database takes {batch:.0} rows/s in 64-row transactions")
    } else {
        format!("jejak: the raw database takes {batch:.0} rows/s in 64-row transactions")
    });

    let head = store.digest().await?.position;
    let progress = indicatif::ProgressBar::new(args.events.saturating_sub(head)).with_style(
        indicatif::ProgressStyle::with_template(&format!(
            "[{backend}] the demo city scaled up to {} events [{{bar:40}}] {{pos}}",
            args.events
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    city::scale(&store, city, args.events, &progress).await?;
    progress.finish_and_clear();
    let total = store.digest().await?.position;
    let read_target = if backend == "sqlite" {
        500_000.0
    } else {
        400_000.0
    };
    eprintln!("[{backend}] raw read, the log read, catch-up, raw read again …");
    let raw1 = raw_read(&store, url).await?;
    let t = Instant::now();
    let mut after = 0;
    loop {
        let batch = store.read_all(after, 10_000).await?;
        let Some(last) = batch.last() else { break };
        after = last.position;
    }
    let read = total as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut subscription = store.subscribe(0);
    while subscription.position() < total {
        subscription.next_batch(10_000).await?;
    }
    let catch_up = total as f64 / t.elapsed().as_secs_f64();
    let raw = (raw1 + raw_read(&store, url).await?) / 2.0;
    run.add(
        "baseline: raw read of the log",
        raw,
        "rows/s",
        None,
        None,
        "reference".into(),
        true,
    );
    for (name, value) in [
        ("read the whole log", read),
        ("subscription catch-up", catch_up),
    ] {
        run.add(
            name,
            value,
            "events/s",
            None,
            Some(raw),
            format!("≥ {read_target:.0} events/s"),
            value >= read_target,
        );
        run.limited_by(if raw < read_target {
            format!("the machine: the raw database reads {raw:.0} rows/s")
        } else {
            format!("jejak: the raw database reads {raw:.0} rows/s")
        });
    }
    proofs::measure(&mut run, &store, raw, total).await?;
    if args.only == Some(Only::Log) {
        return Ok(run.figures);
    }
    eprintln!("[{backend}] rebuilding every view from zero over {total} events …");
    let before = peak_rss_kib("/proc/self/status");
    reset_peak_rss();
    let t = Instant::now();
    let runner = Runner::new(store.clone(), RunnerConfig::default()).await?;
    views::spawn_all(&runner);
    for name in runner.names() {
        runner
            .wait_for(name, total, Duration::from_secs(3_600))
            .await
            .with_context(|| format!("rebuilding {name}"))?;
    }
    let rebuild = total as f64 / t.elapsed().as_secs_f64();
    runner.shutdown();
    let peak = peak_rss_kib("/proc/self/status") as f64 / 1024.0;
    run.add(
        "rebuild every view from zero",
        rebuild,
        "events/s",
        None,
        Some(raw),
        "≥ 100000 events/s".into(),
        rebuild >= 100_000.0,
    );
    run.limited_by(if raw < 100_000.0 {
        format!("the machine: the raw database reads {raw:.0} rows/s")
    } else {
        format!("jejak: applying and writing the views (the raw database reads {raw:.0} rows/s)")
    });
    run.add(
        "peak memory during the rebuild",
        peak,
        "MiB",
        None,
        Some(before as f64 / 1024.0),
        "< 300 MiB (× baseline: over memory before it)".into(),
        peak < 300.0,
    );

    eprintln!("[{backend}] loading streams of 100, 1,000 and 10,000 events …");
    let engine = Engine::open(store.clone()).await?;
    let mut streams = Vec::new();
    for size in [100u64, 1_000, 10_000] {
        let stream = StreamId::parse(format!("bench-load-{size}"))?;
        let mut written = 0;
        while written < size {
            let batch: Vec<NewEvent> = (0..1_000.min(size - written)).map(event).collect();
            written += batch.len() as u64;
            store
                .append(
                    AppendRequest::new(stream.clone(), "bench", ExpectedVersion::Any).events(batch),
                )
                .await?;
        }
        streams.push((size, stream));
    }
    let load_target = if backend == "sqlite" { 1.0 } else { 2.5 };
    let raw = RawStreamRead::new(&store, url, &streams[1].1)?;
    let (thousand, raw_thousand) = medians_in_turn(
        51,
        async || load_once(&engine, &streams[1].1).await,
        async || raw.time().await,
    )
    .await?;
    let mut times = Vec::new();
    for _ in 0..21 {
        times.push(load_once(&engine, &streams[2].1).await?);
    }
    let ten_thousand = median_ms(times);
    run.add(
        "baseline: raw read of a load's columns of those 1,000 rows",
        raw_thousand,
        "ms",
        None,
        None,
        "reference".into(),
        true,
    );
    run.add(
        "load a stream of 1,000 events",
        thousand,
        "ms",
        None,
        Some(raw_thousand),
        format!("≤ {load_target} ms"),
        thousand <= load_target,
    );
    run.limited_by(if raw_thousand > load_target {
        format!("the machine: the raw database alone reads a load's columns of the 1,000 rows in {raw_thousand:.2} ms")
    } else {
        format!("jejak: the raw database reads a load's columns of the 1,000 rows in {raw_thousand:.2} ms")
    });
    run.add(
        "load a stream of 10,000 events",
        ten_thousand,
        "ms",
        None,
        None,
        "reference".into(),
        true,
    );
    for (size, stream) in &streams {
        let state = serde_json::to_string(&(size - 1))?;
        store
            .save_snapshot(
                stream,
                Tally::SNAPSHOT_VERSION,
                &StoredSnapshot {
                    stream_version: size - 1,
                    state,
                },
            )
            .await?;
    }
    let (hundred, ten_thousand) = medians_in_turn(
        51,
        async || load_once(&engine, &streams[0].1).await,
        async || load_once(&engine, &streams[2].1).await,
    )
    .await?;
    run.add(
        "load 100 events with a snapshot",
        hundred,
        "ms",
        None,
        None,
        "reference".into(),
        true,
    );
    run.add(
        "load 10,000 events with a snapshot",
        ten_thousand,
        "ms",
        None,
        Some(hundred),
        "no more than loading 100 (ratio ≤ 1.5 for noise)".into(),
        ten_thousand <= hundred * 1.5,
    );

    // A quick run (a small log) seeds fewer innovations for the commands.
    let innovations = usize::try_from(args.events / 3_000)
        .unwrap_or(mix::SEEDED)
        .clamp(20, mix::SEEDED);
    let server_peak = commands(&mut run, urls, s, args.cached_states, innovations).await?;
    run.add(
        "server peak memory",
        server_peak,
        "MiB",
        None,
        None,
        "< 150 MiB".into(),
        server_peak < 150.0,
    );
    watchers(&mut run, urls, args).await?;
    privacy::measure(&mut run, &urls.privacy, s).await?;
    scale_section(&mut run, urls, city, args).await?;
    Ok(run.figures)
}

/// The scale section (`scale.rs`).
async fn scale_section(
    run: &mut Run,
    urls: &Urls,
    city: &[RecordedEvent],
    args: &BenchArgs,
) -> anyhow::Result<()> {
    scale::measure(
        run,
        [&urls.scale[0], &urls.scale[1]],
        [&urls.scale_dirs[0], &urls.scale_dirs[1]],
        (&urls.city_dir, city),
        args.events.max(scale::SMALL),
        args.seconds,
    )
    .await
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let city = if args.only == Some(Only::Watchers) {
        Vec::new()
    } else {
        eprintln!("loading the demo city once, through the engine's commands …");
        city::template(&dir).await?
    };
    let sqlite = |name: &str| format!("sqlite://{}", dir.join(format!("{name}.db")).display());
    let urls = Urls {
        main: sqlite("bench"),
        direct: sqlite("direct"),
        served: sqlite("served"),
        served_dir: dir.join("served"),
        watched: sqlite("watched"),
        watched_dir: dir.join("watched"),
        privacy: sqlite("privacy"),
        scale: [sqlite("scale-small"), sqlite("scale-big")],
        scale_dirs: [dir.join("scale-small"), dir.join("scale-big")],
        city_dir: dir.clone(),
    };
    let mut figures = measure("sqlite", &urls, &city, &args).await?;
    if let Some(admin) = &args.postgres {
        let Some((base, _)) = admin.rsplit_once('/') else {
            anyhow::bail!(
                "--postgres needs a database URL, e.g. postgres://postgres@127.0.0.1/test"
            )
        };
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .with_context(|| format!("cannot connect to {admin}"))?;
        let names: Vec<String> = [
            "main", "direct", "served", "watched", "privacy", "small", "big",
        ]
        .iter()
        .map(|n| format!("jejak_bench_{n}_{}", uuid::Uuid::now_v7().simple()))
        .collect();
        for name in &names {
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await?;
        }
        let urls = Urls {
            main: format!("{base}/{}", names[0]),
            direct: format!("{base}/{}", names[1]),
            served: format!("{base}/{}", names[2]),
            served_dir: dir.join("served-postgres"),
            watched: format!("{base}/{}", names[3]),
            watched_dir: dir.join("watched-postgres"),
            privacy: format!("{base}/{}", names[4]),
            scale: [
                format!("{base}/{}", names[5]),
                format!("{base}/{}", names[6]),
            ],
            scale_dirs: [
                dir.join("scale-small-postgres"),
                dir.join("scale-big-postgres"),
            ],
            city_dir: dir.clone(),
        };
        let result = measure("postgres", &urls, &city, &args).await;
        for name in &names {
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await?;
        }
        figures.extend(result?);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_header([
            "backend",
            "measurement",
            "value",
            "p50 ms",
            "p99 ms",
            "× baseline",
            "target",
            "",
        ]);
    for f in &figures {
        table.add_row([
            f.backend.clone(),
            f.name.clone(),
            format!("{:.1} {}", f.value, f.unit),
            f.p50_ms.map(|v| format!("{v:.2}")).unwrap_or_default(),
            f.p99_ms.map(|v| format!("{v:.2}")).unwrap_or_default(),
            match (f.ratio, f.spread) {
                (Some(v), Some((lo, hi))) => format!("{v:.2} ({lo:.2}–{hi:.2})"),
                (Some(v), None) => format!("{v:.2}"),
                _ => String::new(),
            },
            f.target.clone(),
            if f.target.starts_with("reference") {
                String::new()
            } else if f.pass {
                "PASS".into()
            } else {
                "FAIL".into()
            },
        ]);
    }
    say!("{table}");
    for f in figures.iter().filter(|f| f.note.is_some()) {
        say!(
            "{} {}: {}",
            f.backend,
            f.name,
            f.note.as_deref().unwrap_or_default()
        );
    }
    for f in &figures {
        if !f.pass {
            let limit = f.limit.clone().unwrap_or_else(|| {
                "jejak's own cost: no baseline of the machine is below the target".into()
            });
            say!("missed: {} {} — limited by {limit}", f.backend, f.name);
        }
    }
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let report = serde_json::json!({ "machine": { "cores": cores, "os": std::env::consts::OS }, "figures": figures });
    std::fs::write(&args.json_out, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", args.json_out.display()))?;
    eprintln!("every figure is in {}", args.json_out.display());
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("jejak-bench-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}
