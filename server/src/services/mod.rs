//! The tonic services. Each RPC authenticates, converts the request
//! (naming any bad field), lets the engine decide (authorization is the
//! domain's) or reads a view filtered to what the caller may see, and maps
//! errors through [`crate::error`].

mod admin;
pub(crate) mod audit;
mod cohort_start;
mod cohorts;
mod detail;
mod evidence;
mod import;
mod innovations;
mod mentoring;
mod notifications;
mod privacy;
mod projects;
mod proofs;
mod requests;
mod seminars;
mod units;

pub(crate) use evidence::attachment_out;

use jejak_engine::domain::change_project::{ChangeProject, ProjectCommand};
use jejak_engine::domain::cohort::{Cohort, CohortCommand};
use jejak_engine::domain::innovation::{Innovation, InnovationCommand};
use jejak_engine::domain::values::{InnovationId, ProjectCode, ProjectId};
use jejak_engine::domain::{Actor, DomainError, Role};
use jejak_engine::engine::{CommandError, Context};
use jejak_projections::views::{InnovationRow, ProjectRow};
use jejak_proto::v1 as pb;
use tonic::{Request, Response, Status};

use crate::App;
use crate::convert::{domain, written};
use crate::error::status;

type Written = Result<Response<pb::WriteResult>, Status>;

impl App {
    pub(crate) fn actor<T>(&self, request: &Request<T>) -> Result<Actor, Status> {
        self.caller(request).map(|verified| verified.actor)
    }

    /// The request's checked token and the actor it names (see [`App::actor`]).
    pub(crate) fn caller<T>(&self, request: &Request<T>) -> Result<crate::auth::Verified, Status> {
        let verified = self.keys().caller(request)?;
        // For the edge's log of refused calls.
        if let Some(caller) = request.extensions().get::<crate::edge::Caller>() {
            caller.set(&verified.actor.id, verified.actor.role.as_str());
        }
        Ok(verified)
    }

    /// The project `given` names: an id, or a code (`pka-2026-9/017`)
    /// resolved in its cohort ([`jejak_engine::engine::Engine::project_id`]).
    pub(crate) async fn project_id(&self, given: &str) -> Result<ProjectId, Status> {
        self.engine().project_id(given).await.map_err(status)
    }

    pub(crate) async fn on_project(
        &self,
        ctx: &Context,
        project_id: &str,
        body: ProjectCommand,
    ) -> Written {
        let id = self.project_id(project_id).await?;
        let outcome = self
            .engine()
            .execute::<ChangeProject>(id.as_str(), ctx, body)
            .await
            .map_err(|err| match err {
                // Named by its code, a project that does not exist (or that
                // the caller may not see) is answered by the code: the
                // answer tells nothing of the id behind it.
                CommandError::Domain(DomainError::NotFound { what, .. })
                    if ProjectCode::looks_like(project_id) =>
                {
                    not_found(what, project_id.trim())
                }
                err => status(err),
            })?;
        Ok(Response::new(written(outcome)))
    }

    pub(crate) async fn on_innovation(
        &self,
        ctx: &Context,
        innovation_id: &str,
        body: InnovationCommand,
    ) -> Written {
        let id = InnovationId::parse(innovation_id).map_err(domain)?;
        let outcome = self
            .engine()
            .execute::<Innovation>(id.as_str(), ctx, body)
            .await
            .map_err(status)?;
        Ok(Response::new(written(outcome)))
    }

    pub(crate) async fn on_cohort(
        &self,
        ctx: &Context,
        cohort_id: &str,
        body: CohortCommand,
    ) -> Written {
        let outcome = self
            .engine()
            .execute::<Cohort>(cohort_id, ctx, body)
            .await
            .map_err(status)?;
        Ok(Response::new(written(outcome)))
    }
}

/// NOT_FOUND for `what` `id`: the answer for one that does not exist and
/// for one the caller may not see alike, word for word the engine's.
/// What a reader of a participant's fields reads (ADR 0022).
pub(crate) const PARTICIPANT_FIELDS: &str = "nip,name,position";
/// What a reader learns who finds a participant by NIP: whose NIP it is
/// and where they are enrolled.
pub(crate) const FOUND_BY_NIP: &str = "nip,enrolments";
/// What a reader of a proposal's sealed names reads (ADR 0024).
pub(crate) const PROPOSAL_NAMES: &str = "team,stakeholders";
/// What a reader of a project's state reads: its participant and its
/// proposal's names.
pub(crate) const PROJECT_FIELDS: &str = "nip,name,position,team,stakeholders";

impl App {
    /// Records that `actor` read the personal data (`what`) of each of
    /// `people` (person ids) in answer to `why` (`Service.Method`), except
    /// their own (`personal_reads`, off the request path).
    pub(crate) async fn record_reads(
        &self,
        actor: &Actor,
        people: Vec<String>,
        what: &str,
        why: &str,
    ) {
        let privacy = self.engine().privacy();
        let at = self.engine().clock().now();
        for person in people {
            if person.is_empty() || person == actor.id {
                continue;
            }
            privacy
                .record_read(jejak_engine::privacy::PersonalRead {
                    at,
                    reader: actor.id.clone(),
                    person,
                    what: what.to_owned(),
                    why: format!("{why} as {}", actor.role),
                })
                .await;
        }
    }

    /// [`App::record_reads`] of the participants of `rows` whose fields
    /// were opened (not erased).
    pub(crate) async fn record_row_reads(&self, actor: &Actor, rows: &[ProjectRow], why: &str) {
        let people = rows
            .iter()
            .filter(|r| r.participant_name != jejak_engine::privacy::ERASED)
            .map(|r| r.participant.clone())
            .collect();
        self.record_reads(actor, people, PARTICIPANT_FIELDS, why)
            .await;
    }
}

pub(crate) fn not_found(what: &'static str, id: &str) -> Status {
    domain(jejak_engine::domain::DomainError::NotFound {
        what,
        id: id.to_owned(),
    })
}

/// PERMISSION_DENIED unless the actor acts in one of `roles`.
pub(crate) fn require(actor: &Actor, roles: &[Role], what: &str) -> Result<(), Status> {
    if roles.contains(&actor.role) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Err(Status::permission_denied(format!(
        "{} may not {what}; only {} may",
        actor.role.a(),
        names.join(" or ")
    )))
}

/// Whether the actor may see a project: their own (participant), their
/// participants' (mentor, coach, examiner), their cohort's (organizer);
/// auditors see all. BRIDA reads the innovation register, not change
/// projects.
pub(crate) fn can_see_project(actor: &Actor, row: &ProjectRow) -> bool {
    match actor.role {
        Role::Participant => row.participant == actor.id,
        Role::Mentor => row.mentor == actor.id,
        Role::Coach => row.coach == actor.id,
        Role::Examiner => row.examiners.contains(&actor.id),
        Role::Organizer => row.organizer == actor.id,
        Role::Auditor | Role::System => true,
        Role::InnovationOfficer | Role::BridaOfficer | Role::Admin => false,
    }
}

/// Whether the actor may see an innovation: an officer their OPD's;
/// auditors and BRIDA all.
pub(crate) fn can_see_innovation(actor: &Actor, row: &InnovationRow) -> bool {
    match actor.role {
        Role::InnovationOfficer => actor.opd.as_ref().is_some_and(|o| o.as_str() == row.opd),
        Role::Auditor | Role::BridaOfficer | Role::System => true,
        _ => false,
    }
}
