//! The client commands, grouped by the person using them.

pub mod admin;
pub mod audit;
pub mod bench;
pub mod changes;
pub mod demo;
pub mod evidence;
mod files;
mod init_db;
pub mod innovation;
pub mod people;
pub mod privacy;
pub mod proofs;
