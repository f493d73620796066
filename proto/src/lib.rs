//! The jejak wire contract.
//!
//! The `.proto` files under `jejak/v1/` are compiled at build time with
//! protox, so building needs no system `protoc`. This crate exposes the
//! generated messages, the tonic clients and servers, and
//! [`FILE_DESCRIPTOR_SET`] for gRPC reflection.
//!
//! Only `jejak-server` and `jejak-cli` depend on this crate: the engine and
//! the projections know nothing of protobuf.

/// Generated code for the `jejak.v1` package.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations
)]
pub mod v1 {
    tonic::include_proto!("jejak.v1");
}

/// The encoded `FileDescriptorSet` of every jejak proto, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/jejak_descriptor.bin"));

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;

/// Adds `authorization: Bearer <token>` to every request a client sends.
#[derive(Clone, Debug, Default)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    /// An interceptor sending `token` (none: requests go without one).
    ///
    /// # Errors
    /// When the token is not plain ASCII text.
    pub fn new(token: Option<&str>) -> Result<Self, tonic::metadata::errors::InvalidMetadataValue> {
        token
            .map(|t| format!("Bearer {}", t.trim()).parse())
            .transpose()
            .map(Self)
    }
}

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    }
}

/// A channel whose requests carry a bearer token.
pub type Authed = InterceptedService<tonic::transport::Channel, Bearer>;
