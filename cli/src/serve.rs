//! `jejak serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use jejak_engine::store::{EventStore, StoreConfig};
use tracing_subscriber::EnvFilter;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to serve gRPC on.
    #[arg(long, env = "JEJAK_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Folder for the server's files (the SQLite log by default); created if missing.
    #[arg(long, env = "JEJAK_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// The log's database: sqlite://FILE or postgres://USER@HOST/DB.
    /// Default: sqlite://DATA_DIR/jejak.db
    #[arg(long, env = "JEJAK_DATABASE_URL")]
    database_url: Option<String>,
    /// Log filter (e.g. info, jejak=debug); RUST_LOG wins when set.
    #[arg(long, env = "JEJAK_LOG", default_value = "info")]
    log_level: String,
    /// Write logs as JSON lines.
    #[arg(long, env = "JEJAK_LOG_JSON")]
    log_json: bool,
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

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_tracing(&args.log_level, args.log_json);
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create the data folder {}", args.data_dir.display()))?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", args.data_dir.join("jejak.db").display()));
    let store = EventStore::open(&url, StoreConfig::default())
        .await
        .with_context(|| format!("cannot open the log at {url}"))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; is another server running there?",
                args.listen
            )
        })?;
    jejak_server::run(
        listener,
        jejak_server::AppState { store },
        shutdown_signal(),
    )
    .await
    .context("the server stopped with an error")
}
