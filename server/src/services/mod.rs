//! The tonic services. Each RPC authenticates, converts the request
//! (naming any bad field), lets the engine decide (authorization is the
//! domain's) or reads a view filtered to what the caller may see, and maps
//! errors through [`crate::error`].

mod admin;
pub(crate) mod audit;
mod cohorts;
mod innovations;
mod mentoring;
mod projects;
mod proofs;
mod seminars;

use jejak_engine::domain::change_project::{ChangeProject, ProjectCommand};
use jejak_engine::domain::cohort::{Cohort, CohortCommand};
use jejak_engine::domain::innovation::{Innovation, InnovationCommand};
use jejak_engine::domain::values::{InnovationId, ProjectId};
use jejak_engine::domain::{Actor, Role};
use jejak_projections::views::{InnovationRow, ProjectRow};
use jejak_proto::v1 as pb;
use tonic::{Request, Response, Status};

use crate::App;
use crate::convert::{context, domain, written};
use crate::error::status;

type Written = Result<Response<pb::WriteResult>, Status>;

impl App {
    pub(crate) fn actor<T>(&self, request: &Request<T>) -> Result<Actor, Status> {
        self.keys().actor(request)
    }

    pub(crate) async fn on_project(
        &self,
        actor: &Actor,
        request_id: &str,
        project_id: &str,
        body: ProjectCommand,
    ) -> Written {
        let id = ProjectId::parse(project_id).map_err(domain)?;
        let ctx = context(actor, request_id)?;
        let outcome = self
            .engine()
            .execute::<ChangeProject>(id.as_str(), &ctx, body)
            .await
            .map_err(status)?;
        Ok(Response::new(written(outcome)))
    }

    pub(crate) async fn on_innovation(
        &self,
        actor: &Actor,
        request_id: &str,
        innovation_id: &str,
        body: InnovationCommand,
    ) -> Written {
        let id = InnovationId::parse(innovation_id).map_err(domain)?;
        let ctx = context(actor, request_id)?;
        let outcome = self
            .engine()
            .execute::<Innovation>(id.as_str(), &ctx, body)
            .await
            .map_err(status)?;
        Ok(Response::new(written(outcome)))
    }

    pub(crate) async fn on_cohort(
        &self,
        actor: &Actor,
        request_id: &str,
        cohort_id: &str,
        body: CohortCommand,
    ) -> Written {
        let ctx = context(actor, request_id)?;
        let outcome = self
            .engine()
            .execute::<Cohort>(cohort_id, &ctx, body)
            .await
            .map_err(status)?;
        Ok(Response::new(written(outcome)))
    }
}

/// PERMISSION_DENIED unless the actor acts in one of `roles`.
pub(crate) fn require(actor: &Actor, roles: &[Role], what: &str) -> Result<(), Status> {
    if roles.contains(&actor.role) {
        return Ok(());
    }
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Err(Status::permission_denied(format!(
        "a {} may not {what}; only {} may",
        actor.role,
        names.join(" or ")
    )))
}

/// Whether the actor may see a project: their own (participant), their
/// participants' (mentor, coach, examiner), their cohort's (organizer);
/// auditors and BRIDA see all.
pub(crate) fn can_see_project(actor: &Actor, row: &ProjectRow) -> bool {
    match actor.role {
        Role::Participant => row.participant_nip == actor.id,
        Role::Mentor => row.mentor == actor.id,
        Role::Coach => row.coach == actor.id,
        Role::Examiner => row.examiners.contains(&actor.id),
        Role::Organizer => row.organizer == actor.id,
        Role::Auditor | Role::BridaOfficer | Role::System => true,
        Role::InnovationOfficer | Role::Admin => false,
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
