//! jejak's web portal: the pages people open in a browser, served by
//! `jejak serve` on its own address beside the gRPC service, in the same
//! process, on the same [`App`] (ADR 0034).
//!
//! What it promises:
//! - **The same rules and words as gRPC.** Every page reads and every form
//!   writes by calling the tonic service functions themselves
//!   (`pb::mentoring_server::Mentoring::approve_milestone(&app, …)`), with a
//!   bearer token minted for the session, so authorization, read-your-writes
//!   and the refusals' words are the service's; a refusal becomes a page
//!   with the HTTP status that fits ([`refusal`]: 401, 403, 404, 409, 413,
//!   422, 503), never a stack trace.
//! - **Server-rendered.** Pages are HTML from compile-time templates
//!   (maud); reading works without JavaScript. A few lines of our own script
//!   (served from the binary) add live updates of the mentor's inbox by
//!   server-sent events.
//! - **Signed in by a one-time link** (`jejak token issue … --link`): its
//!   first use opens a server-side session (a random 256-bit id in an
//!   HttpOnly, SameSite=Strict cookie; the database keeps only its hash),
//!   recorded so that a second use, here or on another server, is refused.
//!   Revoking the link's id or its subject's tokens ends the session at its
//!   next request. Every form carries the session's CSRF token, checked on
//!   every POST.
//! - **Signed in through the region's identity provider** where configured
//!   ([`OidcSettings`], ADR 0036): OpenID Connect's authorization code with
//!   PKCE; an account opens a session only by a grant an administrator
//!   made (`jejak admin portal grant`), and the session is then a link's
//!   session in every way.
//! - **HTTPS** by itself when given a certificate ([`serve`]), cookies
//!   then Secure.
//! - **Indonesian by default**, English by a switch (`?lang=en`, kept in a
//!   cookie), with the command line's own words ([`words`]).
//!
//! ```no_run
//! # async fn example(app: jejak_server::App) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! jejak_web::run(listener, app, jejak_web::WebConfig::default(), async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await
//! # }
//! ```

mod assets;
mod auditor;
mod city;
mod downloads;
mod layout;
mod mentor;
mod oidc;
mod organizer;
mod participant;
pub mod refusal;
pub mod reports;
mod session;
pub mod words;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use jejak_server::App;

pub use oidc::OidcSettings;
pub use session::SIGN_IN_PATH;

/// The portal's default address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// How the portal behaves.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Cookies carry `Secure`: the portal is reached over TLS (directly or
    /// through a proxy that terminates it).
    pub secure_cookies: bool,
    /// How long a session lasts after signing in.
    pub session_ttl: Duration,
    /// Signing in through the region's identity provider (ADR 0036), when
    /// configured.
    pub oidc: Option<OidcSettings>,
}

/// How long a session lasts unless configured: 12 hours.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_ttl: DEFAULT_SESSION_TTL,
            oidc: None,
        }
    }
}

struct Inner {
    app: App,
    config: WebConfig,
    oidc: Option<oidc::Provider>,
}

/// The portal's state: the app it serves and how. Cheap to clone.
#[derive(Clone)]
pub struct Portal {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Portal {
    /// The portal of `app`.
    pub fn new(app: App, config: WebConfig) -> Self {
        let oidc = config
            .oidc
            .clone()
            .and_then(|settings| match oidc::Provider::new(settings) {
                Ok(provider) => Some(provider),
                Err(err) => {
                    // `OidcSettings::check` is there to refuse this at start.
                    tracing::error!(error = %err, "signing in through the identity provider is off");
                    None
                }
            });
        Self {
            inner: Arc::new(Inner { app, config, oidc }),
        }
    }

    /// The identity provider the portal signs in through, if any.
    pub(crate) fn oidc(&self) -> Option<&oidc::Provider> {
        self.inner.oidc.as_ref()
    }

    /// The app it serves.
    pub fn app(&self) -> &App {
        &self.inner.app
    }

    /// How it behaves.
    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }
}

/// The portal's routes over `app`.
pub fn router(app: App, config: WebConfig) -> Router {
    routes(Portal::new(app, config))
}

fn routes(portal: Portal) -> Router {
    // An upload may be as large as the evidence store takes, and a little
    // more for the form around it; past that the upload itself refuses it
    // in the gRPC service's words.
    let upload_limit = usize::try_from(portal.app().evidence().max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(1024 * 1024);
    Router::new()
        .route("/", get(session::home))
        .route(
            SIGN_IN_PATH,
            get(session::sign_in_page).post(session::sign_in),
        )
        .route(oidc::START_PATH, get(oidc::start))
        .route(oidc::RETURN_PATH, get(oidc::back))
        .route("/keluar", post(session::sign_out))
        .route("/proyek", get(participant::my_projects))
        .route(
            "/proyek/bukti",
            post(participant::upload_evidence).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/berkas", get(participant::download))
        .route("/kotak-masuk", get(mentor::inbox))
        .route("/kotak-masuk/langsung", get(mentor::live))
        .route("/keputusan", get(mentor::item).post(mentor::decide))
        .route("/angkatan", get(organizer::board))
        .route("/audit", get(auditor::audit))
        .route("/kota", get(city::city))
        .route("/laporan/register", get(downloads::register))
        .route("/laporan/iid", get(downloads::iid))
        .route("/laporan/rekap", get(downloads::recap))
        .route("/aset/portal.css", get(assets::css))
        .route("/aset/portal.js", get(assets::js))
        .fallback(session::not_found)
        .with_state(portal)
}

/// Serves the portal over plain HTTP on `listener` until `shutdown`
/// resolves: [`serve`] without TLS.
///
/// # Errors
/// When the listener fails.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: App,
    config: WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(listener, app, config, None, shutdown).await
}

/// Serves the portal on `listener` until `shutdown` resolves, over HTTPS
/// when given a certificate and key (PEM; its cookies are then Secure);
/// requests in flight finish first (the inbox's live streams end when the
/// app closes its streams). With an identity provider configured, its
/// metadata is read at start; when it cannot be reached the portal serves
/// anyway and tries again on the first sign-in.
///
/// # Errors
/// When the listener fails, or the certificate or key cannot be used.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    mut config: WebConfig,
    tls: Option<&jejak_server::Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if tls.is_some() {
        config.secure_cookies = true;
    }
    let portal = Portal::new(app.clone(), config);
    if portal.oidc().is_some() {
        let early = portal.clone();
        tokio::spawn(async move {
            if let Some(provider) = early.oidc() {
                let _ = provider.metadata(false).await;
            }
        });
    }
    let router = routes(portal);
    let closing = app;
    let Some(tls) = tls else {
        tracing::info!(address = ?listener.local_addr().ok(), "serving the web portal");
        return axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                shutdown.await;
                closing.close_streams();
            })
            .await;
    };
    let rustls = axum_server::tls_rustls::RustlsConfig::from_pem(tls.cert.clone(), tls.key.clone())
        .await
        .map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the portal's TLS certificate or key cannot be used: {e}"),
            )
        })?;
    tracing::info!(address = ?listener.local_addr().ok(), "serving the web portal over HTTPS");
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        closing.close_streams();
        stopping.graceful_shutdown(Some(Duration::from_secs(30)));
    });
    axum_server::from_tcp_rustls(listener.into_std()?, rustls)?
        .handle(handle)
        .serve(router.into_make_service())
        .await
}
