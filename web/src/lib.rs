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
//!   every POST. OpenID Connect sign-in is not part of the portal yet.
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
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

struct Inner {
    app: App,
    config: WebConfig,
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
        Self {
            inner: Arc::new(Inner { app, config }),
        }
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
    let portal = Portal::new(app, config);
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

/// Serves the portal on `listener` until `shutdown` resolves; requests in
/// flight finish first (the inbox's live streams end when the app closes
/// its streams).
///
/// # Errors
/// When the listener fails.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: App,
    config: WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(address = ?listener.local_addr().ok(), "serving the web portal");
    let closing = app.clone();
    axum::serve(listener, router(app, config))
        .with_graceful_shutdown(async move {
            shutdown.await;
            closing.close_streams();
        })
        .await
}
