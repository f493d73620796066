//! The scale section (`jejak bench --only scale`): what a big log costs a
//! served process, beside a small one measured in the same run.
//!
//! Two logs are built the same way, the demo city seeded through the
//! engine's commands (`mix.rs`) and then scaled up by renamed copies
//! (`city.rs`): a small one of about [`SMALL`] events and a big one of
//! `--events`. On each, a real `jejak serve`:
//! - starts and applies its views from zero, is stopped, and starts again
//!   (the restart: time until it answers at the head, and its CPU);
//! - answers the reads people make most, one at a time in rounds (p50 and
//!   p99 over every call, and each round's p99 for the spread): the
//!   statistics, the first page of every list, a mentor's inbox and a
//!   cohort's progress, over gRPC, so each figure includes the call;
//! - carries a mixed load, writes of the command mix beside those reads,
//!   from [`CLIENTS`] clients; the big log's rate is judged beside the
//!   small one's.
//!
//! On PostgreSQL the big log is then served by three processes at once:
//! the same mixed load spread over them beside one, the database's
//! transactions per event appended in each, and the time another server
//! takes over the views after the leader hangs (SIGSTOP) and after it is
//! killed (SIGKILL).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use jejak_engine::domain::Role;
use jejak_engine::engine::{Engine, EngineConfig};
use jejak_engine::store::{EventStore, RecordedEvent, StoreConfig};
use jejak_proto::v1 as pb;
use jejak_proto::{Authed, Bearer};
use jejak_server::Keys;

use super::grpc::{self, Served};
use super::{Run, mix, percentile};

/// Events of the small log, beside which the big one is judged.
pub const SMALL: u64 = 10_000;
/// Innovations seeded for the command mix in each log.
const SEEDED: usize = 20;
/// Rounds of each read, and calls per round.
const ROUNDS: usize = 3;
const CALLS: usize = 40;
/// Clients of the mixed load.
const CLIENTS: usize = 16;
/// Of every ten operations of the mixed load, this many are writes.
const WRITES: u64 = 6;

/// One log built for the section, and where its server keeps its data.
struct Log {
    url: String,
    dir: std::path::PathBuf,
    events: u64,
    targets: mix::Targets,
}

/// Seeds `url` with the command mix's city, then scales it up to
/// `events`: its people and master key are the template city's (in
/// `city_dir`), so every copy's participants open as the demo's do.
async fn build(
    backend: &str,
    url: &str,
    dir: &std::path::Path,
    (city_dir, city): (&std::path::Path, &[RecordedEvent]),
    events: u64,
) -> anyhow::Result<Log> {
    std::fs::create_dir_all(dir)?;
    std::fs::copy(
        super::city::master_key_file(city_dir),
        dir.join(jejak_engine::privacy::MASTER_KEY_FILE),
    )?;
    let (seal, master) = grpc::keys_of(dir)?;
    let store = EventStore::open(
        url,
        StoreConfig {
            seal_key: Some(seal),
            ..StoreConfig::default()
        },
    )
    .await
    .with_context(|| format!("cannot open {url}"))?;
    super::city::copy_people(city_dir, &store).await?;
    let engine = Engine::open_with(
        store.clone(),
        std::sync::Arc::new(jejak_engine::clock::SystemClock),
        EngineConfig {
            master_key: Some(master),
            ..EngineConfig::default()
        },
    )
    .await?;
    let targets = mix::seed(&engine, SEEDED).await?;
    let head = store.digest().await?.position;
    let progress = indicatif::ProgressBar::new(events.saturating_sub(head)).with_style(
        indicatif::ProgressStyle::with_template(&format!(
            "[{backend}] a log of {events} events for the scale section [{{bar:40}}] {{pos}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    super::city::scale(&store, city, events, &progress).await?;
    progress.finish_and_clear();
    let events = store.digest().await?.position;
    drop(engine);
    drop(store);
    Ok(Log {
        url: url.to_owned(),
        dir: dir.to_path_buf(),
        events,
        targets,
    })
}

/// CPU seconds a process has spent (user and system), from `/proc`.
fn cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // The fields after the command's name, which is in parentheses.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let ticks: u64 =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            // USER_HZ, 100 on Linux.
            Some(ticks as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

/// Sends `signal` to process `pid`.
fn signal(pid: u32, signal: rustix::process::Signal) -> anyhow::Result<()> {
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid)?).context("a process id")?;
    rustix::process::kill_process(pid, signal)?;
    Ok(())
}

/// A client of one served process with tokens for each reader.
#[derive(Clone)]
struct Clients {
    channel: tonic::transport::Channel,
    keys: Keys,
}

impl Clients {
    async fn connect(url: &str, keys: &Keys) -> anyhow::Result<Self> {
        let channel = tonic::transport::Endpoint::from_shared(url.to_owned())?
            .connect()
            .await?;
        Ok(Self {
            channel,
            keys: keys.clone(),
        })
    }

    fn as_(&self, subject: &str, role: Role) -> anyhow::Result<Authed> {
        let token = self
            .keys
            .issue(subject, role, None, Duration::from_secs(3600));
        Ok(tonic::service::interceptor::InterceptedService::new(
            self.channel.clone(),
            Bearer::new(Some(&token))?,
        ))
    }

    fn admin(&self) -> anyhow::Result<pb::admin_client::AdminClient<Authed>> {
        Ok(pb::admin_client::AdminClient::new(
            self.as_("bench-admin", Role::Admin)?,
        ))
    }

    /// Every view's status as this server tells it.
    async fn statuses(&self) -> anyhow::Result<Vec<pb::ProjectionStatus>> {
        Ok(self
            .admin()?
            .get_projection_status(pb::GetProjectionStatusRequest {})
            .await?
            .into_inner()
            .projections)
    }

    /// Waits until every view this server reports is at `head` or past it.
    async fn at_head(&self, head: u64) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(3_600);
        loop {
            if let Ok(statuses) = self.statuses().await
                && !statuses.is_empty()
                && statuses.iter().all(|p| p.position >= head)
            {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the views did not reach the head"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The reads people make most, each one call.
#[derive(Clone)]
struct Reads {
    brida: Authed,
    auditor: Authed,
    organizer: Authed,
    mentor: Authed,
    cohort: String,
}

/// The reads measured, by name.
const READS: [&str; 6] = [
    "statistics",
    "first page of projects",
    "first page of projects in one state",
    "first page of innovations",
    "a mentor's inbox",
    "cohort progress",
];

impl Reads {
    /// Tokens for each reader; the mentor is the demo's with the most
    /// waiting, the cohort the demo's largest.
    async fn new(clients: &Clients) -> anyhow::Result<Self> {
        let auditor = clients.as_("bench-auditor", Role::Auditor)?;
        let organizer = clients.as_(mix::ORGANIZER, Role::Organizer)?;
        let cohorts = pb::cohorts_client::CohortsClient::new(organizer.clone())
            .list_cohorts(pb::ListCohortsRequest::default())
            .await?
            .into_inner()
            .cohorts;
        let mut best = (0, String::new(), String::new());
        for cohort in &cohorts {
            let projects = pb::change_projects_client::ChangeProjectsClient::new(auditor.clone())
                .list_projects(pb::ListProjectsRequest {
                    page: Some(pb::PageRequest {
                        page_size: 500,
                        page_token: String::new(),
                    }),
                    cohort_id: cohort.cohort_id.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .projects;
            for mentor in projects.iter().map(|p| p.mentor.clone()) {
                let items =
                    pb::mentoring_client::MentoringClient::new(clients.as_(&mentor, Role::Mentor)?)
                        .get_inbox(pb::GetInboxRequest::default())
                        .await?
                        .into_inner()
                        .items
                        .len();
                if items > best.0 {
                    best = (items, mentor, cohort.cohort_id.clone());
                }
            }
        }
        let largest = cohorts
            .iter()
            .max_by_key(|c| c.enrolled)
            .map(|c| c.cohort_id.clone())
            .unwrap_or(best.2);
        Ok(Self {
            brida: clients.as_(mix::BRIDA, Role::BridaOfficer)?,
            auditor,
            organizer,
            mentor: clients.as_(&best.1, Role::Mentor)?,
            cohort: largest,
        })
    }

    /// Read number `which` of [`READS`], once.
    async fn call(&self, which: usize) -> anyhow::Result<()> {
        let page = Some(pb::PageRequest {
            page_size: 50,
            page_token: String::new(),
        });
        match which {
            0 => {
                pb::innovations_client::InnovationsClient::new(self.brida.clone())
                    .get_statistics(pb::GetStatisticsRequest::default())
                    .await?;
            }
            1 | 2 => {
                pb::change_projects_client::ChangeProjectsClient::new(self.auditor.clone())
                    .list_projects(pb::ListProjectsRequest {
                        page,
                        state: if which == 2 {
                            "adopted".into()
                        } else {
                            String::new()
                        },
                        ..Default::default()
                    })
                    .await?;
            }
            3 => {
                pb::innovations_client::InnovationsClient::new(self.brida.clone())
                    .list_innovations(pb::ListInnovationsRequest {
                        page,
                        ..Default::default()
                    })
                    .await?;
            }
            4 => {
                pb::mentoring_client::MentoringClient::new(self.mentor.clone())
                    .get_inbox(pb::GetInboxRequest::default())
                    .await?;
            }
            _ => {
                pb::cohorts_client::CohortsClient::new(self.organizer.clone())
                    .get_cohort_progress(pb::GetCohortProgressRequest {
                        cohort_id: self.cohort.clone(),
                        min_position: 0,
                    })
                    .await?;
            }
        }
        Ok(())
    }
}

/// Each read's latencies: every call, sorted, and each round's p99.
struct Latencies {
    all: Vec<Duration>,
    round_p99: Vec<f64>,
}

/// Times every read, in [`ROUNDS`] rounds of [`CALLS`] calls, the reads
/// taking turns so that the machine's swings fall on all alike.
async fn time_reads(reads: &Reads) -> anyhow::Result<Vec<Latencies>> {
    let mut out: Vec<Latencies> = READS
        .iter()
        .map(|_| Latencies {
            all: Vec::new(),
            round_p99: Vec::new(),
        })
        .collect();
    // Warm: the first call of each opens what later calls reuse.
    for which in 0..READS.len() {
        reads.call(which).await?;
    }
    for _ in 0..ROUNDS {
        let mut round: Vec<Vec<Duration>> = vec![Vec::new(); READS.len()];
        for _ in 0..CALLS {
            for (which, times) in round.iter_mut().enumerate() {
                let t = Instant::now();
                reads.call(which).await?;
                times.push(t.elapsed());
            }
        }
        for (which, mut times) in round.into_iter().enumerate() {
            times.sort();
            out[which].round_p99.push(percentile(&times, 0.99));
            out[which].all.extend(times);
        }
    }
    for latencies in &mut out {
        latencies.all.sort();
    }
    Ok(out)
}

/// What a mixed load did.
struct Mixed {
    per_second: f64,
    writes_per_second: f64,
    turns: Vec<f64>,
    /// PostgreSQL transactions committed per event appended.
    transactions_per_event: Option<f64>,
    /// The whole machine's CPU (every process: servers, database, this
    /// bench) per operation, in ms, and how busy its cores were.
    cpu_ms_per_op: f64,
    busy: f64,
    /// Of that, the servers' processes and the database's.
    servers_ms_per_op: f64,
    database_ms_per_op: f64,
}

/// CPU seconds spent so far (`/proc`): the whole machine's, busy and in
/// all (idle and waiting for the disk count as not busy), the servers'
/// processes' and PostgreSQL's on this machine (0 where none runs here, or
/// on SQLite; a backend that exits between two readings takes its seconds
/// with it, so its difference is a lower bound).
#[derive(Clone, Copy)]
struct CpuSeconds {
    busy: f64,
    all: f64,
    servers: f64,
    database: f64,
}

impl CpuSeconds {
    fn now(pids: &[u32]) -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let ticks: Vec<f64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|t| t.parse().ok())
            .collect();
        let all: f64 = ticks.iter().take(8).sum();
        let idle = ticks.get(3).unwrap_or(&0.0) + ticks.get(4).unwrap_or(&0.0);
        let database = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == "postgres")
            })
            .map(cpu_seconds)
            .sum();
        Self {
            // USER_HZ, 100 on Linux.
            busy: (all - idle) / 100.0,
            all: all / 100.0,
            servers: pids.iter().map(|&pid| cpu_seconds(pid)).sum(),
            database,
        }
    }

    /// What was spent since `earlier`.
    fn since(self, earlier: Self) -> Self {
        Self {
            busy: self.busy - earlier.busy,
            all: self.all - earlier.all,
            servers: self.servers - earlier.servers,
            database: self.database - earlier.database,
        }
    }
}

/// Committed transactions of the PostgreSQL database at `url` so far,
/// and its log's head (`None` on SQLite).
async fn pg_counts(url: &str) -> anyhow::Result<Option<(i64, i64)>> {
    if !url.starts_with("postgres") {
        return Ok(None);
    }
    let pool = sqlx::PgPool::connect(url).await?;
    let counts = sqlx::query_as::<_, (i64, i64)>(
        "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), \
         (SELECT COALESCE(MAX(position), 0) FROM events)",
    )
    .fetch_one(&pool)
    .await?;
    pool.close().await;
    Ok(Some(counts))
}

/// [`CLIENTS`] clients, spread over `servers`, for `seconds` turns of one
/// second: writes of the command mix beside the reads.
async fn mixed(
    log: &Log,
    servers: &[Clients],
    pids: &[u32],
    seconds: u64,
    tag: &str,
) -> anyhow::Result<Mixed> {
    let mut reads = Vec::new();
    let mut callers = Vec::new();
    for clients in servers {
        reads.push(Reads::new(clients).await?);
        callers.push(mix::Callers {
            organizer: clients.as_(mix::ORGANIZER, Role::Organizer)?,
            brida: clients.as_(mix::BRIDA, Role::BridaOfficer)?,
        });
    }
    let before = pg_counts(&log.url).await?;
    let cpu_before = CpuSeconds::now(pids);
    let (mut ops, mut writes, mut elapsed, mut turns) = (0u64, 0u64, Duration::ZERO, Vec::new());
    for round in 0..seconds.max(1) {
        let started = Instant::now();
        let deadline = started + Duration::from_secs(1);
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let reads = reads[c % reads.len()].clone();
                let callers = callers[c % callers.len()].clone();
                let targets = log.targets.clone();
                let tag = tag.to_owned();
                tokio::spawn(async move {
                    let (mut ops, mut writes, mut n) = (0u64, 0u64, 0u64);
                    while Instant::now() < deadline {
                        let h = (c as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                            ^ n.wrapping_mul(0xbf58_476d_1ce4_e5b9);
                        if h % 10 < WRITES {
                            let id = format!("{tag}-{round}-{c}-{n}");
                            mix::grpc(&callers, &targets, c, n, &id).await?;
                            writes += 1;
                        } else {
                            reads.call((h >> 8) as usize % READS.len()).await?;
                        }
                        ops += 1;
                        n += 1;
                    }
                    anyhow::Ok((ops, writes))
                })
            })
            .collect();
        let mut turn_ops = 0;
        for task in tasks {
            let (o, w) = task.await??;
            turn_ops += o;
            writes += w;
        }
        let took = started.elapsed();
        ops += turn_ops;
        elapsed += took;
        turns.push(turn_ops as f64 / took.as_secs_f64());
    }
    let cpu = CpuSeconds::now(pids).since(cpu_before);
    let per_op = |seconds: f64| seconds * 1000.0 / ops.max(1) as f64;
    let transactions_per_event = match (before, pg_counts(&log.url).await?) {
        (Some((xacts, head)), Some((xacts_after, head_after))) if head_after > head => {
            Some((xacts_after - xacts) as f64 / (head_after - head) as f64)
        }
        _ => None,
    };
    Ok(Mixed {
        per_second: ops as f64 / elapsed.as_secs_f64(),
        writes_per_second: writes as f64 / elapsed.as_secs_f64(),
        turns,
        transactions_per_event,
        cpu_ms_per_op: per_op(cpu.busy),
        servers_ms_per_op: per_op(cpu.servers),
        database_ms_per_op: per_op(cpu.database),
        busy: if cpu.all > 0.0 {
            cpu.busy / cpu.all
        } else {
            0.0
        },
    })
}

/// What one log's server showed.
struct Served1 {
    events: u64,
    first_start: Duration,
    restart: Duration,
    restart_cpu: f64,
    reads: Vec<Latencies>,
    mixed: Mixed,
}

/// Starts a server on `log` and waits until it answers at the head:
/// how long that took and the CPU it spent.
async fn start(
    log: &Log,
    dir: &std::path::Path,
    secret: &str,
    keys: &Keys,
) -> anyhow::Result<(Served, Clients, Duration, f64)> {
    let t = Instant::now();
    let served = Served::start_with(&log.url, dir, secret, &[])?;
    let clients = Clients::connect(&served.url, keys).await?;
    clients.at_head(log.events).await?;
    let took = t.elapsed();
    let cpu = cpu_seconds(served.pid());
    Ok((served, clients, took, cpu))
}

/// The figures of one log.
async fn one_log(
    log: &Log,
    secret: &str,
    keys: &Keys,
    seconds: u64,
) -> anyhow::Result<(Served1, Served, Clients)> {
    let (served, _, first_start, _) = start(log, &log.dir, secret, keys).await?;
    served.terminate()?;
    let (served, clients, restart, restart_cpu) = start(log, &log.dir, secret, keys).await?;
    let reads = Reads::new(&clients).await?;
    let latencies = time_reads(&reads).await?;
    let mixed = mixed(
        log,
        std::slice::from_ref(&clients),
        &[served.pid()],
        seconds,
        "mixed-one",
    )
    .await?;
    Ok((
        Served1 {
            events: log.events,
            first_start,
            restart,
            restart_cpu,
            reads: latencies,
            mixed,
        },
        served,
        clients,
    ))
}

/// The read targets at the big log: p99 in ms.
fn read_target(which: usize) -> f64 {
    match READS[which] {
        "statistics" | "cohort progress" => 20.0,
        _ => 10.0,
    }
}

/// Copies the seal and master keys of `from` into a new data folder, for
/// another server of the same deployment.
fn copy_keys(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for name in [
        jejak_engine::store::seal::SEAL_KEY_FILE,
        jejak_engine::privacy::MASTER_KEY_FILE,
    ] {
        std::fs::copy(from.join(name), to.join(name))?;
    }
    Ok(())
}

/// Until every view is applied by one of `servers` other than `gone`
/// (views may be taken over by different servers): how long, and the
/// server that applies the most views then.
async fn takeover(servers: &[Clients], gone: usize) -> anyhow::Result<(Duration, usize)> {
    let t = Instant::now();
    let deadline = t + Duration::from_secs(120);
    loop {
        let mut views: std::collections::BTreeMap<String, Option<usize>> =
            std::collections::BTreeMap::new();
        for (i, clients) in servers.iter().enumerate() {
            if i == gone {
                continue;
            }
            if let Ok(Ok(statuses)) =
                tokio::time::timeout(Duration::from_millis(500), clients.statuses()).await
            {
                for status in statuses {
                    let led = views.entry(status.name).or_default();
                    if status.led_here {
                        *led = Some(i);
                    }
                }
            }
        }
        if !views.is_empty() && views.values().all(Option::is_some) {
            let mut most = vec![0usize; servers.len()];
            for i in views.values().flatten() {
                most[*i] += 1;
            }
            let busiest = (0..servers.len()).max_by_key(|&i| most[i]).unwrap_or(0);
            return Ok((t.elapsed(), busiest));
        }
        anyhow::ensure!(Instant::now() < deadline, "no server took the views over");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Which of `servers` applies the most views now, once every view is applied.
async fn leader(servers: &[Clients]) -> anyhow::Result<usize> {
    Ok(takeover(servers, usize::MAX).await?.1)
}

/// Measures the scale section on one backend: `urls` are two empty
/// databases (small, big) and `dirs` their servers' data folders.
pub async fn measure(
    run: &mut Run,
    urls: [&str; 2],
    dirs: [&std::path::Path; 2],
    city: (&std::path::Path, &[RecordedEvent]),
    events: u64,
    seconds: u64,
) -> anyhow::Result<()> {
    let backend = run.backend;
    let secret = uuid::Uuid::now_v7().simple().to_string();
    let keys = Keys::new(secret.as_bytes())?;
    let mut shown = Vec::new();
    for (size, (url, dir)) in [SMALL, events].into_iter().zip(urls.into_iter().zip(dirs)) {
        eprintln!(
            "[{backend}] scale: a log of {size} events, its server started, restarted, read and loaded …"
        );
        let log = build(backend, url, dir, city, size).await?;
        let (figures, served, clients) = one_log(&log, &secret, &keys, seconds).await?;
        let many = if backend == "postgres" && size == events {
            Some(
                three_servers(
                    run, &log, served, clients, &secret, &keys, seconds, &figures,
                )
                .await?,
            )
        } else {
            drop(served);
            None
        };
        shown.push((figures, many));
    }
    let [(small, _), (big, many)] =
        <[_; 2]>::try_from(shown).map_err(|_| anyhow::anyhow!("two logs measured"))?;
    let (s, b) = (small.events, big.events);
    for (which, name) in READS.iter().enumerate() {
        let (sl, bl) = (&small.reads[which], &big.reads[which]);
        run.add(
            &format!("{name}, {s} events"),
            percentile(&sl.all, 0.99),
            "ms p99",
            Some(&sl.all),
            None,
            "reference".into(),
            true,
        );
        run.spread(sl.round_p99.iter().copied());
        let p99 = percentile(&bl.all, 0.99);
        let target = read_target(which);
        run.add(
            &format!("{name}, {b} events"),
            p99,
            "ms p99",
            Some(&bl.all),
            Some(percentile(&sl.all, 0.99)),
            format!("p99 ≤ {target} ms (over gRPC, one call at a time)"),
            p99 <= target,
        );
        run.spread(bl.round_p99.iter().copied());
        run.note(format!(
            "p99 of each of {ROUNDS} rounds of {CALLS} calls, in ms (the spread column); × baseline: beside the {s}-event log"
        ));
        run.limited_by("jejak: the read beside the same read of a small log".into());
    }
    run.add(
        &format!(
            "mixed load, {s} events ({CLIENTS} clients, {}0% writes)",
            WRITES
        ),
        small.mixed.per_second,
        "operations/s",
        None,
        None,
        format!("reference ({:.0} writes/s)", small.mixed.writes_per_second),
        true,
    );
    run.spread(small.mixed.turns.iter().copied());
    run.add(
        &format!("mixed load, {b} events"),
        big.mixed.per_second,
        "operations/s",
        None,
        Some(small.mixed.per_second),
        format!(
            "≥ 0.8 × at {s} events ({:.0} writes/s)",
            big.mixed.writes_per_second
        ),
        big.mixed.per_second >= 0.8 * small.mixed.per_second,
    );
    run.spread(big.mixed.turns.iter().copied());
    run.limited_by("jejak: the same load on a bigger log".into());
    for (big_log, f) in [(false, &small), (true, &big)] {
        let per_million = f.restart_cpu / (f.events as f64 / 1_000_000.0);
        run.add(
            &format!(
                "restart with current views, {} events: until it answers at the head",
                f.events
            ),
            f.restart.as_secs_f64(),
            "s",
            None,
            Some(f.first_start.as_secs_f64()),
            if big_log {
                "about 1 s, ≤ 1.5 s (× baseline: beside the first start, views applied from zero)"
                    .into()
            } else {
                "reference (× baseline: beside the first start)".into()
            },
            !big_log || f.restart.as_secs_f64() <= 1.5,
        );
        run.add(
            &format!(
                "restart, {} events: CPU until it answers at the head",
                f.events
            ),
            f.restart_cpu,
            "CPU s",
            None,
            None,
            if big_log {
                format!("< 0.5 CPU s per million events ({per_million:.2} per million)")
            } else {
                "reference".into()
            },
            !big_log || per_million < 0.5,
        );
    }
    if let Some(many) = many {
        let one = big.mixed.per_second;
        run.add(
            &format!("mixed load, {b} events, three servers on one database"),
            many.mixed.per_second,
            "operations/s",
            None,
            Some(one),
            "≥ 0.9 × one server".into(),
            many.mixed.per_second >= 0.9 * one,
        );
        run.spread(many.mixed.turns.iter().copied());
        run.limited_by("jejak: round trips of three servers (leases, checkpoints, notices) on two cores shared with the database".into());
        if let (Some(one), Some(three)) = (
            big.mixed.transactions_per_event,
            many.mixed.transactions_per_event,
        ) {
            run.add(
                "PostgreSQL transactions per event appended, one server",
                one,
                "transactions",
                None,
                None,
                "reference".into(),
                true,
            );
            run.add(
                "PostgreSQL transactions per event appended, three servers",
                three,
                "transactions",
                None,
                Some(one),
                "reference (× baseline: beside one server)".into(),
                true,
            );
        }
        for (servers, mixed, baseline) in [
            ("one server", &big.mixed, None),
            ("three servers", &many.mixed, Some(big.mixed.cpu_ms_per_op)),
        ] {
            run.add(
                &format!("mixed load, {b} events, {servers}: the machine's CPU per operation"),
                mixed.cpu_ms_per_op,
                "ms",
                None,
                baseline,
                format!(
                    "reference ({:.0} % of the cores busy; servers {:.2} ms, database {:.2} ms)",
                    mixed.busy * 100.0,
                    mixed.servers_ms_per_op,
                    mixed.database_ms_per_op
                ),
                true,
            );
        }
        for (name, took) in [
            ("takeover after the leader hangs (SIGSTOP)", many.after_stop),
            (
                "takeover after the leader is killed (SIGKILL)",
                many.after_kill,
            ),
        ] {
            run.add(
                name,
                took.as_secs_f64(),
                "s",
                None,
                None,
                "≤ 10 s".into(),
                took <= Duration::from_secs(10),
            );
        }
    }
    Ok(())
}

/// What three servers on one database showed.
struct Many {
    mixed: Mixed,
    after_stop: Duration,
    after_kill: Duration,
}

/// Two more servers beside `served` on the big log: the mixed load over
/// the three, then the takeovers.
#[allow(clippy::too_many_arguments)]
async fn three_servers(
    run: &Run,
    log: &Log,
    served: Served,
    clients: Clients,
    secret: &str,
    keys: &Keys,
    seconds: u64,
    _one: &Served1,
) -> anyhow::Result<Many> {
    eprintln!(
        "[{}] scale: three servers on one database, then takeovers …",
        run.backend
    );
    let mut processes = vec![served];
    let mut servers = vec![clients];
    for k in 1..3 {
        let dir = log.dir.with_extension(format!("peer{k}"));
        copy_keys(&log.dir, &dir)?;
        let peer = Served::start_with(&log.url, &dir, secret, &[])?;
        servers.push(Clients::connect(&peer.url, keys).await?);
        processes.push(peer);
    }
    // The peers stand by: each answers once it serves.
    for clients in &servers {
        clients.statuses().await?;
    }
    let pids: Vec<u32> = processes.iter().map(Served::pid).collect();
    let mixed = mixed(log, &servers, &pids, seconds, "mixed-three").await?;
    // The leader hangs: another takes over.
    let first = leader(&servers).await?;
    signal(processes[first].pid(), rustix::process::Signal::STOP)?;
    let taken = takeover(&servers, first).await;
    signal(processes[first].pid(), rustix::process::Signal::CONT)?;
    let (after_stop, second) = taken?;
    // The new leader is killed: another takes over.
    signal(processes[second].pid(), rustix::process::Signal::KILL)?;
    let (after_kill, _) = takeover(&servers, second).await?;
    drop(processes);
    Ok(Many {
        mixed,
        after_stop,
        after_kill,
    })
}
