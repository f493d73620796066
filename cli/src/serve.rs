//! `jejak serve` and `jejak token issue`.

mod limits;
mod notify;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use jejak_engine::domain::Role;
use jejak_engine::domain::values::{Nip, OpdCode, PersonId};
use jejak_engine::privacy::{MASTER_KEY_FILE, MasterKey};
use jejak_engine::store::seal::SEAL_KEY_FILE;
use jejak_engine::store::{EventStore, SealKey, StoreConfig};
use jejak_server::auth::{ClaimNames, Grant, JwksSource, OidcConfig, OidcIssuer};
use jejak_server::evidence::{EvidenceConfig, EvidenceStore};
use jejak_server::{App, AppConfig, Keys, Tls};
use tracing_subscriber::EnvFilter;

/// The optional config file: any of these keys; flags and `JEJAK_*`
/// environment variables win over it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    token_secret: Option<String>,
    token_secret_file: Option<PathBuf>,
    token_issuer: Option<String>,
    token_audience: Option<String>,
    oidc: Option<OidcFile>,
    region: Option<String>,
    time_zone: Option<String>,
    #[serde(default)]
    opds: Vec<String>,
    log_level: Option<String>,
    log_json: Option<bool>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    seal_key: Option<PathBuf>,
    master_key_file: Option<PathBuf>,
    origin: Option<String>,
    checkpoint_dir: Option<PathBuf>,
    checkpoint_every_events: Option<u64>,
    checkpoint_every_minutes: Option<u64>,
    db_connections: Option<u32>,
    cached_states: Option<usize>,
    /// Limits on streams and connections (a `[limits]` table).
    limits: Option<limits::LimitsFile>,
    /// Retention of personal data per category (a `[retention]` table).
    retention: Option<RetentionFile>,
    /// Evidence files (an `[evidence]` table).
    evidence: Option<EvidenceFile>,
    /// Notification channels (a `[notify]` table, ADR 0032).
    notify: Option<notify::NotifyFile>,
    /// The web portal's address (ADR 0034).
    web_addr: Option<SocketAddr>,
    /// Serve the web portal (default true).
    web: Option<bool>,
    /// The portal's cookies carry Secure (it is reached over TLS).
    web_secure_cookies: Option<bool>,
    /// The portal's address as people open it, for sign-in links and the
    /// identity provider's redirect.
    web_url: Option<String>,
    /// How long a portal session lasts, in hours (default 12).
    web_session_hours: Option<u64>,
    /// The portal's own certificate and key (default: tls_cert and tls_key).
    web_tls_cert: Option<PathBuf>,
    web_tls_key: Option<PathBuf>,
    /// Signing in to the portal through the region's identity provider (a
    /// `[web_oidc]` table, ADR 0036).
    web_oidc: Option<WebOidcFile>,
}

/// The portal's sign-in through an identity provider, in the config file's
/// `[web_oidc]` table. The client secret is read from a file (or the
/// variable JEJAK_WEB_OIDC_CLIENT_SECRET), never written here.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WebOidcFile {
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret_file: Option<PathBuf>,
}

/// Where evidence files live, in the config file's `[evidence]` table.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EvidenceFile {
    store: Option<String>,
    max_bytes: Option<u64>,
    media_types: Option<Vec<String>>,
}

/// Retention periods in days, in the config file's `[retention]` table.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionFile {
    participant_days: Option<u32>,
    reads_days: Option<u32>,
}

/// An external OpenID Connect issuer, in the config file's `[oidc]` table.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OidcFile {
    issuer: Option<String>,
    audience: Option<String>,
    jwks: Option<String>,
    #[serde(default)]
    claims: Option<ClaimNames>,
    #[serde(default)]
    roles: std::collections::BTreeMap<String, String>,
}

fn config_file(path: Option<&Path>) -> anyhow::Result<ConfigFile> {
    let Some(path) = path else {
        return Ok(ConfigFile::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("the config file {} is not valid", path.display()))
}

/// The log's origin when none is configured.
pub const DEFAULT_ORIGIN: &str = "jejak.local/log";

/// Where the server keeps its files and which database holds the log.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// A TOML config file (keys: listen, data_dir, database_url,
    /// token_secret_file, token_secret, token_issuer, token_audience, [oidc],
    /// region, time_zone, opds, log_level, log_json, tls_cert, tls_key, web_addr,
    /// web, web_secure_cookies, web_url, web_session_hours, web_tls_cert,
    /// web_tls_key, [web_oidc]); flags and
    /// JEJAK_* variables win over it.
    #[arg(long, env = "JEJAK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Folder for the server's files (the SQLite log, the token secret); created if missing. Default: data
    #[arg(long, env = "JEJAK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The log's database: sqlite://FILE or postgres://USER@HOST/DB. Default: sqlite://DATA_DIR/jejak.db
    #[arg(long, env = "JEJAK_DATABASE_URL")]
    pub database_url: Option<String>,
    /// A file holding the token secret (at least 32 bytes, raw or hex). Default: DATA_DIR/jwt-secret, generated on first start.
    #[arg(long, env = "JEJAK_TOKEN_SECRET_FILE")]
    pub token_secret_file: Option<PathBuf>,
    /// The token secret itself. Avoid it: a command line is visible to every user of the machine; prefer --token-secret-file or JEJAK_TOKEN_SECRET.
    #[arg(long)]
    pub token_secret: Option<String>,
    /// The issuer (iss) of jejak's own tokens, issued and required. Default: jejak
    #[arg(long, env = "JEJAK_TOKEN_ISSUER")]
    pub token_issuer: Option<String>,
    /// The audience (aud) of jejak's own tokens, issued and required. Default: jejak
    #[arg(long, env = "JEJAK_TOKEN_AUDIENCE")]
    pub token_audience: Option<String>,
    /// The Ed25519 key that seals every batch and signs checkpoints (a signed-note
    /// private key file). Default: DATA_DIR/seal-key, generated (mode 0600) on first start.
    /// Servers sharing one PostgreSQL log share this file.
    #[arg(long, env = "JEJAK_SEAL_KEY")]
    pub seal_key: Option<PathBuf>,
    /// The master key (32 bytes, 64 hex digits) that every person's data key is
    /// wrapped under. Default: DATA_DIR/master-key, generated (mode 0600) on first
    /// start. Keep a copy apart from the database: without it no personal data opens.
    #[arg(long, env = "JEJAK_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// The log's name in checkpoints (the key's name, given when the key is generated;
    /// no spaces or '+'). Default: jejak.local/log
    #[arg(long, env = "JEJAK_ORIGIN")]
    pub origin: Option<String>,
}

/// The environment variable that may hold the token secret.
const SECRET_VAR: &str = "JEJAK_TOKEN_SECRET";

impl DataArgs {
    fn file(&self) -> anyhow::Result<ConfigFile> {
        config_file(self.config.as_deref())
    }

    /// The identity provider the portal signs in through, as configured
    /// (`JEJAK_WEB_OIDC_ISSUER`, else the config file's `[web_oidc]`).
    pub fn web_oidc_issuer(&self) -> anyhow::Result<Option<String>> {
        Ok(std::env::var("JEJAK_WEB_OIDC_ISSUER")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .or(self.file()?.web_oidc.and_then(|o| o.issuer))
            .map(|s| s.trim().to_owned()))
    }

    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        Ok(self
            .data_dir
            .clone()
            .or(self.file()?.data_dir)
            .unwrap_or_else(|| PathBuf::from("data")))
    }

    pub fn database_url(&self) -> anyhow::Result<String> {
        match self.database_url.clone().or(self.file()?.database_url) {
            Some(url) => Ok(url),
            None => Ok(format!(
                "sqlite://{}",
                self.data_dir()?.join("jejak.db").display()
            )),
        }
    }

    /// The seal key: from its file, or generated into it on first start.
    pub fn seal_key(&self) -> anyhow::Result<SealKey> {
        let file = self.file()?;
        let path = match self.seal_key.clone().or(file.seal_key) {
            Some(path) => path,
            None => self.data_dir()?.join(SEAL_KEY_FILE),
        };
        let origin = self
            .origin
            .clone()
            .or(file.origin)
            .unwrap_or_else(|| DEFAULT_ORIGIN.to_owned());
        let key = SealKey::load_or_create(&path, &origin)
            .with_context(|| format!("cannot set up the seal key {}", path.display()))?;
        if key.name() != origin && (self.origin.is_some()) {
            anyhow::bail!(
                "the seal key {} is named {:?}, not {origin:?}; the origin is fixed when the key is made",
                path.display(),
                key.name()
            );
        }
        Ok(key)
    }

    /// The master key: from its file, or generated into it on first start.
    pub fn master_key(&self) -> anyhow::Result<MasterKey> {
        let path = match self
            .master_key_file
            .clone()
            .or(self.file()?.master_key_file)
        {
            Some(path) => path,
            None => self.data_dir()?.join(MASTER_KEY_FILE),
        };
        MasterKey::load_or_create(&path)
            .with_context(|| format!("cannot set up the master key {}", path.display()))
    }

    /// The token keys: from --token-secret (with a warning), then
    /// JEJAK_TOKEN_SECRET, --token-secret-file, the config file's
    /// token_secret_file or token_secret, else DATA_DIR/jwt-secret.
    pub fn keys(&self) -> anyhow::Result<Keys> {
        let file = self.file()?;
        if self.token_secret.is_some() {
            eprintln!(
                "warning: --token-secret puts the secret on the command line, where every user of this machine can read it; use --token-secret-file or {SECRET_VAR} instead"
            );
        }
        let secret = self
            .token_secret
            .clone()
            .or_else(|| std::env::var(SECRET_VAR).ok().filter(|s| !s.is_empty()));
        let keys = match (secret, self.token_secret_file.clone()) {
            (Some(secret), _) => {
                Keys::new(secret.as_bytes()).context("the token secret is not usable")?
            }
            (None, Some(path)) => secret_file(&path)?,
            (None, None) => match (file.token_secret_file, file.token_secret) {
                (Some(path), _) => secret_file(&path)?,
                (None, Some(secret)) => {
                    Keys::new(secret.as_bytes()).context("the token secret is not usable")?
                }
                (None, None) => Keys::load_or_create(&self.data_dir()?)
                    .context("cannot set up the token secret")?,
            },
        };
        let issuer = self
            .token_issuer
            .clone()
            .or(file.token_issuer)
            .unwrap_or_else(|| jejak_server::auth::DEFAULT_ISSUER.into());
        let audience = self
            .token_audience
            .clone()
            .or(file.token_audience)
            .unwrap_or_else(|| jejak_server::auth::DEFAULT_AUDIENCE.into());
        Ok(keys.with_issuer(&issuer, &audience))
    }
}

/// Keys from a secret file; warns when others may read it.
fn secret_file(path: &Path) -> anyhow::Result<Keys> {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            eprintln!(
                "warning: the token secret file {} may be read by others; chmod 600 it",
                path.display()
            );
        }
    }
    Keys::from_file(path).context("the token secret file is not usable")
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to serve gRPC on. Default: 127.0.0.1:50051
    #[arg(long, env = "JEJAK_LISTEN")]
    listen: Option<SocketAddr>,
    /// Address to serve the web portal on. Default: 127.0.0.1:8080
    #[arg(long, env = "JEJAK_WEB_ADDR")]
    web_addr: Option<SocketAddr>,
    /// Do not serve the web portal (the config file's `web = false` does the same).
    #[arg(long, env = "JEJAK_NO_WEB")]
    no_web: bool,
    /// The portal's cookies carry Secure: say so when people reach the
    /// portal over TLS ended by a proxy in front of it. (When the portal
    /// serves HTTPS itself they always do.)
    #[arg(long, env = "JEJAK_WEB_SECURE_COOKIES")]
    web_secure_cookies: bool,
    /// How long a portal session lasts after signing in, in hours. Default: 12
    #[arg(long, env = "JEJAK_WEB_SESSION_HOURS", value_parser = clap::value_parser!(u64).range(1..=720))]
    web_session_hours: Option<u64>,
    /// The portal's own PEM certificate chain, for HTTPS (with --web-tls-key).
    /// Default: --tls-cert, so that with TLS configured the portal serves HTTPS too.
    #[arg(long, env = "JEJAK_WEB_TLS_CERT")]
    web_tls_cert: Option<PathBuf>,
    /// The PEM private key for --web-tls-cert.
    #[arg(long, env = "JEJAK_WEB_TLS_KEY")]
    web_tls_key: Option<PathBuf>,
    /// The portal's address as people open it (e.g. https://jejak.example.go.id):
    /// the identity provider sends people back to URL/masuk/daerah/kembali.
    #[arg(long, env = "JEJAK_WEB_URL")]
    web_url: Option<String>,
    /// Sign people in to the portal through this OpenID Connect provider
    /// (its issuer URL; ADR 0036); needs --web-oidc-client-id, a client
    /// secret and --web-url.
    #[arg(long, env = "JEJAK_WEB_OIDC_ISSUER")]
    web_oidc_issuer: Option<String>,
    /// The portal's client id at the identity provider.
    #[arg(long, env = "JEJAK_WEB_OIDC_CLIENT_ID")]
    web_oidc_client_id: Option<String>,
    /// A file holding the portal's client secret at the identity provider
    /// (or set JEJAK_WEB_OIDC_CLIENT_SECRET; never on the command line).
    #[arg(long, env = "JEJAK_WEB_OIDC_CLIENT_SECRET_FILE")]
    web_oidc_client_secret_file: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
    /// PEM certificate chain; serve TLS when given with --tls-key.
    #[arg(long, env = "JEJAK_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "JEJAK_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// The region of this server's city, for innovations registered from adopted projects. Default: Kota Cilegon
    #[arg(long, env = "JEJAK_REGION")]
    region: Option<String>,
    /// The region's time zone, an IANA name: Asia/Jakarta (WIB), Asia/Makassar
    /// (WITA) or Asia/Jayapura (WIT). "Today", due dates and overdue flags are
    /// days there. Default: Asia/Jakarta
    #[arg(long, env = "JEJAK_TIME_ZONE")]
    time_zone: Option<String>,
    /// The city's OPD codes, comma-separated, so statistics show OPDs without innovation.
    #[arg(long, env = "JEJAK_OPDS", value_delimiter = ',')]
    opds: Vec<String>,
    /// Log filter (e.g. info, jejak=debug); RUST_LOG wins when set. Default: info
    #[arg(long, env = "JEJAK_LOG")]
    log_level: Option<String>,
    /// Write logs as JSON lines.
    #[arg(long, env = "JEJAK_LOG_JSON")]
    log_json: bool,
    /// Publish the signed checkpoint into this folder (checkpoint, and checkpoint-SIZE
    /// for each), for witnesses.
    #[arg(long, env = "JEJAK_CHECKPOINT_DIR")]
    checkpoint_dir: Option<PathBuf>,
    /// Publish once this many events were appended since the last. Default: 10000
    #[arg(long, env = "JEJAK_CHECKPOINT_EVERY_EVENTS")]
    checkpoint_every_events: Option<u64>,
    /// Publish at least this often, in minutes, when anything was appended. Default: 60
    #[arg(long, env = "JEJAK_CHECKPOINT_EVERY_MINUTES")]
    checkpoint_every_minutes: Option<u64>,
    /// How many recently used streams' states the server keeps in memory, so that a
    /// command on one decides without reading it again (0: none). Default: 10000
    #[arg(long, env = "JEJAK_CACHED_STATES")]
    cached_states: Option<usize>,
    /// Connections this server opens to the database for its pool (reads,
    /// appends, views, leases); on PostgreSQL one more follows the log's
    /// notifications. Default: 8
    #[arg(long, env = "JEJAK_DB_CONNECTIONS")]
    db_connections: Option<u32>,
    #[command(flatten)]
    limits: limits::LimitArgs,
    #[command(flatten)]
    notify: notify::NotifyArgs,
    /// Days a participant's personal fields are kept after their training
    /// ends, before `jejak privacy retention` lists them. Default: 1826
    #[arg(long, env = "JEJAK_RETENTION_PARTICIPANT_DAYS")]
    retention_participant_days: Option<u32>,
    /// Days a recorded read of personal data is kept. Default: 730
    #[arg(long, env = "JEJAK_RETENTION_READS_DAYS")]
    retention_reads_days: Option<u32>,
    /// Where uploaded evidence files live: a folder, or s3://BUCKET/PREFIX
    /// (configured by the AWS_* variables) for several servers. Default: DATA_DIR/evidence
    #[arg(long, env = "JEJAK_EVIDENCE_STORE")]
    evidence_store: Option<String>,
    /// The largest evidence file accepted, in bytes. Default: 52428800 (50 MiB)
    #[arg(long, env = "JEJAK_EVIDENCE_MAX_BYTES")]
    evidence_max_bytes: Option<u64>,
    /// The media types of evidence files accepted, comma-separated. Default: PDF,
    /// PNG, JPEG, WebP, plain text, CSV, ZIP, Office and OpenDocument files
    #[arg(long, env = "JEJAK_EVIDENCE_MEDIA_TYPES", value_delimiter = ',')]
    evidence_media_types: Vec<String>,
    /// Also accept the tokens of this OpenID Connect issuer (its exact `iss`).
    #[arg(long, env = "JEJAK_OIDC_ISSUER")]
    oidc_issuer: Option<String>,
    /// The audience (aud) the issuer's tokens must name.
    #[arg(long, env = "JEJAK_OIDC_AUDIENCE")]
    oidc_audience: Option<String>,
    /// The issuer's key set (JWKS): a file, or an https:// URL.
    #[arg(long, env = "JEJAK_OIDC_JWKS")]
    oidc_jwks: Option<String>,
}

/// The OIDC issuer configured by flags, variables and the `[oidc]` table.
fn oidc_config(args: &ServeArgs, file: Option<OidcFile>) -> anyhow::Result<Option<OidcConfig>> {
    let file = file.unwrap_or_default();
    let issuer = args.oidc_issuer.clone().or(file.issuer);
    let audience = args.oidc_audience.clone().or(file.audience);
    let jwks = args.oidc_jwks.clone().or(file.jwks);
    match (issuer, audience, jwks) {
        (None, None, None) => Ok(None),
        (Some(issuer), Some(audience), Some(jwks)) => {
            for (external, role) in &file.roles {
                let parsed = Role::parse(role)
                    .map_err(|e| anyhow::anyhow!("[oidc.roles] {external}: {e}"))?;
                if jejak_server::auth::INTERNAL_ROLES.contains(&parsed) {
                    anyhow::bail!(
                        "[oidc.roles] {external}: '{role}' is jejak's own role; map people's roles only"
                    );
                }
            }
            Ok(Some(OidcConfig {
                issuer,
                audience,
                jwks: JwksSource::parse(&jwks),
                claims: file.claims.unwrap_or_default(),
                roles: file.roles,
            }))
        }
        _ => anyhow::bail!(
            "an OIDC issuer needs all of --oidc-issuer, --oidc-audience and --oidc-jwks (or issuer, audience and jwks in [oidc])"
        ),
    }
}

/// The environment variable that may hold the portal's client secret.
const WEB_OIDC_SECRET_VAR: &str = "JEJAK_WEB_OIDC_CLIENT_SECRET";

/// The portal's sign-in through an identity provider, configured by flags,
/// variables and the `[web_oidc]` table; checked without reaching it.
fn web_oidc(
    args: &ServeArgs,
    file: Option<WebOidcFile>,
    web_url: Option<&str>,
) -> anyhow::Result<Option<jejak_web::OidcSettings>> {
    let file = file.unwrap_or_default();
    let issuer = args.web_oidc_issuer.clone().or(file.issuer);
    let client_id = args.web_oidc_client_id.clone().or(file.client_id);
    let secret_file = args
        .web_oidc_client_secret_file
        .clone()
        .or(file.client_secret_file);
    let secret_var = std::env::var(WEB_OIDC_SECRET_VAR)
        .ok()
        .filter(|s| !s.trim().is_empty());
    let Some(issuer) = issuer else {
        if client_id.is_some() || secret_file.is_some() {
            anyhow::bail!(
                "the portal's client id or secret is set but no identity provider: add --web-oidc-issuer (or issuer in [web_oidc])"
            );
        }
        return Ok(None);
    };
    let client_id = client_id.context(
        "signing in through the identity provider needs the portal's client id: --web-oidc-client-id (or client_id in [web_oidc])",
    )?;
    let client_secret = match (secret_var, secret_file) {
        (Some(secret), _) => secret,
        (None, Some(path)) => {
            #[cfg(unix)]
            if let Ok(meta) = std::fs::metadata(&path) {
                use std::os::unix::fs::PermissionsExt as _;
                if meta.permissions().mode() & 0o077 != 0 {
                    eprintln!(
                        "warning: the portal's client secret file {} may be read by others; chmod 600 it",
                        path.display()
                    );
                }
            }
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the client secret file {}", path.display()))?
                .trim()
                .to_owned()
        }
        (None, None) => anyhow::bail!(
            "signing in through the identity provider needs the portal's client secret: \
             --web-oidc-client-secret-file FILE (or client_secret_file in [web_oidc]), or {WEB_OIDC_SECRET_VAR}"
        ),
    };
    let public_url = web_url.context(
        "signing in through the identity provider needs the portal's address as people open it, \
         for the provider to send them back: --web-url https://HOST (or web_url)",
    )?;
    let settings = jejak_web::OidcSettings {
        issuer: issuer.trim().to_owned(),
        client_id: client_id.trim().to_owned(),
        client_secret,
        public_url: public_url.trim().to_owned(),
    };
    settings.check().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Some(settings))
}

fn init_tracing(level: &str, json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Why a SQLite log that exists cannot be written by this process (a
/// read-only file or file system), or `None`.
fn sqlite_file_read_only(url: &str) -> Option<String> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    if !path.exists() {
        return None;
    }
    match std::fs::OpenOptions::new().append(true).open(path) {
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            Some(format!("the log {} is read-only ({err})", path.display()))
        }
        _ => None,
    }
}

/// The file of a `sqlite://` URL, or `None` (PostgreSQL, in memory).
fn sqlite_path(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") {
        return None;
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    (!path.as_os_str().is_empty() && path != Path::new(":memory:")).then(|| path.to_owned())
}

/// Creates an empty SQLite log 0600 before SQLite does (its journal and
/// shared-memory files take the log's mode), whatever the umask.
fn create_private(path: &Path) -> std::io::Result<()> {
    match jejak_server::files::write_private(path, b"") {
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut file = args.data.file()?;
    let level = args
        .log_level
        .clone()
        .or(file.log_level)
        .unwrap_or_else(|| "info".into());
    init_tracing(&level, args.log_json || file.log_json.unwrap_or(false));
    let data_dir = args.data.data_dir()?;
    jejak_server::files::private_dir(&data_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
    let mut keys = args.data.keys()?;
    // The portal's settings are checked before anything starts.
    let web_url = args.web_url.clone().or(file.web_url.clone());
    let web_oidc = web_oidc(&args, file.web_oidc.take(), web_url.as_deref())?;
    let session_hours = args
        .web_session_hours
        .or(file.web_session_hours)
        .unwrap_or(12);
    if !(1..=720).contains(&session_hours) {
        anyhow::bail!(
            "web_session_hours must be between 1 and 720 (30 days); it is {session_hours}"
        );
    }
    if let Some(oidc) = oidc_config(&args, file.oidc)? {
        tracing::info!(issuer = %oidc.issuer, jwks = %oidc.jwks, "accepting the tokens of an OIDC issuer");
        keys = keys.with_oidc(
            OidcIssuer::new(oidc)
                .await
                .context("cannot set up the OIDC issuer")?,
        );
    }
    let url = args.data.database_url()?;
    let sqlite_file = sqlite_path(&url);
    // The read models' file beside the log (ADR 0039), private alike.
    let views_file = sqlite_file.as_deref().map(jejak_engine::store::views_file);
    let read_only = sqlite_file_read_only(&url);
    if let Some(path) = &sqlite_file {
        create_private(path)
            .with_context(|| format!("cannot create the log {}", path.display()))?;
    }
    if let Some(views) = &views_file
        && read_only.is_none()
    {
        create_private(views)
            .with_context(|| format!("cannot create the read models' file {}", views.display()))?;
    }
    if let Some(reason) = &read_only {
        tracing::warn!(
            "{reason}: serving reads only; every write is refused until the file is writable and the server restarts"
        );
    }
    let seal_key = args.data.seal_key()?;
    tracing::info!(key = %seal_key.verifier(), "the log is sealed with this key");
    let store = EventStore::open(
        &url,
        StoreConfig {
            read_only: read_only.is_some(),
            seal_key: Some(seal_key),
            pool_size: args
                .db_connections
                .or(file.db_connections)
                .unwrap_or(StoreConfig::default().pool_size)
                .max(2),
            ..StoreConfig::default()
        },
    )
    .await
    .with_context(|| format!("cannot open the log at {url}"))?;
    if read_only.is_none() {
        for path in sqlite_file.iter().chain(&views_file) {
            jejak_server::files::restrict_database(path)
                .with_context(|| format!("cannot make {} private", path.display()))?;
        }
    }
    if let Some(dir) = args.checkpoint_dir.or(file.checkpoint_dir) {
        jejak_server::publish::spawn(
            store.clone(),
            jejak_server::publish::Publish {
                dir,
                every_events: args
                    .checkpoint_every_events
                    .or(file.checkpoint_every_events)
                    .unwrap_or(10_000)
                    .max(1),
                every: Duration::from_secs(
                    60 * args
                        .checkpoint_every_minutes
                        .or(file.checkpoint_every_minutes)
                        .unwrap_or(60)
                        .max(1),
                ),
            },
        );
    }
    let mut config = AppConfig::new(keys);
    config.runner.holder = server_id(&data_dir)?;
    config.engine.master_key = Some(args.data.master_key()?);
    if let Some(states) = args.cached_states.or(file.cached_states) {
        config.engine.cached_states = states;
    }
    config.engine.region = args
        .region
        .or(file.region)
        .unwrap_or_else(|| "Kota Cilegon".into());
    if let Some(zone) = args.time_zone.or(file.time_zone) {
        config.engine.time_zone = zone.trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "--time-zone '{zone}' is not a time zone; use an IANA name such as Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT)"
            )
        })?;
    }
    config.opds = if args.opds.is_empty() {
        file.opds
    } else {
        args.opds
    };
    config.limits = args.limits.resolve(file.limits)?;
    config.notify = args.notify.resolve(file.notify, &mut config.engine)?;
    let retention_file = file.retention.unwrap_or_default();
    let defaults = jejak_engine::privacy::Retention::default();
    config.retention = jejak_engine::privacy::Retention {
        participant_days: args
            .retention_participant_days
            .or(retention_file.participant_days)
            .unwrap_or(defaults.participant_days),
        reads_days: args
            .retention_reads_days
            .or(retention_file.reads_days)
            .unwrap_or(defaults.reads_days),
    };
    let evidence_file = file.evidence.unwrap_or_default();
    let evidence_store = match args.evidence_store.or(evidence_file.store) {
        Some(url) if url.contains("://") => EvidenceStore::url(&url),
        Some(folder) => EvidenceStore::folder(Path::new(&folder)),
        None => EvidenceStore::folder(&data_dir.join("evidence")),
    }
    .context("cannot open the evidence store")?;
    tracing::info!(
        store = evidence_store.describe(),
        "evidence files are kept here"
    );
    let media_types = if args.evidence_media_types.is_empty() {
        evidence_file.media_types.unwrap_or_default()
    } else {
        args.evidence_media_types
    };
    config.evidence = EvidenceConfig {
        store: evidence_store,
        max_bytes: args
            .evidence_max_bytes
            .or(evidence_file.max_bytes)
            .unwrap_or(jejak_server::evidence::DEFAULT_MAX_BYTES),
        media_types: if media_types.is_empty() {
            EvidenceConfig::default().media_types
        } else {
            media_types
                .iter()
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .collect()
        },
    };
    let tls = match (
        args.tls_cert.clone().or(file.tls_cert),
        args.tls_key.clone().or(file.tls_key),
    ) {
        (Some(cert), Some(key)) => Some(Tls {
            cert: read(&cert)?,
            key: read(&key)?,
        }),
        (None, None) => None,
        _ => anyhow::bail!("TLS needs both a certificate (--tls-cert) and a key (--tls-key)"),
    };
    // The portal's HTTPS: its own certificate, else the gRPC service's.
    let web_tls = match (
        args.web_tls_cert.clone().or(file.web_tls_cert),
        args.web_tls_key.clone().or(file.web_tls_key),
    ) {
        (Some(cert), Some(key)) => Some(Tls {
            cert: read(&cert)?,
            key: read(&key)?,
        }),
        (None, None) => tls.as_ref().map(|tls| Tls {
            cert: tls.cert.clone(),
            key: tls.key.clone(),
        }),
        _ => anyhow::bail!(
            "the portal's TLS needs both a certificate (--web-tls-cert) and a key (--web-tls-key)"
        ),
    };
    let log = store.clone();
    let app = App::start(store, config)
        .await
        .context("the server could not start")?;
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 50051)));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}; is another server running there?"))?;
    // The web portal (ADR 0034): same process, same app, its own address.
    let web = if args.no_web || file.web == Some(false) {
        None
    } else {
        let addr = web_addr(args.web_addr, file.web_addr);
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!(
                "cannot serve the web portal on {addr}; is another server running there? \
                 (choose another with --web-addr, or --no-web)"
            )
        })?;
        if let Some(oidc) = &web_oidc {
            tracing::info!(issuer = %oidc.issuer, "the portal signs in through the region's identity provider");
        }
        Some((
            listener,
            jejak_web::WebConfig {
                secure_cookies: args.web_secure_cookies
                    || file.web_secure_cookies.unwrap_or(false)
                    || web_tls.is_some(),
                session_ttl: Duration::from_secs(session_hours * 3600),
                oidc: web_oidc,
            },
        ))
    };
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stopping.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let portal = web.map(|(listener, config)| {
        let app = app.clone();
        let stop = until_stopped(stopped.clone());
        tokio::spawn(async move {
            jejak_web::serve(listener, app, config, web_tls.as_ref(), stop).await
        })
    });
    let served = jejak_server::run(listener, app, tls, until_stopped(stopped))
        .await
        .context("the server stopped with an error");
    if let Some(portal) = portal {
        if served.is_err() {
            // The gRPC side failed before any signal: the portal stops too.
            portal.abort();
        }
        match portal.await {
            Err(err) if err.is_cancelled() => {}
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "the web portal stopped with an error"),
            Err(err) => tracing::warn!(error = %err, "the web portal's task failed"),
        }
    }
    // A SQLite log's file then holds every commit: a copy of the file
    // alone is whole once the server has stopped.
    if let Err(err) = log.checkpoint_wal().await {
        tracing::warn!(error = %err, "the write-ahead log was not emptied on shutdown");
    }
    served
}

#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// The role: participant, mentor, coach, examiner, organizer, innovation_officer, brida_officer, auditor, admin.
    #[arg(long)]
    role: String,
    /// The subject: a staff user id, or a participant's person id
    /// (`jejak cohort find --nip` prints it).
    #[arg(long, required_unless_present = "nip")]
    subject: Option<String>,
    /// A participant's NIP, instead of (or beside) their person id: the
    /// token carries it in the claim `nip` and the server maps it to the
    /// person id enrolling them recorded (tokens are issued offline, with
    /// the secret, where that mapping is not known).
    #[arg(long)]
    nip: Option<String>,
    /// The OPD an innovation officer acts for.
    #[arg(long)]
    opd: Option<String>,
    /// The training provider an organizer acts for (a code such as
    /// bpsdm-banten): the provider whose workflows they may register.
    #[arg(long)]
    provider: Option<String>,
    /// How long the token is valid, e.g. 30m, 8h, 7d. Default: 8h; for a
    /// sign-in link (--link), 15m.
    #[arg(long, value_parser = parse_ttl)]
    ttl: Option<Duration>,
    /// Print a one-time sign-in link to the web portal instead of a token
    /// (ADR 0034): its first use opens a session in the browser.
    #[arg(long, conflicts_with = "backdate")]
    link: bool,
    /// The portal's address as people open it, for --link (e.g.
    /// https://jejak.example.go.id). Default: the config file's web_url,
    /// else http:// (https:// when TLS is configured: JEJAK_TLS_CERT,
    /// JEJAK_WEB_TLS_CERT, tls_cert or web_tls_cert) and the portal's
    /// address (--web-addr, JEJAK_WEB_ADDR, the config file's web_addr,
    /// else 127.0.0.1:8080).
    #[arg(long, env = "JEJAK_WEB_URL")]
    web_url: Option<String>,
    /// The portal's address, for --link when no --web-url is given.
    #[arg(long, env = "JEJAK_WEB_ADDR")]
    web_addr: Option<SocketAddr>,
    /// The token may also write facts after they happened (the header
    /// x-jejak-occurred-at): for loading a history such as `jejak demo`,
    /// never for daily work (ADR 0030).
    #[arg(long)]
    backdate: bool,
    #[command(flatten)]
    data: DataArgs,
}

fn parse_ttl(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.trim().split_at(
        text.trim()
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.trim().len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration; write e.g. 30m, 8h or 7d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" | "" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("'{text}': use s, m, h or d")),
    };
    if n == 0 {
        return Err("a token must live longer than zero".into());
    }
    Ok(Duration::from_secs(n * seconds))
}

/// Prints a token the local server accepts.
pub fn issue(args: IssueArgs) -> anyhow::Result<()> {
    let role = Role::parse(&args.role).map_err(|e| anyhow::anyhow!("{e}"))?;
    if role == Role::System {
        anyhow::bail!("'system' is jejak itself; issue tokens for people's roles");
    }
    let opd = args
        .opd
        .as_deref()
        .map(OpdCode::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if role == Role::InnovationOfficer && opd.is_none() {
        anyhow::bail!("an innovation officer acts for one OPD: add --opd CODE");
    }
    if args.provider.is_some() && role != Role::Organizer {
        anyhow::bail!("--provider is for organizers: the provider they act for");
    }
    let nip = args
        .nip
        .as_deref()
        .map(Nip::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if nip.is_some() && role != Role::Participant {
        anyhow::bail!("--nip is for participants; staff tokens name their user id with --subject");
    }
    let subject = args.subject.as_deref().map(str::trim).unwrap_or_default();
    if role == Role::Participant && !subject.is_empty() && PersonId::parse(subject).is_err() {
        anyhow::bail!(
            "a participant's --subject is their person id (a UUID; `jejak cohort find --nip` \
             prints it); to name them by NIP use --nip"
        );
    }
    let keys = args.data.keys()?;
    let default_ttl = if args.link { 15 * 60 } else { 8 * 3600 };
    let grant = Grant {
        subject,
        nip: nip.as_ref().map(Nip::as_str),
        role,
        opd: opd.as_ref(),
        provider: args.provider.as_deref().map(str::trim),
        ttl: args.ttl.unwrap_or(Duration::from_secs(default_ttl)),
    };
    if args.link {
        let file = args.data.file()?;
        // The portal serves HTTPS when TLS is configured for it or for gRPC.
        let https = file.tls_cert.is_some()
            || file.web_tls_cert.is_some()
            || ["JEJAK_TLS_CERT", "JEJAK_WEB_TLS_CERT"]
                .iter()
                .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
        let base = match args.web_url.or(file.web_url) {
            Some(url) => url.trim().trim_end_matches('/').to_owned(),
            None => format!(
                "{}://{}",
                if https { "https" } else { "http" },
                web_addr(args.web_addr, file.web_addr)
            ),
        };
        let issued = keys.issue_link(&grant);
        // The link alone on standard output; its id, by which `jejak
        // admin revoke --token-id` refuses it and the session it opens,
        // on standard error.
        eprintln!("link id (jti): {}", issued.id);
        say!("{base}{}?kode={}", jejak_web::SIGN_IN_PATH, issued.token);
        return Ok(());
    }
    let issued = if args.backdate {
        keys.issue_backdating_token(&grant)
    } else {
        keys.issue_token(&grant)
    };
    // The token alone on standard output, for scripts; its id, by which
    // `jejak admin revoke --token-id` refuses it, on standard error.
    eprintln!("token id (jti): {}", issued.id);
    say!("{}", issued.token);
    Ok(())
}

/// The portal's address: the flag (or JEJAK_WEB_ADDR), the config file's,
/// else 127.0.0.1:8080.
fn web_addr(flag: Option<SocketAddr>, file: Option<SocketAddr>) -> SocketAddr {
    flag.or(file)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)))
}

/// This server's id (ADR 0029), kept in `DATA_DIR/server-id` (0600) and
/// made on the first start: the holder of its leases on a shared log, so
/// that a restart takes them back at once instead of waiting for them to
/// lapse. Not personal; names no one.
fn server_id(data_dir: &Path) -> anyhow::Result<uuid::Uuid> {
    let path = data_dir.join("server-id");
    match std::fs::read_to_string(&path) {
        Ok(text) => uuid::Uuid::parse_str(text.trim()).with_context(|| {
            format!(
                "{} does not hold a server id; delete it and start again to make a new one",
                path.display()
            )
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let id = uuid::Uuid::now_v7();
            jejak_server::files::write_private(&path, id.to_string().as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(id)
        }
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}
