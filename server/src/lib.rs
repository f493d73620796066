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
pub mod error;
pub mod publish;
mod services;

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
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, ServerTlsConfig};

pub use auth::Keys;
pub use convert::MAX_PAGE_SIZE;
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
    /// The reflection service could not be built from the descriptors.
    #[error("building the reflection service failed: {0}")]
    Reflection(String),
    /// The TLS certificate or key could not be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The transport failed.
    #[error("the gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
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
        }
    }
}

struct Inner {
    engine: Engine,
    views: Views,
    config: AppConfig,
    /// Stops the read models and process managers.
    stop: watch::Sender<bool>,
    /// Ends the streaming calls (inbox watches, log follows) when shutdown begins.
    closing: watch::Sender<bool>,
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
        let engine =
            Engine::open_with(store.clone(), config.clock.clone(), config.engine.clone()).await?;
        let runner = Runner::new(store, config.runner.clone()).await?;
        views::spawn_all(&runner);
        let views = Views::new(runner, config.read_your_writes);
        let (stop, mut stopped) = watch::channel(false);
        let managers = ProcessManagers::new(engine.clone());
        let tick = config.timer_tick;
        tokio::spawn(async move {
            managers
                .run(tick, async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        });
        let (closing, _) = watch::channel(false);
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                views,
                config,
                stop,
                closing,
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

    /// The token keys.
    pub fn keys(&self) -> &Keys {
        &self.inner.config.keys
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
    ] {
        health
            .set_service_status(service, tonic_health::ServingStatus::Serving)
            .await;
    }
    let limit = app.inner.config.max_request_bytes;
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(tls.cert, tls.key)))
            .map_err(|e| ServeError::Tls(e.to_string()))?;
    }
    tracing::info!(address = ?listener.local_addr().ok(), backend = app.engine().store().backend_name(), "serving gRPC");
    let result = builder
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
        // A listener of our own gets no socket options from the builder:
        // without TCP_NODELAY a reply's last frame can wait for the
        // client's delayed acknowledgement.
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), {
            let app = app.clone();
            async move {
                shutdown.await;
                // Unary calls in flight finish; streams that would never end are ended.
                app.close_streams();
            }
        })
        .await;
    app.stop();
    tracing::info!("server stopped");
    Ok(result?)
}
