//! The client commands, grouped by the person using them.

pub mod admin;
mod cohort_start;
pub mod audit;
pub mod bench;
pub mod demo;
mod files;
mod init_db;
pub mod innovation;
pub mod people;
pub mod privacy;
mod project_page;
pub mod proofs;
mod units;
