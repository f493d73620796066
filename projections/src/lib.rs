//! jejak's read models.
//!
//! This crate will hold the projection runner (checkpoints stored in the same
//! transaction as the view's writes, catch-up then live following, rebuild
//! beside the serving tables, status and lag) and the views each role asks
//! for: the project board, the mentor inbox, cohort progress, the innovation
//! register and its statistics, and the activity trail.
//!
//! It depends on `jejak-engine` only; it knows nothing of gRPC.
