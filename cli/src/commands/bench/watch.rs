//! Inbox watchers beside the same write load without them, and streams
//! that never read, on a real `jejak serve` process.
//!
//! The board holds 1,000 change projects of 200 mentors (five each). The
//! load is coaches' comments through gRPC from 16 clients, on projects of
//! every mentor; in turns of one second, without watchers and with 200
//! open `WatchInbox` streams (one per mentor, read as items come), each
//! turn starting when the server's views have caught up. Then 400 streams
//! that never read (200 inbox watches, 200 log follows) stay open through
//! the same load, and the server's resident memory is sampled beside what
//! it was before they opened.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use jejak_engine::domain::Role;
use jejak_proto::v1 as pb;
use jejak_proto::{Authed, Bearer};
use jejak_server::Keys;
use tokio_stream::StreamExt as _;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use super::grpc::Served;

/// Mentors on the board, each with [`PROJECTS_PER_MENTOR`] projects.
pub const MENTORS: usize = 200;
const PROJECTS_PER_MENTOR: usize = 5;
/// Participants per cohort.
const COHORT_SIZE: usize = 100;
/// Concurrent clients of the write load.
const CLIENTS: usize = 16;
const COACH: &str = "wi-1";
const ORGANIZER: &str = "bench-organizer";

/// What the watch measurements found.
pub struct Watched {
    /// Comments per second and sorted latencies, without watchers.
    pub without: (f64, Vec<Duration>),
    /// The same, with [`MENTORS`] inbox watches open.
    pub with: (f64, Vec<Duration>),
    /// Resident memory before the streams that never read opened, MiB.
    pub rss_before: f64,
    /// The most resident memory while they were open under load, MiB.
    pub rss_with_stalled: f64,
    /// Streams that never read.
    pub stalled: usize,
    /// Of those, the ones the server closed for not reading (they end
    /// with RESOURCE_EXHAUSTED when read at last).
    pub closed_unread: usize,
}

/// An 18-digit NIP for participant `i` (< 1,000, each its own): born
/// 1970–1989, appointed at 25, sequence 1–999.
fn nip(i: usize) -> String {
    let year = 1970 + i % 20;
    let (month, day) = (1 + i % 12, 1 + i % 28);
    format!(
        "{year:04}{month:02}{day:02}{:04}{month:02}{}{:03}",
        year + 25,
        1 + i % 2,
        1 + i % 999
    )
}

fn mentor(m: usize) -> String {
    format!("bench-mentor-{m:03}")
}

fn cohort(i: usize) -> String {
    format!("pka-2026-b{}", i / COHORT_SIZE)
}

fn proposal(i: usize) -> pb::Proposal {
    let milestone = |id: &str, due: &str| pb::MilestonePlan {
        id: id.into(),
        horizon: pb::Horizon::Short as i32,
        title: format!("Tahap {id}"),
        due: due.into(),
        expected_output: "SK tim efektif, notulen, daftar hadir".into(),
    };
    pb::Proposal {
        title: format!("Layanan daring terpadu {i}"),
        change_area: "Pelayanan perizinan".into(),
        problem: "Antrian panjang di loket".into(),
        baseline: "Rata-rata 3 jam menunggu".into(),
        goal_short_term: "Antrian daring di satu loket".into(),
        goal_medium_term: "Semua loket".into(),
        goal_long_term: String::new(),
        stakeholders: vec![pb::Stakeholder {
            name: "Kepala OPD".into(),
            internal: true,
            influence: pb::Level::High as i32,
            interest: pb::Level::High as i32,
        }],
        team: vec![pb::TeamMember {
            name: "Tim efektif".into(),
            role: "Pelaksana".into(),
        }],
        milestones: vec![
            milestone("m1", "2026-04-15"),
            milestone("m2", "2026-05-15"),
            milestone("m3", "2026-06-15"),
        ],
    }
}

struct Clients {
    keys: Keys,
    /// Connections for the load and for each group of streams.
    channels: Vec<Channel>,
}

impl Clients {
    fn authed(&self, channel: usize, subject: &str, role: Role) -> anyhow::Result<Authed> {
        let token = self
            .keys
            .issue(subject, role, None, Duration::from_secs(3_600));
        self.bearing(channel, &token)
    }

    /// A participant's client, their token naming their NIP.
    fn participant(&self, channel: usize, nip: &str) -> anyhow::Result<Authed> {
        let token = self
            .keys
            .issue_token(&jejak_server::auth::Grant {
                subject: "",
                nip: Some(nip),
                role: Role::Participant,
                opd: None,
                provider: None,
                ttl: Duration::from_secs(3_600),
            })
            .token;
        self.bearing(channel, &token)
    }

    fn bearing(&self, channel: usize, token: &str) -> anyhow::Result<Authed> {
        Ok(InterceptedService::new(
            self.channels[channel % self.channels.len()].clone(),
            Bearer::new(Some(token))?,
        ))
    }
}

/// Runs `work(i)` for `i` in `0..n` from [`CLIENTS`] tasks.
async fn in_parallel<F, Fut>(n: usize, work: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let work = work.clone();
            tokio::spawn(async move {
                for i in (c..n).step_by(CLIENTS) {
                    work(i).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// The board: cohorts, [`MENTORS`] × [`PROJECTS_PER_MENTOR`] participants
/// enrolled and proposing.
async fn seed(clients: &Clients) -> anyhow::Result<Arc<Vec<String>>> {
    let participants = MENTORS * PROJECTS_PER_MENTOR;
    for c in 0..participants.div_ceil(COHORT_SIZE) {
        let mut cohorts = pb::cohorts_client::CohortsClient::new(clients.authed(
            0,
            ORGANIZER,
            Role::Organizer,
        )?);
        cohorts
            .open_cohort(pb::OpenCohortRequest {
                request_id: format!("bench-open-{c}"),
                cohort_id: cohort(c * COHORT_SIZE),
                level: pb::TrainingLevel::Pka as i32,
                provider: "BPSDM Provinsi Banten".into(),
                year: 2026,
                number: 10 + c as u32,
                starts_on: "2026-03-01".into(),
                ends_on: "2026-06-30".into(),
                workflow: String::new(),
                expected_version: None,
                workflow_version: 0,
            })
            .await
            .context("opening a cohort")?;
    }
    // One cohort's enrolments one after another (they change its stream),
    // the cohorts side by side.
    let organizer = clients.authed(0, ORGANIZER, Role::Organizer)?;
    in_parallel(participants.div_ceil(COHORT_SIZE), move |c| {
        let mut cohorts = pb::cohorts_client::CohortsClient::new(organizer.clone());
        async move {
            for i in c * COHORT_SIZE..((c + 1) * COHORT_SIZE).min(participants) {
                cohorts
                    .enrol_participant(pb::EnrolParticipantRequest {
                        request_id: format!("bench-enrol-{i}"),
                        cohort_id: cohort(i),
                        participant: Some(pb::ParticipantInfo {
                            nip: nip(i),
                            name: format!("Peserta {i}"),
                            position: "Kepala Bidang".into(),
                            opd: "dpmptsp".into(),
                        }),
                        mentor: mentor(i % MENTORS),
                        coach: COACH.into(),
                        examiners: vec!["penguji-1".into()],
                        expected_version: None,
                    })
                    .await
                    .context("enrolling a participant")?;
            }
            Ok(())
        }
    })
    .await?;
    let proposers: Vec<Authed> = (0..participants)
        .map(|i| clients.participant(i, &nip(i)))
        .collect::<anyhow::Result<_>>()?;
    // Each participant's project id, as its proposal's answer names it.
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); participants]));
    let written = ids.clone();
    in_parallel(participants, move |i| {
        let mut projects =
            pb::change_projects_client::ChangeProjectsClient::new(proposers[i].clone());
        let written = written.clone();
        async move {
            let stream = projects
                .propose(pb::ProposeRequest {
                    request_id: format!("bench-propose-{i}"),
                    cohort_id: cohort(i),
                    proposal: Some(proposal(i)),
                    expected_version: None,
                })
                .await
                .context("proposing a project")?
                .into_inner()
                .stream_id;
            let id = stream
                .strip_prefix("change_project-")
                .context("a proposal writes a change project's stream")?;
            written.lock().expect("not poisoned")[i] = id.to_owned();
            Ok(())
        }
    })
    .await?;
    let ids = std::mem::take(&mut *ids.lock().expect("not poisoned"));
    Ok(Arc::new(ids))
}

/// Waits until the server's views have applied everything.
async fn settle(admin: &mut pb::admin_client::AdminClient<Authed>) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let status = admin
            .get_projection_status(pb::GetProjectionStatusRequest {})
            .await?
            .into_inner();
        if status.projections.iter().all(|p| p.position >= p.head) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the server's views did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One turn of the load: [`CLIENTS`] coaches comment for `turn`, each on
/// the next project of its own; returns the latencies.
async fn comments(
    coach: &Authed,
    projects_of: &Arc<Vec<String>>,
    turn: Duration,
    tag: &str,
) -> anyhow::Result<Vec<Duration>> {
    let deadline = Instant::now() + turn;
    let projects = MENTORS * PROJECTS_PER_MENTOR;
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let mut client = pb::change_projects_client::ChangeProjectsClient::new(coach.clone());
            let tag = tag.to_owned();
            let projects_of = projects_of.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0usize;
                while Instant::now() < deadline {
                    let i = (c * 7_919 + n * CLIENTS + c) % projects;
                    let t = Instant::now();
                    client
                        .comment(pb::ProjectAction {
                            request_id: format!("bench-comment-{tag}-{c}-{n}"),
                            project_id: projects_of[i].clone(),
                            note: "Perjelas indikator keberhasilan".into(),
                            expected_version: None,
                        })
                        .await?;
                    latencies.push(t.elapsed());
                    n += 1;
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}

/// Opens one inbox watch per mentor, each read by a task of its own;
/// returns once every watch has delivered the mentor's inbox.
async fn open_watchers(clients: &Clients) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let (ready_tx, mut ready) = tokio::sync::mpsc::channel(MENTORS);
    let mut tasks = Vec::new();
    for m in 0..MENTORS {
        let mut mentoring = pb::mentoring_client::MentoringClient::new(clients.authed(
            1 + m,
            &mentor(m),
            Role::Mentor,
        )?);
        let mut stream = mentoring
            .watch_inbox(pb::GetInboxRequest::default())
            .await
            .context("opening an inbox watch")?
            .into_inner();
        let ready_tx = ready_tx.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = 0;
            while let Some(Ok(_)) = stream.next().await {
                seen += 1;
                if seen == PROJECTS_PER_MENTOR {
                    let _ = ready_tx.send(()).await;
                }
            }
        }));
    }
    for _ in 0..MENTORS {
        tokio::time::timeout(Duration::from_secs(60), ready.recv())
            .await
            .context("an inbox watch did not deliver its inbox")?;
    }
    Ok(tasks)
}

/// Resident memory of process `pid` now, in MiB.
fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// Runs the watch measurements against a `jejak serve` of its own on the
/// empty database `url`, keeping its files in `dir`; `seconds` turns each way.
pub async fn measure(url: &str, dir: &std::path::Path, seconds: u64) -> anyhow::Result<Watched> {
    let secret = uuid::Uuid::now_v7().simple().to_string();
    let keys = Keys::new(secret.as_bytes())?;
    // A short stall timeout only shortens the wait before unread streams close.
    let served = Served::start_with(url, dir, &secret, &[("JEJAK_STREAM_STALL_TIMEOUT", "2s")])?;
    let mut channels = Vec::new();
    // One connection for the load, eight for the streams (100 calls each at most).
    for _ in 0..9 {
        channels.push(Endpoint::from_shared(served.url.clone())?.connect().await?);
    }
    let clients = Clients { keys, channels };
    eprintln!(
        "  seeding {} projects of {MENTORS} mentors …",
        MENTORS * PROJECTS_PER_MENTOR
    );
    let projects = seed(&clients).await?;
    let mut admin =
        pb::admin_client::AdminClient::new(clients.authed(0, "bench-admin", Role::Admin)?);
    let coach = clients.authed(0, COACH, Role::Coach)?;
    settle(&mut admin).await?;

    let turn = Duration::from_secs(1);
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let (mut without_time, mut with_time) = (Duration::ZERO, Duration::ZERO);
    for round in 0..seconds.max(1) {
        let t = Instant::now();
        without.extend(comments(&coach, &projects, turn, &format!("a{round}")).await?);
        without_time += t.elapsed();
        settle(&mut admin).await?;
        let watchers = open_watchers(&clients).await?;
        settle(&mut admin).await?;
        let t = Instant::now();
        with.extend(comments(&coach, &projects, turn, &format!("b{round}")).await?);
        with_time += t.elapsed();
        settle(&mut admin).await?;
        for watcher in watchers {
            watcher.abort();
        }
    }
    without.sort();
    with.sort();

    eprintln!("  400 streams that never read, under the same load …");
    settle(&mut admin).await?;
    let pid = served.pid();
    let rss_before = rss_mib(pid);
    let mut stalled_watches = Vec::new();
    let mut follows = Vec::new();
    for m in 0..MENTORS {
        for k in 0..2 {
            let channel = 1 + (2 * m + k) % 8;
            let mut mentoring = pb::mentoring_client::MentoringClient::new(clients.authed(
                channel,
                &mentor(m),
                Role::Mentor,
            )?);
            if k == 0 {
                stalled_watches.push(
                    mentoring
                        .watch_inbox(pb::GetInboxRequest::default())
                        .await
                        .context("opening an inbox watch that never reads")?
                        .into_inner(),
                );
            } else {
                let auditor = format!("bench-auditor-{:02}", m / 8);
                let mut audit = pb::audit_client::AuditClient::new(clients.authed(
                    channel,
                    &auditor,
                    Role::Auditor,
                )?);
                follows.push(
                    audit
                        .follow_log(pb::ReadLogRequest {
                            after_position: 0,
                            ..Default::default()
                        })
                        .await
                        .context("opening a log follow that never reads")?
                        .into_inner(),
                );
            }
        }
    }
    let stalled = stalled_watches.len() + follows.len();
    let sampling = {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let peak = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut peak = 0.0f64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    peak = peak.max(rss_mib(pid));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                peak
            }
        });
        (stop, peak)
    };
    // Long enough for every follow to fill and pass the stall timeout.
    for round in 0..seconds.max(4) {
        comments(&coach, &projects, turn, &format!("c{round}")).await?;
    }
    settle(&mut admin).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    sampling.0.store(true, std::sync::atomic::Ordering::Relaxed);
    let rss_with_stalled = sampling.1.await?.max(rss_mib(pid));

    // Read at last: each follow the server closed ends with RESOURCE_EXHAUSTED.
    let mut closed_unread = 0;
    for mut follow in follows {
        let end = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                match follow.next().await {
                    Some(Ok(_)) => {}
                    Some(Err(status)) => return Some(status.code()),
                    None => return None,
                }
            }
        })
        .await
        .unwrap_or(None);
        if end == Some(tonic::Code::ResourceExhausted) {
            closed_unread += 1;
        }
    }
    drop(stalled_watches);
    Ok(Watched {
        without: (without.len() as f64 / without_time.as_secs_f64(), without),
        with: (with.len() as f64 / with_time.as_secs_f64(), with),
        rss_before,
        rss_with_stalled,
        stalled,
        closed_unread,
    })
}
