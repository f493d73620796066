//! Who may change the rules. A workflow definition has an owner, fixed by
//! its first version: global (shipped, or registered by an operator) or one
//! training provider (registered by an organizer acting for it). Only the
//! owner registers further versions. A cohort pins the definition's name and
//! version when it opens; its projects run under that version, and only the
//! cohort's organizer moves it to another, while none of its projects has
//! left the initial state ([`Engine::change_cohort_workflow`]).

use crate::domain::change_project::{ChangeProject, ProjectCommand};
use crate::domain::cohort::{Cohort, CohortCommand};
use crate::domain::values::ProjectId;
use crate::domain::{Actor, DomainError, Role};
use crate::engine::{CommandError, Context, Engine, Outcome};
use crate::workflow::{Workflow, WorkflowError, WorkflowKind, WorkflowRegistry, owner_label};

/// The owner a definition of `kind` registered by `actor` gets: `None`
/// (global) for operators, the system and BRIDA officers (innovation
/// workflows), the provider an organizer acts for (change-project
/// workflows).
///
/// # Errors
/// [`DomainError::Forbidden`] for any other role or kind, and for an
/// organizer whose token names no provider.
pub fn registering_owner(actor: &Actor, kind: WorkflowKind) -> Result<Option<String>, DomainError> {
    match (actor.role, kind) {
        (Role::Admin | Role::System, _) | (Role::BridaOfficer, WorkflowKind::Innovation) => {
            Ok(None)
        }
        (Role::Organizer, WorkflowKind::ChangeProject) => match &actor.provider {
            Some(provider) => Ok(Some(provider.clone())),
            None => Err(DomainError::forbidden(
                "an organizer registers workflows for the training provider they act for, and this token names none; ask for a token with a 'provider' claim",
            )),
        },
        (_, WorkflowKind::ChangeProject) => Err(DomainError::forbidden(
            "only an organizer (for their provider) or an operator may register change-project workflows",
        )),
        (_, WorkflowKind::Innovation) => Err(DomainError::forbidden(
            "only a brida_officer or an operator may register innovation workflows",
        )),
    }
}

/// Whether a definition owned by `owner` may add `workflow` to the registry:
/// a new name, or a name `owner` owns already, of the same kind.
///
/// # Errors
/// [`DomainError::Forbidden`] when the name belongs to someone else;
/// [`WorkflowError`] when the new version changes the kind.
pub fn may_register(
    registry: &WorkflowRegistry,
    workflow: &Workflow,
    owner: Option<&str>,
) -> Result<(), CommandError> {
    let Some(current) = registry.owner_of(&workflow.name) else {
        return Ok(());
    };
    if current.as_deref() != owner {
        return Err(DomainError::forbidden(format!(
            "workflow {} belongs to {}; nobody else registers versions of it: register your own rules under a name of your own",
            workflow.name,
            owner_label(current.as_deref())
        ))
        .into());
    }
    if let Some(latest) = registry.latest(&workflow.name)
        && latest.kind != workflow.kind
    {
        return Err(WorkflowError {
            file: workflow.name.clone(),
            place: "kind".into(),
            problem: format!(
                "earlier versions are {} workflows; a new version keeps the kind",
                latest.kind.as_str()
            ),
        }
        .into());
    }
    Ok(())
}

impl Engine {
    /// Moves cohort `cohort_id` to version `version` (`None`: the newest) of
    /// workflow `workflow`, with every project of it that exists (all must
    /// still be in the workflow's initial state). Recorded as
    /// `CohortWorkflowChanged` on the cohort and `WorkflowChanged` on each
    /// project; repeating the request id changes nothing.
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] for anyone but the cohort's organizer, or
    /// a workflow they may not use; [`DomainError::WrongState`] once a
    /// project has left the initial state; unknown workflows and versions.
    pub async fn change_cohort_workflow(
        &self,
        ctx: &Context,
        cohort_id: &str,
        workflow: &str,
        version: Option<u32>,
    ) -> Result<Outcome, CommandError> {
        // Who may ask comes before whether the cohort exists.
        if ctx.actor.role != Role::Organizer {
            return Err(DomainError::forbidden(format!(
                "{} may not move cohorts; their organizer does",
                ctx.actor.role.a()
            ))
            .into());
        }
        let cohort = self
            .get::<Cohort>(cohort_id)
            .await?
            .ok_or_else(|| DomainError::NotFound {
                what: "cohort",
                id: cohort_id.to_owned(),
            })?;
        let mut projects = std::collections::BTreeMap::new();
        if let Some(facts) = &cohort.state.facts {
            for person in cohort.state.enrollments.keys() {
                let id = ProjectId::for_participant(&facts.cohort_id, person);
                if let Some(project) = self.get::<ChangeProject>(id.as_str()).await? {
                    projects.insert(
                        id.to_string(),
                        project.state.lifecycle.clone().unwrap_or_default(),
                    );
                }
            }
        }
        let moved: Vec<String> = projects.keys().cloned().collect();
        let outcome = self
            .execute::<Cohort>(
                cohort_id,
                ctx,
                CohortCommand::ChangeWorkflow {
                    workflow: workflow.to_owned(),
                    version,
                    projects,
                },
            )
            .await?;
        let pinned = self
            .get::<Cohort>(cohort_id)
            .await?
            .and_then(|c| c.state.facts)
            .and_then(|f| f.workflow_version.map(|v| (f.workflow, v)));
        let Some((name, version)) = pinned else {
            return Ok(outcome);
        };
        let target = self
            .workflows()
            .get(&name, version)
            .ok_or_else(|| WorkflowError {
                file: name.clone(),
                place: format!("version {version}"),
                problem: "the cohort pins this definition, which is not registered".into(),
            })?
            .reference();
        let mut last = outcome.clone();
        for project in moved {
            let step = Context {
                request_id: format!("{}/{project}", ctx.request_id),
                correlation_id: Some(ctx.request_id.clone()),
                // The caller's expected version is the cohort's, not the project's.
                expected_version: None,
                ..ctx.clone()
            };
            last = self
                .execute::<ChangeProject>(
                    &project,
                    &step,
                    ProjectCommand::FollowCohortWorkflow {
                        workflow: target.clone(),
                    },
                )
                .await?;
        }
        Ok(Outcome {
            position: outcome.position.max(last.position),
            ..outcome
        })
    }
}
