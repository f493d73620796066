//! `Cohorts.StartWorkplacePhaseAll`: the organizer starts the workplace
//! phase of every project of their cohort that is ready for it, each with
//! a request id derived from the call's, so a retry starts none twice.

use jejak_engine::domain::change_project::{ChangeProject, ProjectCommand};
use jejak_engine::domain::cohort::Cohort;
use jejak_engine::domain::values::{CohortId, ProjectCode, ProjectId};
use jejak_engine::domain::{DomainError, Role};
use jejak_engine::engine::{CommandError, Context};
use jejak_proto::v1 as pb;
use tonic::Status;

use super::not_found;
use crate::App;
use crate::convert::{domain, written};
use crate::error::status;

impl App {
    /// Starts the workplace phase of every ready project of the cohort
    /// `r` names, in enrolment order.
    pub(crate) async fn start_all(
        &self,
        ctx: &Context,
        r: &pb::StartWorkplacePhaseAllRequest,
    ) -> Result<pb::StartWorkplacePhaseAllResponse, Status> {
        let cohort_id = CohortId::parse(&r.cohort_id).map_err(domain)?;
        if ctx.actor.role != Role::Organizer {
            return Err(Status::permission_denied(format!(
                "{} may not start the workplace phase; only the cohort's organizer may",
                ctx.actor.role.a()
            )));
        }
        let cohort = self
            .engine()
            .get::<Cohort>(cohort_id.as_str())
            .await
            .map_err(status)?
            .map(|c| c.state)
            // Another organizer's cohort is answered as one that does not exist.
            .filter(|c| {
                c.facts
                    .as_ref()
                    .is_some_and(|f| f.organizer == ctx.actor.id)
            })
            .ok_or_else(|| not_found("cohort", cohort_id.as_str()))?;
        let mut enrollments: Vec<_> = cohort.enrollments.values().collect();
        enrollments.sort_by_key(|e| e.ordinal);
        let mut out = pb::StartWorkplacePhaseAllResponse::default();
        for enrollment in enrollments {
            let project_id = ProjectId::for_participant(&cohort_id, &enrollment.participant.person);
            let code = if enrollment.ordinal > 0 {
                ProjectCode::new(&cohort_id, enrollment.ordinal).to_string()
            } else {
                String::new()
            };
            let mut derived = ctx.clone();
            derived.request_id = format!("{}/start/{}", ctx.request_id, project_id.as_str());
            derived.expected_version = None;
            let outcome = self
                .engine()
                .execute::<ChangeProject>(
                    project_id.as_str(),
                    &derived,
                    ProjectCommand::StartWorkplacePhase,
                )
                .await;
            let mut row = pb::StartedProject {
                project_id: project_id.as_str().to_owned(),
                code,
                ..Default::default()
            };
            match outcome {
                Ok(outcome) => {
                    row.started = true;
                    row.written = Some(written(outcome));
                    out.started += 1;
                }
                Err(CommandError::Domain(DomainError::NotFound { .. })) => {
                    row.reason = "no proposal yet".into();
                }
                Err(CommandError::Domain(
                    err @ (DomainError::WrongState { .. } | DomainError::Precondition { .. }),
                )) => {
                    let began = self
                        .engine()
                        .get::<ChangeProject>(project_id.as_str())
                        .await
                        .map_err(status)?
                        .and_then(|p| p.state.workplace_started_on);
                    match began {
                        Some(on) => {
                            row.already = true;
                            row.reason = format!("started on {on}");
                        }
                        None => row.reason = err.to_string(),
                    }
                }
                Err(err) => return Err(status(err)),
            }
            out.projects.push(row);
        }
        Ok(out)
    }
}
