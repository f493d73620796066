//! What every write request carries: a request id that names one command,
//! and optionally the stream version the caller saw.
//!
//! A command's fingerprint is SHA-256 over the RPC's path (which the edge
//! layer hands over, [`Rpc`]) and the request's protobuf encoding (prost
//! writes the fields of a message in field order and drops unknown ones,
//! so one request always encodes to the same bytes). The engine keeps it with the events the request wrote
//! and refuses the same request id sent again with another fingerprint.

use chrono::{DateTime, Utc};
use jejak_engine::engine::Context;
use jejak_proto::v1 as pb;
use sha2::{Digest as _, Sha256};
use tonic::{Request, Status};

use crate::App;
use crate::auth::OCCURRED_AT_HEADER;
use crate::convert::context;
use crate::edge::Rpc;

/// A request that writes: idempotent by request id, optionally guarded by
/// the stream version the caller saw.
pub(crate) trait WriteRequest: prost::Message + Sized {
    /// The caller's request id (empty: one is made up).
    fn request_id(&self) -> &str;
    /// The stream version the caller expects, if any.
    fn expected_version(&self) -> Option<u64> {
        None
    }
}

macro_rules! write_requests {
    ($($message:ty),* $(,)?) => {
        $(impl WriteRequest for $message {
            fn request_id(&self) -> &str {
                &self.request_id
            }
            fn expected_version(&self) -> Option<u64> {
                self.expected_version
            }
        })*
    };
}

write_requests!(
    pb::OpenCohortRequest,
    pb::EnrolParticipantRequest,
    pb::AmendEnrolmentRequest,
    pb::ProjectAction,
    pb::ProposeRequest,
    pb::ReviseProposalRequest,
    pb::SubmitEvidenceRequest,
    pb::SubmitFinalReportRequest,
    pb::ReasonRequest,
    pb::MarkReadyRequest,
    pb::MilestoneDecision,
    pb::ProjectReplicationRequest,
    pb::ProposalSeminarRequest,
    pb::FinalSeminarRequest,
    pb::SetGradeRequest,
    pb::RegisterInnovationRequest,
    pb::JudgeFeasibilityRequest,
    pb::DesignateRequest,
    pb::DatedRequest,
    pb::InnovationReplicationRequest,
    pb::AddEvidenceRequest,
    pb::RecordAwardRequest,
    pb::ChangeCohortWorkflowRequest,
    pb::CorrectProposalSeminarRequest,
    pb::CorrectFinalSeminarRequest,
    pb::CorrectGradeRequest,
    pb::AmendProfileRequest,
    pb::PlanChangeRequest,
);

// Writes with no stream version for the caller to expect: a revocation and
// an erasure apply whatever came before them, and a workflow definition
// carries its own version (registering one that exists with other content
// is refused).
impl WriteRequest for pb::RevokeTokensRequest {
    fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl WriteRequest for pb::StartWorkplacePhaseAllRequest {
    fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl WriteRequest for pb::AddUnitRequest {
    fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl WriteRequest for pb::RenameUnitRequest {
    fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl WriteRequest for pb::ErasePersonRequest {
    fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl WriteRequest for pb::RegisterWorkflowRequest {
    fn request_id(&self) -> &str {
        &self.request_id
    }
}

/// The fingerprint of `message` sent to `rpc`.
fn fingerprint(rpc: &str, message: &impl prost::Message) -> String {
    let mut hash = Sha256::new();
    hash.update(rpc.as_bytes());
    hash.update([0]);
    hash.update(message.encode_to_vec());
    hex::encode(hash.finalize())
}

impl App {
    /// Authenticates a write and makes its command context: the caller's
    /// namespaced request id, the command's fingerprint, the expected version.
    pub(crate) fn command<T: WriteRequest>(
        &self,
        request: Request<T>,
    ) -> Result<(Context, T), Status> {
        let caller = self.caller(&request)?;
        let occurred_at = backdated(&request, caller.backdate)?;
        let actor = caller.actor;
        let rpc = request
            .extensions()
            .get::<Rpc>()
            .map(|rpc| rpc.0.clone())
            .unwrap_or_default();
        let message = request.into_inner();
        let ctx = context(&actor, message.request_id())?
            .with_fingerprint(fingerprint(&rpc, &message))
            .expecting(message.expected_version());
        let ctx = match occurred_at {
            Some(at) => ctx.occurred_at(at),
            None => ctx,
        };
        Ok((ctx, message))
    }
}

/// When a write's fact happened, from the header [`OCCURRED_AT_HEADER`]
/// (ADR 0030): honoured only for a token carrying the claim `backdate`,
/// refused with PERMISSION_DENIED for any other; `None` without it.
fn backdated<T>(request: &Request<T>, may: bool) -> Result<Option<DateTime<Utc>>, Status> {
    let Some(value) = request.metadata().get(OCCURRED_AT_HEADER) else {
        return Ok(None);
    };
    if !may {
        return Err(Status::permission_denied(format!(
            "this token may not backdate a write ({OCCURRED_AT_HEADER}); send the write without \
             it, or load a history with a token from `jejak token issue --backdate`"
        )));
    }
    let at = value
        .to_str()
        .ok()
        .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok())
        .ok_or_else(|| {
            Status::invalid_argument(format!(
                "{OCCURRED_AT_HEADER} must be an RFC 3339 time, e.g. 2025-06-02T09:00:00+07:00"
            ))
        })?;
    Ok(Some(at.with_timezone(&Utc)))
}
