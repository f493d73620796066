//! jejak's gRPC face.
//!
//! [`run`] serves every jejak service on a bound listener until a shutdown
//! future resolves, in the shape of mini-redis's `server::run`: tests bind
//! `127.0.0.1:0`, spawn it, and connect without sleeping. gRPC health and
//! reflection (v1 and v1alpha) are always served.
//!
//! This is the only crate that converts between wire types (`jejak-proto`)
//! and domain types (`jejak-engine`).

use std::future::Future;

use jejak_engine::store::EventStore;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The reflection service could not be built from the descriptors.
    #[error("building the reflection service failed: {0}")]
    Reflection(String),
    /// The transport failed.
    #[error("the gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// What the server serves from.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The event log.
    pub store: EventStore,
}

/// Serves jejak on `listener` until `shutdown` resolves; requests in flight
/// are finished before it returns.
///
/// # Errors
/// [`ServeError`] when the services cannot be built or the transport fails.
pub async fn run(
    listener: TcpListener,
    state: AppState,
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
    tracing::info!(address = ?listener.local_addr().ok(), backend = state.store.backend_name(), "serving gRPC");
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    tracing::info!("server stopped");
    Ok(())
}
