//! jejak's read models.
//!
//! A [`Projection`] turns events into JSON documents of one view; the
//! [`Runner`] applies the log to every view in batches, storing each batch's
//! documents and the view's checkpoint in one transaction, so a view killed
//! at any moment resumes without losing or applying twice a single event.
//! It catches up, then follows the log live; rebuilds a view from zero
//! beside the generation being served and then switches; reports each
//! view's position, lag and state; and on PostgreSQL lets exactly one
//! server apply each view. [`views::Views`] answers what each role asks:
//! the project board, the mentor inbox, cohort progress, the innovation
//! register and its statistics, and the activity trail.
//!
//! ```no_run
//! # async fn demo(store: jejak_engine::store::EventStore) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use jejak_projections::{Runner, RunnerConfig, views};
//! let runner = Runner::new(store, RunnerConfig::default()).await?;
//! views::spawn_all(&runner);
//! let views = views::Views::new(runner, Duration::from_secs(5));
//! let inbox = views.inbox("mentor-1", chrono::Utc::now(), None).await?;
//! # Ok(()) }
//! ```
//!
//! It depends on `jejak-engine` only; it knows nothing of gRPC.

mod check;
mod db;
mod projection;
mod runner;
mod terms;
pub mod views;

pub use check::{Difference, DifferenceKind, ViewCheck};
pub use db::postgres_migrator;
pub use projection::{Beside, Docs, Projection, ProjectionError};
pub use runner::{Change, RunState, Runner, RunnerConfig, Status, WaitError};
