//! The client commands, grouped by the person using them.

mod activity;
pub mod admin;
pub mod audit;
pub mod bench;
pub mod changes;
mod cohort_start;
pub mod demo;
pub mod evidence;
mod files;
pub mod import;
mod init_db;
pub mod innovation;
pub mod notifications;
pub mod people;
pub mod portal;
pub mod privacy;
mod project_page;
pub mod proofs;
pub mod report;
mod units;
