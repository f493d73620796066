//! Whole commands, through the engine direct and through gRPC end to end,
//! beside the log's own cost in the same run: the command mix of `mix.rs`
//! from 1 and 64 concurrent clients, through an engine in this process with
//! the read models and process managers running (as a server runs them) and
//! through a real `jejak serve` process, in turns of one second each, every
//! turn starting when both processes' views have caught up. One client is
//! judged beside a single-row INSERT commit on the same database, measured
//! in turn with it; 64 clients beside the log's own append from 64 writers,
//! in turn with them; gRPC beside the engine direct. Each turn's ratio is
//! kept, so the figures state their spread.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use jejak_engine::domain::Role;
use jejak_engine::domain::innovation::{Form, Profile, Source};
use jejak_engine::domain::values::OpdCode;
use jejak_engine::engine::{Engine, EngineConfig};
use jejak_engine::privacy::MasterKey;
use jejak_engine::store::EventStore;
use jejak_proto::v1 as pb;
use jejak_proto::{Authed, Bearer};
use jejak_server::{App, AppConfig, Keys};

/// A `jejak serve` process of the bench's own.
pub struct Served {
    child: Child,
    pub url: String,
}

impl Served {
    /// Starts `jejak serve` on `database_url` with its data folder
    /// `data_dir`, its token secret `secret` and more environment variables
    /// (`JEJAK_*` settings).
    pub fn start_with(
        database_url: &str,
        data_dir: &std::path::Path,
        secret: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut child = Command::new(std::env::current_exe()?)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            // The portal on a free port of its own, never the default one.
            .args(["--web-addr", "127.0.0.1:0"])
            .env("JEJAK_DATABASE_URL", database_url)
            .env("JEJAK_DATA_DIR", data_dir)
            .env("JEJAK_TOKEN_SECRET", secret)
            .env("JEJAK_LOG", "info")
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start jejak serve")?;
        let stderr = child.stderr.take().context("the server's log")?;
        let mut lines = BufReader::new(stderr).lines();
        loop {
            let line = lines
                .next()
                .context("the server stopped before serving")??;
            if line.contains("serving gRPC") {
                break;
            }
        }
        // Keep draining its log so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops it as an operator does (SIGTERM) and waits until it exited.
    pub fn terminate(mut self) -> anyhow::Result<()> {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id())?)
            .context("a process id")?;
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)?;
        self.child.wait()?;
        Ok(())
    }

    /// Peak resident memory so far, in MiB (Linux; 0 elsewhere).
    pub fn peak_mib(&self) -> f64 {
        super::peak_rss_kib(&format!("/proc/{}/status", self.child.id())) as f64 / 1024.0
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn profile(n: u64) -> Profile {
    Profile {
        name: format!("Layanan antar jemput dokumen {n}"),
        opd: OpdCode::parse("disdukcapil").expect("an OPD code"),
        unit: None,
        region: "Kota Cilegon".into(),
        source: Source::OpdInitiative,
        initiator_type: "ASN".into(),
        form: Form::PublicService,
        digital: true,
        sector: "pelayanan publik".into(),
        sdgs: BTreeSet::from([16]),
        goal: "Warga mengurus dokumen tanpa datang".into(),
        benefit: "Antrean berkurang".into(),
        budget: Some(25_000_000),
        legal_basis: None,
    }
}

pub fn request(id: &str, n: u64) -> pb::RegisterInnovationRequest {
    pb::RegisterInnovationRequest {
        expected_version: None,
        request_id: id.to_owned(),
        innovation_id: id.to_owned(),
        name: format!("Layanan antar jemput dokumen {n}"),
        opd: "disdukcapil".into(),
        unit: String::new(),
        region: "Kota Cilegon".into(),
        source: pb::Source::OpdInitiative as i32,
        initiator_type: "ASN".into(),
        form: pb::Form::PublicService as i32,
        digital: true,
        sector: "pelayanan publik".into(),
        sdgs: vec![16],
        goal: "Warga mengurus dokumen tanpa datang".into(),
        benefit: "Antrean berkurang".into(),
        budget: 25_000_000,
        legal_basis: String::new(),
    }
}

/// Commands run and how long they took, over one or more turns.
#[derive(Default)]
struct Driven {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Driven {
    /// Commands per second and the sorted latencies.
    fn rate(mut self) -> (f64, Vec<Duration>) {
        self.latencies.sort();
        (
            self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            self.latencies,
        )
    }
}

/// One turn: `clients` concurrent callers of `call` for `turn`, added to
/// `driven`.
async fn drive<F, Fut>(
    driven: &mut Driven,
    clients: usize,
    turn: Duration,
    call: F,
) -> anyhow::Result<()>
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let deadline = started + turn;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    call(c, n).await?;
                    latencies.push(t.elapsed());
                    n += 1;
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    for task in tasks {
        driven.latencies.extend(task.await??);
    }
    driven.elapsed += started.elapsed();
    Ok(())
}

/// Waits until the views of the engine direct and of the served process
/// have applied every command so far, so that neither measurement pays for
/// the other's backlog (both processes share the machine's cores).
async fn settle(
    app: &App,
    admin: &mut pb::admin_client::AdminClient<Authed>,
) -> anyhow::Result<()> {
    let head = app.engine().store().digest().await?.position;
    let runner = app.views().runner();
    for name in runner.names() {
        runner
            .wait_for(name, head, Duration::from_secs(600))
            .await
            .with_context(|| format!("the engine direct's view {name}"))?;
    }
    // The served process has no call that waits; its status is polled.
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
            "the served process's views did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A rate and its sorted latencies, with the rate of each turn.
#[derive(Default)]
pub struct Rate {
    pub per_second: f64,
    pub latencies: Vec<Duration>,
    pub turns: Vec<f64>,
}

/// One turn's rate, added to a [`Rate`] built over turns.
#[derive(Default)]
struct Turns {
    driven: Driven,
    turns: Vec<f64>,
}

impl Turns {
    fn rate(self) -> Rate {
        let (per_second, latencies) = self.driven.rate();
        Rate {
            per_second,
            latencies,
            turns: self.turns,
        }
    }
}

/// Drives one more turn of `call` into `turns`.
async fn turn<F, Fut>(turns: &mut Turns, clients: usize, call: F) -> anyhow::Result<()>
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let mut one = Driven::default();
    drive(&mut one, clients, Duration::from_secs(1), call).await?;
    turns
        .turns
        .push(one.latencies.len() as f64 / one.elapsed.as_secs_f64());
    turns.driven.elapsed += one.elapsed;
    turns.driven.latencies.extend(one.latencies);
    Ok(())
}

/// What the command measurement found.
pub struct Commands {
    /// The command mix, in words.
    pub mix: String,
    /// Single-row INSERT commits per second, before, between and after the one-client turns.
    pub single: Vec<f64>,
    pub direct_one: Rate,
    pub grpc_one: Rate,
    /// The log's own appends from 64 writers (events per second).
    pub append_many: Rate,
    pub direct_many: Rate,
    pub grpc_many: Rate,
    /// The served process's peak memory, MiB.
    pub server_peak: f64,
}

/// The served process's data folder with its keys, as `jejak serve` finds them.
pub(super) fn keys_of(
    dir: &std::path::Path,
) -> anyhow::Result<(jejak_engine::store::SealKey, MasterKey)> {
    std::fs::create_dir_all(dir)?;
    let seal = jejak_engine::store::SealKey::load_or_create(
        &dir.join(jejak_engine::store::seal::SEAL_KEY_FILE),
        crate::serve::DEFAULT_ORIGIN,
    )?;
    let master = MasterKey::load_or_create(&dir.join(jejak_engine::privacy::MASTER_KEY_FILE))?;
    Ok((seal, master))
}

/// Measures the command mix, `seconds` turns of one second each way:
/// `direct_url` and `served_url` are two empty databases; the server
/// keeps its data folder in `served_dir`.
pub async fn commands(
    direct_url: &str,
    served_url: &str,
    served_dir: &std::path::Path,
    seconds: u64,
    cached_states: Option<usize>,
    innovations: usize,
) -> anyhow::Result<Commands> {
    // The served database is seeded before its server starts, sealed with its key.
    let served_targets = {
        let (seal, master) = keys_of(served_dir)?;
        let store = EventStore::open(
            served_url,
            jejak_engine::store::StoreConfig {
                seal_key: Some(seal),
                ..jejak_engine::store::StoreConfig::default()
            },
        )
        .await?;
        let engine = Engine::open_with(
            store,
            std::sync::Arc::new(jejak_engine::clock::SystemClock),
            EngineConfig {
                master_key: Some(master),
                ..EngineConfig::default()
            },
        )
        .await?;
        super::mix::seed(&engine, innovations).await?
    };
    let secret = uuid::Uuid::now_v7().simple().to_string();
    let keys = Keys::new(secret.as_bytes())?;
    let states = cached_states.map(|n| n.to_string());
    let env: Vec<(&str, &str)> = states
        .iter()
        .map(|n| ("JEJAK_CACHED_STATES", n.as_str()))
        .collect();
    let served = Served::start_with(served_url, served_dir, &secret, &env)?;
    let channel = tonic::transport::Endpoint::from_shared(served.url.clone())?
        .connect()
        .await?;
    let bearing = |subject: &str, role: Role| -> anyhow::Result<Authed> {
        let token = keys.issue(subject, role, None, Duration::from_secs(3600));
        Ok(tonic::service::interceptor::InterceptedService::new(
            channel.clone(),
            Bearer::new(Some(&token))?,
        ))
    };
    let mut admin = pb::admin_client::AdminClient::new(bearing("bench-admin", Role::Admin)?);
    let callers = super::mix::Callers {
        organizer: bearing(super::mix::ORGANIZER, Role::Organizer)?,
        brida: bearing(super::mix::BRIDA, Role::BridaOfficer)?,
    };

    let store = EventStore::open(direct_url, super::sealed_config()?).await?;
    let mut config = AppConfig::new(keys.clone());
    if let Some(states) = cached_states {
        config.engine.cached_states = states;
    }
    let app = App::start(store.clone(), config).await?;
    let direct_targets = super::mix::seed(app.engine(), innovations).await?;
    super::create_baseline_table(&store).await?;
    settle(&app, &mut admin).await?;

    let rounds = seconds.max(1);
    let direct_call = |clients: usize, round: u64| {
        let engine = app.engine().clone();
        let targets = direct_targets.clone();
        move |c: usize, n: u64| {
            let engine = engine.clone();
            let targets = targets.clone();
            async move {
                let id = format!("d{clients}-{round}-{c}-{n}");
                super::mix::direct(&engine, &targets, c, n, &id).await
            }
        }
    };
    let grpc_call = |clients: usize, round: u64| {
        let callers = callers.clone();
        let targets = served_targets.clone();
        move |c: usize, n: u64| {
            let callers = callers.clone();
            let targets = targets.clone();
            async move {
                let id = format!("g{clients}-{round}-{c}-{n}");
                super::mix::grpc(&callers, &targets, c, n, &id).await
            }
        }
    };

    let mut single = vec![super::baseline(&store, 1, 1).await?];
    let (mut direct_one, mut grpc_one) = (Turns::default(), Turns::default());
    for round in 0..rounds {
        turn(&mut direct_one, 1, direct_call(1, round)).await?;
        settle(&app, &mut admin).await?;
        turn(&mut grpc_one, 1, grpc_call(1, round)).await?;
        settle(&app, &mut admin).await?;
        single.push(super::baseline(&store, 1, 1).await?);
    }
    let (mut append_many, mut direct_many, mut grpc_many) =
        (Turns::default(), Turns::default(), Turns::default());
    for round in 0..rounds {
        let t = Instant::now();
        let (rate, latencies) = super::appends(&store, 64, 1, &format!("commands-{round}")).await?;
        append_many.turns.push(rate);
        append_many.driven.elapsed += t.elapsed();
        append_many.driven.latencies.extend(latencies);
        settle(&app, &mut admin).await?;
        turn(&mut direct_many, 64, direct_call(64, round)).await?;
        settle(&app, &mut admin).await?;
        turn(&mut grpc_many, 64, grpc_call(64, round)).await?;
        settle(&app, &mut admin).await?;
    }
    app.stop();
    Ok(Commands {
        mix: direct_targets.describe(),
        single,
        direct_one: direct_one.rate(),
        grpc_one: grpc_one.rate(),
        append_many: append_many.rate(),
        direct_many: direct_many.rate(),
        grpc_many: grpc_many.rate(),
        server_peak: served.peak_mib(),
    })
}
