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
