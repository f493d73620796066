//! jejak's core: the event log and, later, the deciders and workflows that
//! write to it.
//!
//! - [`store`]: the append-only, hash-chained event log on SQLite (the
//!   embedded default) or PostgreSQL, with group commit, idempotent
//!   appends, subscriptions, snapshots and chain verification.
//!
//! This crate knows nothing of protobuf, gRPC or the command line.

pub mod access;
pub mod clock;
pub mod codec;
pub mod domain;
pub mod engine;
pub mod notifications;
pub mod privacy;
pub mod process;
pub mod rules;
pub mod staff;
mod states;
pub mod store;
mod turns;
pub mod workflow;
