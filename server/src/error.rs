//! The one place where domain, store and view errors become gRPC statuses
//! (DESIGN.md, "Errors at the edge"):
//!
//! | error | code |
//! |---|---|
//! | invalid input | INVALID_ARGUMENT, naming the field (also in metadata `jejak-field`) |
//! | not allowed | PERMISSION_DENIED, with the reason |
//! | unknown id | NOT_FOUND |
//! | exists already | ALREADY_EXISTS |
//! | wrong state, missing sign-off or guard | FAILED_PRECONDITION, naming the state and what is missing |
//! | expected-version conflict | ABORTED, with the actual version (metadata `jejak-actual-version`) |
//! | view too slow for read-your-writes | DEADLINE_EXCEEDED |
//! | storage trouble | UNAVAILABLE or INTERNAL, without internals |

use jejak_engine::codec::DecodeError;
use jejak_engine::domain::DomainError;
use jejak_engine::engine::CommandError;
use jejak_engine::store::StoreError;
use jejak_engine::workflow::WorkflowError;
use jejak_projections::WaitError;
use jejak_projections::views::ViewError;
use tonic::{Code, Status};

/// Turns an error into the status a client sees.
pub trait IntoStatus {
    /// The status.
    fn into_status(self) -> Status;
}

/// INVALID_ARGUMENT naming `field`.
pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Status {
    let mut status = Status::invalid_argument(format!("invalid {field}: {reason}"));
    if let Ok(value) = field.parse() {
        status.metadata_mut().insert("jejak-field", value);
    }
    status
}

impl IntoStatus for DomainError {
    fn into_status(self) -> Status {
        match &self {
            Self::Invalid { field, reason } => invalid(field, reason),
            Self::Forbidden(_) => Status::permission_denied(self.to_string()),
            Self::NotFound { .. } => Status::not_found(self.to_string()),
            Self::AlreadyExists { .. } => Status::already_exists(self.to_string()),
            Self::WrongState { .. } | Self::Precondition { .. } => {
                Status::failed_precondition(self.to_string())
            }
        }
    }
}

impl IntoStatus for StoreError {
    fn into_status(self) -> Status {
        match &self {
            Self::InvalidInput { field, reason } => invalid(field, reason),
            Self::WrongExpectedVersion { actual, .. } => {
                let mut status = Status::aborted(self.to_string());
                if let Ok(value) = actual
                    .map_or_else(|| "none".to_owned(), |v| v.to_string())
                    .parse()
                {
                    status.metadata_mut().insert("jejak-actual-version", value);
                }
                status
            }
            Self::StreamTypeMismatch { .. } => Status::failed_precondition(self.to_string()),
            Self::RequestIdReused { .. } => invalid("request_id", &self),
            Self::Unavailable(_) | Self::Closed => Status::unavailable(self.to_string()),
            Self::Internal(_) => Status::internal(self.to_string()),
        }
    }
}

impl IntoStatus for WorkflowError {
    fn into_status(self) -> Status {
        invalid("workflow", self)
    }
}

impl IntoStatus for DecodeError {
    fn into_status(self) -> Status {
        tracing::error!(error = %self, "a stored event does not decode");
        Status::internal(format!(
            "a stored event (position {}) cannot be read; the server log has details",
            self.position
        ))
    }
}

impl IntoStatus for CommandError {
    fn into_status(self) -> Status {
        match self {
            Self::Domain(e) => e.into_status(),
            Self::Store(e) => e.into_status(),
            Self::Workflow(e) => {
                // A stream's own definition gone missing is the server's
                // trouble; a definition sent by the caller is theirs.
                if e.problem.contains("not registered") || e.problem.contains("content differs") {
                    Status::failed_precondition(e.to_string())
                } else {
                    e.into_status()
                }
            }
            Self::Decode(e) => e.into_status(),
            Self::RequestIdReused { .. } => invalid("request_id", self),
            Self::Contention { .. } => Status::aborted(self.to_string()),
        }
    }
}

impl IntoStatus for WaitError {
    fn into_status(self) -> Status {
        match self {
            Self::UnknownView(_) => Status::not_found(self.to_string()),
            Self::Timeout { .. } => Status::deadline_exceeded(self.to_string()),
            Self::Failed { .. } => Status::unavailable(self.to_string()),
            Self::Store(e) => e.into_status(),
        }
    }
}

impl IntoStatus for ViewError {
    fn into_status(self) -> Status {
        match self {
            Self::Wait(e) => e.into_status(),
            Self::Store(e) => e.into_status(),
            Self::Corrupt { .. } => Status::new(Code::Internal, self.to_string()),
        }
    }
}

/// `map_err` helper: `.map_err(status)`.
pub fn status(err: impl IntoStatus) -> Status {
    err.into_status()
}
