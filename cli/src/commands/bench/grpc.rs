//! gRPC end to end beside the engine direct: the same command (register an
//! innovation) from 1, 16 and 64 concurrent clients, through a real
//! `jejak serve` process and through an engine in this process with the
//! same read models running, in turns of one second each, every turn
//! starting when both processes' views have caught up. The ratio is the
//! cost of the gRPC layer (transport, tokens, conversion, a second process).

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use jejak_engine::domain::innovation::{Form, Innovation, InnovationCommand, Profile, Source};
use jejak_engine::domain::values::{InnovationId, OpdCode};
use jejak_engine::domain::{Actor, Role};
use jejak_engine::engine::Context;
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
    pub fn start(
        database_url: &str,
        data_dir: &std::path::Path,
        secret: &str,
    ) -> anyhow::Result<Self> {
        Self::start_with(database_url, data_dir, secret, &[])
    }

    /// [`Served::start`] with more environment variables (`JEJAK_*` settings).
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

fn profile(n: u64) -> Profile {
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
    }
}

fn request(id: &str, n: u64) -> pb::RegisterInnovationRequest {
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

/// What one comparison measured.
pub struct Compared {
    pub clients: usize,
    pub direct: (f64, Vec<Duration>),
    pub grpc: (f64, Vec<Duration>),
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

/// Runs the comparison, `seconds` turns of one second each way per number
/// of clients: `direct_url` and `served_url` are two empty databases; the
/// server keeps its data folder in `served_dir`.
pub async fn compare(
    direct_url: &str,
    served_url: &str,
    served_dir: &std::path::Path,
    seconds: u64,
) -> anyhow::Result<(Vec<Compared>, f64)> {
    let secret = uuid::Uuid::now_v7().simple().to_string();
    let keys = Keys::new(secret.as_bytes())?;
    let served = Served::start(served_url, served_dir, &secret)?;
    let token = keys.issue(
        "bench-brida",
        Role::BridaOfficer,
        None,
        Duration::from_secs(3600),
    );
    let channel = tonic::transport::Endpoint::from_shared(served.url.clone())?
        .connect()
        .await?;
    let admin_token = keys.issue("bench-admin", Role::Admin, None, Duration::from_secs(3600));
    let mut admin =
        pb::admin_client::AdminClient::new(tonic::service::interceptor::InterceptedService::new(
            channel.clone(),
            Bearer::new(Some(&admin_token))?,
        ));
    let client: Authed =
        tonic::service::interceptor::InterceptedService::new(channel, Bearer::new(Some(&token))?);

    let store = EventStore::open(direct_url, super::sealed_config()?).await?;
    let app = App::start(store, AppConfig::new(keys)).await?;
    let actor = Actor::new("bench-brida", Role::BridaOfficer);

    let turn = Duration::from_secs(1);
    let mut results = Vec::new();
    for clients in [1usize, 16, 64] {
        let (mut direct, mut grpc) = (Driven::default(), Driven::default());
        for round in 0..seconds.max(1) {
            let engine = app.engine().clone();
            let actor = actor.clone();
            drive(&mut direct, clients, turn, move |c, n| {
                let engine = engine.clone();
                let actor = actor.clone();
                async move {
                    let id = format!("d{clients}-{round}-{c}-{n}");
                    engine
                        .execute::<Innovation>(
                            &id,
                            &Context::new(actor, id.clone()),
                            InnovationCommand::Register {
                                innovation_id: InnovationId::parse(&id)?,
                                profile: profile(n),
                                origin: None,
                            },
                        )
                        .await?;
                    Ok(())
                }
            })
            .await?;
            settle(&app, &mut admin).await?;
            let client = client.clone();
            drive(&mut grpc, clients, turn, move |c, n| {
                let mut innovations =
                    pb::innovations_client::InnovationsClient::new(client.clone());
                async move {
                    let id = format!("g{clients}-{round}-{c}-{n}");
                    innovations.register_innovation(request(&id, n)).await?;
                    Ok(())
                }
            })
            .await?;
            settle(&app, &mut admin).await?;
        }
        results.push(Compared {
            clients,
            direct: direct.rate(),
            grpc: grpc.rate(),
        });
    }
    app.stop();
    Ok((results, served.peak_mib()))
}
