//! jejak's gRPC face.
//!
//! [`App::start`] brings up everything a server runs on one log: the
//! [`Engine`], the read models ([`Runner`], [`Views`]) and the process
//! managers. [`run`] serves every jejak service on a bound listener until a
//! shutdown future resolves, in the shape of mini-redis's `server::run`:
//! tests bind `127.0.0.1:0`, spawn it, and connect without sleeping. gRPC
//! health and reflection (v1 and v1alpha) are served without a token;
//! everything else needs a bearer token ([`auth`]). Errors become statuses
//! in one place ([`error`]).
//!
//! This is the only crate that converts between wire types (`jejak-proto`)
//! and domain types (`jejak-engine`).

pub mod auth;
mod convert;
mod edge;
pub mod error;
pub mod evidence;
pub mod files;
pub mod import;
pub mod limits;
pub mod publish;
mod services;
mod startup;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jejak_engine::clock::{Clock, SystemClock};
use jejak_engine::engine::{CommandError, Engine, EngineConfig};
use jejak_engine::process::ProcessManagers;
use jejak_engine::store::{EventStore, StoreError};
use jejak_projections::views::{self, Views};
use jejak_projections::{Runner, RunnerConfig};
use jejak_proto::v1 as pb;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::StreamExt as _;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, ServerTlsConfig};

pub use auth::Keys;
pub use convert::MAX_PAGE_SIZE;
pub use limits::Limits;
pub use services::audit::event_out as event_to_wire;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The engine could not open.
    #[error("the engine could not start: {0}")]
    Engine(#[from] CommandError),
    /// The read models could not start.
    #[error("the read models could not start: {0}")]
    Views(#[from] StoreError),
    /// The log could not be read to verify it on start.
    #[error("the log could not be verified: {0}")]
    Verify(StoreError),
    /// The log does not verify: a server does not serve a changed log.
    #[error("the log is not intact at {0}; audit it offline with `jejak audit --db URL verify`")]
    LogBroken(jejak_engine::store::Break),
    /// The reflection service could not be built from the descriptors.
    #[error("building the reflection service failed: {0}")]
    Reflection(String),
    /// The TLS certificate or key could not be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The transport failed.
    #[error("the gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The notifications' channels could not be set up.
    #[error("notifications: {0}")]
    Notify(String),
}

/// How a server behaves.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Signs and checks tokens.
    pub keys: Keys,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// Command handling.
    pub engine: EngineConfig,
    /// The read models.
    pub runner: RunnerConfig,
    /// How long a read waits for the caller's own write (read-your-writes).
    pub read_your_writes: Duration,
    /// How often the overdue timer runs.
    pub timer_tick: Duration,
    /// Largest request, in bytes (default 4 MiB).
    pub max_request_bytes: usize,
    /// The city's OPD codes, so that statistics show OPDs without innovation.
    pub opds: Vec<String>,
    /// How often the server reads new revocations from the log.
    pub revocation_refresh: Duration,
    /// Streams and connections: caps and timeouts.
    pub limits: Limits,
    /// How long personal data is kept, per category (ADR 0022).
    pub retention: jejak_engine::privacy::Retention,
    /// Where evidence files live, how large and of which types (ADR 0026).
    pub evidence: evidence::EvidenceConfig,
    /// How notifications are delivered: SMTP, webhook, retries (ADR 0032).
    pub notify: jejak_notify::NotifyConfig,
}

impl AppConfig {
    /// Defaults around `keys`.
    pub fn new(keys: Keys) -> Self {
        Self {
            keys,
            clock: Arc::new(SystemClock),
            engine: EngineConfig::default(),
            runner: RunnerConfig::default(),
            read_your_writes: Duration::from_secs(5),
            timer_tick: Duration::from_secs(60),
            max_request_bytes: 4 * 1024 * 1024,
            opds: Vec::new(),
            revocation_refresh: Duration::from_secs(1),
            limits: Limits::default(),
            retention: jejak_engine::privacy::Retention::default(),
            evidence: evidence::EvidenceConfig::default(),
            notify: jejak_notify::NotifyConfig::default(),
        }
    }
}

struct Inner {
    engine: Engine,
    views: Views,
    config: AppConfig,
    /// Stops the read models and process managers.
    stop: watch::Sender<bool>,
    /// The process managers' task, which saves the timer's index as it ends.
    managers: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The process managers themselves.
    process: Arc<ProcessManagers>,
    /// Delivers the notifications' outbox (ADR 0032).
    deliverer: Arc<jejak_notify::Deliverer>,
    /// The deliverer's task.
    delivery: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Ends the streaming calls (inbox watches, log follows) when shutdown begins.
    closing: watch::Sender<bool>,
    /// The open inbox watches and log follows, per subject.
    watches: Arc<limits::Watches>,
}

/// Everything a server runs on one log. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("backend", &self.inner.engine.store().backend_name())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Opens the engine on `store`, starts the read models and the process
    /// managers.
    ///
    /// # Errors
    /// [`ServeError`] when the engine or the views cannot start.
    pub async fn start(store: EventStore, config: AppConfig) -> Result<Self, ServeError> {
        startup::verify_log(&store).await?;
        let engine =
            Engine::open_with(store.clone(), config.clock.clone(), config.engine.clone()).await?;
        let runner = Runner::new(
            store,
            RunnerConfig {
                // The register dates its trend in the region's zone (ADR 0035).
                time_zone: config.engine.time_zone,
                ..config.runner.clone()
            },
        )
        .await?;
        views::spawn_all(&runner);
        let views =
            Views::new(runner, config.read_your_writes).with_privacy(engine.privacy().clone());
        let (stop, mut stopped) = watch::channel(false);
        let process =
            Arc::new(ProcessManagers::new(engine.clone()).with_holder(config.runner.holder));
        let tick = config.timer_tick;
        // On a read-only log the reactions and timers could write nothing:
        // they wait for a start on a writable one.
        let read_only = engine.store().config().read_only;
        if !read_only {
            // What the log holds before the first start is history, told to
            // nobody; what comes through this server is news (ADR 0032).
            process.notifier().prepare().await?;
        }
        let managers = {
            let process = process.clone();
            tokio::spawn(async move {
                if read_only {
                    tracing::info!("the log is read-only: process managers and timers do not run");
                    return;
                }
                process
                    .run(tick, async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await;
            })
        };
        let deliverer = Arc::new(
            jejak_notify::Deliverer::new(engine.clone(), config.notify.clone())
                .map_err(|e| ServeError::Notify(e.to_string()))?,
        );
        let delivery = {
            let deliverer = deliverer.clone();
            let holder = config.runner.holder;
            let mut stopped = stop.subscribe();
            tokio::spawn(async move {
                if read_only {
                    return;
                }
                if !deliverer.has_channels() {
                    tracing::info!(
                        "no notification channel configured (--smtp-host, --webhook-url): messages wait in the outbox"
                    );
                    return;
                }
                deliverer
                    .run(holder, async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await;
            })
        };
        config
            .keys
            .revocations()
            .apply(&engine.revocations_after(0).await?);
        {
            let engine = engine.clone();
            let keys = config.keys.clone();
            let every = config.revocation_refresh;
            let mut stopped = stop.subscribe();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let stop = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                tokio::pin!(stop);
                // Erasures by any server sharing the log close this one's
                // cache of the person's key (ADR 0021).
                let mut erasures = 0;
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            refresh_revocations(&engine, &keys).await;
                            match engine.follow_erasures(erasures).await {
                                Ok(version) => erasures = version,
                                Err(err) => tracing::warn!(error = %err, "cannot read new erasures; trying again"),
                            }
                        }
                        () = &mut stop => break,
                    }
                }
            });
        }
        let (closing, _) = watch::channel(false);
        let watches = limits::Watches::new(config.limits.max_watches_per_subject);
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                views,
                config,
                stop,
                managers: std::sync::Mutex::new(Some(managers)),
                process,
                deliverer,
                delivery: std::sync::Mutex::new(Some(delivery)),
                closing,
                watches,
            }),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The read models.
    pub fn views(&self) -> &Views {
        &self.inner.views
    }

    /// The process managers (reactions, timers, notifications).
    pub fn process_managers(&self) -> &ProcessManagers {
        &self.inner.process
    }

    /// Runs at once what the background tasks do in their time: the
    /// reactions and timers as of the clock (overdue milestones,
    /// reminders, weekly summaries), the notifications of what they read,
    /// and one round of delivery of what is due. Tests that move a
    /// `ManualClock` call it instead of waiting.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn notify_now(&self) -> Result<jejak_notify::Delivered, jejak_notify::NotifyError> {
        self.inner.process.run_all_once().await?;
        self.inner.deliverer.deliver_due().await
    }

    /// The token keys.
    pub fn keys(&self) -> &Keys {
        &self.inner.config.keys
    }

    /// Reads the revocations recorded since the last look.
    pub async fn refresh_revocations(&self) {
        refresh_revocations(&self.inner.engine, &self.inner.config.keys).await;
    }

    /// How it keeps evidence files.
    pub fn evidence(&self) -> &evidence::EvidenceConfig {
        &self.inner.config.evidence
    }

    /// The limits it serves under.
    pub fn limits(&self) -> &Limits {
        &self.inner.config.limits
    }

    pub(crate) fn watches(&self) -> &Arc<limits::Watches> {
        &self.inner.watches
    }

    /// Follows how many inbox watches and log follows are open.
    pub fn open_watches(&self) -> watch::Receiver<usize> {
        self.inner.watches.open_now()
    }

    /// Counts the streams ended so far because their client did not read
    /// them ([`Limits::stream_buffer_bytes`]).
    pub fn streams_closed_unread(&self) -> watch::Receiver<u64> {
        self.inner.watches.unread()
    }

    /// Resolves when the server begins to shut down; streaming calls end then.
    pub(crate) async fn closing(&self) {
        let mut closing = self.inner.closing.subscribe();
        let _ = closing.wait_for(|c| *c).await;
    }

    /// Ends every streaming call, so that a graceful shutdown does not wait
    /// for watches that never end.
    pub fn close_streams(&self) {
        let _ = self.inner.closing.send(true);
    }

    /// Stops the read models and process managers (after their current batch).
    pub fn stop(&self) {
        let _ = self.inner.stop.send(true);
        self.inner.views.runner().shutdown();
    }

    /// [`App::stop`], then waits (up to five seconds) for the process
    /// managers to end, saving the timer's index on the way, so that the
    /// next start reads only the log after it.
    pub async fn stop_and_wait(&self) {
        self.stop();
        let managers = self
            .inner
            .managers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(managers) = managers
            && tokio::time::timeout(std::time::Duration::from_secs(5), managers)
                .await
                .is_err()
        {
            tracing::warn!("the process managers did not stop within 5 s");
        }
        let delivery = self
            .inner
            .delivery
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(delivery) = delivery
            && tokio::time::timeout(std::time::Duration::from_secs(5), delivery)
                .await
                .is_err()
        {
            tracing::warn!("the notifications' deliverer did not stop within 5 s");
        }
    }
}

async fn refresh_revocations(engine: &Engine, keys: &Keys) {
    let revoked = keys.revocations();
    match engine.revocations_after(revoked.version()).await {
        Ok(events) => revoked.apply(&events),
        Err(err) => tracing::warn!(error = %err, "cannot read new revocations; trying again"),
    }
}

/// Lets the keys of external issuers be fetched, and the person id of a
/// token's NIP be looked up (asynchronously), before a request's token is
/// checked.
#[derive(Clone, Debug)]
struct PrepareTokens(Keys, jejak_engine::store::EventStore);

impl<S> tower::Layer<S> for PrepareTokens {
    type Service = Prepared<S>;
    fn layer(&self, inner: S) -> Prepared<S> {
        Prepared {
            keys: self.0.clone(),
            store: self.1.clone(),
            inner,
        }
    }
}

#[derive(Clone, Debug)]
struct Prepared<S> {
    keys: Keys,
    store: jejak_engine::store::EventStore,
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for Prepared<S>
where
    S: tower::Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let keys = self.keys.clone();
        let store = self.store.clone();
        Box::pin(async move {
            let mut request = request;
            let authorization = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            keys.prepare(authorization).await;
            // A token naming a NIP: its person id, from the people index.
            // (Not found when the index cannot be read: the call is then
            // answered UNAVAILABLE.)
            if let Some(nip) = keys.nip_of(authorization) {
                match store.find_person(&nip).await {
                    Ok(person) => {
                        request
                            .extensions_mut()
                            .insert(auth::PersonOfNip { nip, person });
                    }
                    Err(err) => tracing::warn!(error = %err, "cannot read the people index"),
                }
            }
            inner.call(request).await
        })
    }
}

/// TLS material, PEM-encoded.
#[derive(Clone, Debug)]
pub struct Tls {
    /// The certificate chain.
    pub cert: Vec<u8>,
    /// The private key.
    pub key: Vec<u8>,
}

/// Serves jejak on `listener` until `shutdown` resolves; requests in flight
/// finish before it returns, then the read models and process managers stop.
///
/// # Errors
/// [`ServeError`] when the services cannot be built or the transport fails.
pub async fn run(
    listener: TcpListener,
    app: App,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(jejak_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    for service in [
        "jejak.v1.Cohorts",
        "jejak.v1.ChangeProjects",
        "jejak.v1.Mentoring",
        "jejak.v1.Seminars",
        "jejak.v1.Innovations",
        "jejak.v1.Audit",
        "jejak.v1.Admin",
        "jejak.v1.Evidence",
        "jejak.v1.Notifications",
    ] {
        health
            .set_service_status(service, tonic_health::ServingStatus::Serving)
            .await;
    }
    let limit = app.inner.config.max_request_bytes;
    let limits = app.limits().clone();
    let mut builder = tonic::transport::Server::builder()
        .max_concurrent_streams(limits.max_streams_per_connection)
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout));
    if let Some(tls) = tls {
        builder = builder
            .tls_config(
                ServerTlsConfig::new()
                    .identity(Identity::from_pem(tls.cert, tls.key))
                    .timeout(limits.handshake_timeout),
            )
            .map_err(|e| ServeError::Tls(e.to_string()))?;
    }
    let builder = builder.layer(PrepareTokens(
        app.keys().clone(),
        app.engine().store().clone(),
    ));
    let connections = limits::Connections::default();
    let builder = builder.layer(limits::CountCalls {
        connections: connections.clone(),
    });
    tracing::info!(address = ?listener.local_addr().ok(), backend = app.engine().store().backend_name(), "serving gRPC");
    let result = builder
        .layer(edge::Edge::default())
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            pb::cohorts_server::CohortsServer::new(app.clone()).max_decoding_message_size(limit),
        )
        .add_service(
            pb::change_projects_server::ChangeProjectsServer::new(app.clone())
                .max_decoding_message_size(limit),
        )
        .add_service(
            pb::mentoring_server::MentoringServer::new(app.clone())
                .max_decoding_message_size(limit),
        )
        .add_service(
            pb::seminars_server::SeminarsServer::new(app.clone()).max_decoding_message_size(limit),
        )
        .add_service(
            pb::innovations_server::InnovationsServer::new(app.clone())
                .max_decoding_message_size(limit),
        )
        .add_service(
            pb::audit_server::AuditServer::new(app.clone()).max_decoding_message_size(limit),
        )
        .add_service(
            pb::admin_server::AdminServer::new(app.clone()).max_decoding_message_size(limit),
        )
        .add_service(
            pb::evidence_server::EvidenceServer::new(app.clone()).max_decoding_message_size(limit),
        )
        .add_service(
            pb::import_server::ImportServer::new(app.clone()).max_decoding_message_size(limit),
        )
        .add_service(
            pb::notifications_server::NotificationsServer::new(app.clone())
                .max_decoding_message_size(limit),
        )
        // A listener of our own gets no socket options from the builder:
        // without TCP_NODELAY a reply's last frame can wait for the
        // client's delayed acknowledgement.
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener)
                .with_nodelay(Some(true))
                .map(move |accepted| {
                    accepted.map(|io| limits::Conn::new(io, &connections, &limits))
                }),
            {
                let app = app.clone();
                async move {
                    shutdown.await;
                    // Unary calls in flight finish; streams that would never end are ended.
                    app.close_streams();
                }
            },
        )
        .await;
    app.stop_and_wait().await;
    tracing::info!("server stopped");
    Ok(result?)
}
