use jejak_engine::domain::change_project::ProjectCommand;
use jejak_engine::domain::cohort::{Cohort, CohortCommand, Enrollment, Participant};
use jejak_engine::domain::units::UnitKind;
use jejak_engine::domain::values::{CohortId, Nip, PersonId, ProjectId};
use jejak_engine::domain::{Actor, Role};
use jejak_engine::engine::{CommandError, Context};
use jejak_engine::store::StoreError;
use jejak_engine::workflow::WorkflowKind;
use jejak_projections::views::CohortRow;
use jejak_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::{Written, not_found, require};
use crate::App;
use crate::convert::{date, domain, level, level_out, min_position, page, paginate, written};
use crate::error::{invalid, status};

impl App {
    /// The enrolment a request asks for, its participant named by the
    /// person id the people index holds for their NIP. Enrolling, an
    /// organizer's request records a new person id for a NIP the index
    /// does not hold; anyone else's, and a reassignment, only looks one up
    /// and otherwise names a person id of nobody (the cohort then refuses,
    /// as it would anyone's): whether a NIP is known is never told.
    ///
    /// Also says whether this call made the person's row in the index (it
    /// stands only for an enrolment the log holds: [`App::enrol`]).
    async fn enrollment(
        &self,
        actor: &Actor,
        r: &pb::EnrolParticipantRequest,
        enrolling: bool,
    ) -> Result<(Enrollment, bool), Status> {
        let p = r
            .participant
            .as_ref()
            .ok_or_else(|| invalid("participant", "is required: nip, name, position and opd"))?;
        let nip = Nip::parse_field("participant.nip", &p.nip).map_err(domain)?;
        // Check the rest before the index is touched.
        let unchecked = Participant::new(PersonId::generate(), &nip, &p.name, &p.position, &p.opd)
            .map_err(domain)?;
        Enrollment::new(unchecked, &r.mentor, &r.coach, &r.examiners).map_err(domain)?;
        let store = self.engine().store();
        let (person, indexed) = if enrolling && actor.role == Role::Organizer {
            store.index_person(&nip).await.map_err(status)?
        } else {
            let known = store.find_person(&nip).await.map_err(status)?;
            (known.unwrap_or_else(PersonId::generate), false)
        };
        let participant =
            Participant::new(person, &nip, &p.name, &p.position, &p.opd).map_err(domain)?;
        let enrollment =
            Enrollment::new(participant, &r.mentor, &r.coach, &r.examiners).map_err(domain)?;
        Ok((enrollment, indexed))
    }

    /// Cohort `cohort_id` as the log holds it, when `actor` runs it
    /// (`None` for another organizer's and for one that does not exist).
    pub(super) async fn own_cohort(
        &self,
        actor: &Actor,
        cohort_id: &CohortId,
    ) -> Result<Option<jejak_engine::domain::cohort::CohortState>, Status> {
        Ok(self
            .engine()
            .get::<Cohort>(cohort_id.as_str())
            .await
            .map_err(status)?
            .map(|c| c.state)
            .filter(|c| c.facts.as_ref().is_some_and(|f| f.organizer == actor.id)))
    }

    /// The enrolment of the participant with `nip` in `actor`'s cohort
    /// `cohort_id` as it stands. Another organizer's cohort, and a NIP not
    /// enrolled in it, are answered as not found.
    async fn enrolment_of(
        &self,
        actor: &Actor,
        cohort_id: &CohortId,
        nip: &Nip,
    ) -> Result<Enrollment, Status> {
        let mut cohort = self
            .own_cohort(actor, cohort_id)
            .await?
            .ok_or_else(|| not_found("cohort", cohort_id.as_str()))?;
        let person = self
            .engine()
            .store()
            .find_person(nip)
            .await
            .map_err(status)?;
        person
            .and_then(|person| cohort.enrollments.remove(&person))
            .ok_or_else(|| {
                Status::not_found(format!(
                    "no participant with this NIP is enrolled in cohort {cohort_id}; check the NIP (jejak cohort find --nip)"
                ))
            })
    }

    /// The enrolment of the participant with `nip` in `cohort_id`, with the
    /// staff `r` names: a reassignment that names the participant by NIP
    /// alone. Another organizer's cohort, and a NIP not enrolled in it, are
    /// answered as not found.
    async fn enrolled(
        &self,
        actor: &Actor,
        cohort_id: &CohortId,
        nip: &str,
        r: &pb::EnrolParticipantRequest,
    ) -> Result<Enrollment, Status> {
        let nip = Nip::parse_field("participant.nip", nip).map_err(domain)?;
        let enrolled = self.enrolment_of(actor, cohort_id, &nip).await?;
        Enrollment::new(
            enrolled.participant.clone(),
            &r.mentor,
            &r.coach,
            &r.examiners,
        )
        .map_err(domain)
    }

    /// The participant of `nip` in `cohort_id` as amended by `name`,
    /// `position` and `opd` (each only when given), and the enrolment as
    /// it stands. Another organizer's cohort, and a NIP not enrolled in
    /// it, are answered as not found.
    pub(super) async fn amended(
        &self,
        actor: &Actor,
        cohort_id: &CohortId,
        nip: &str,
        fields: [Option<&str>; 3],
    ) -> Result<(Participant, Enrollment), Status> {
        require(actor, &[Role::Organizer], "amend an enrolment")?;
        let nip = Nip::parse_field("nip", nip).map_err(domain)?;
        let [name, position, opd] = fields;
        if fields.iter().all(Option::is_none) {
            return Err(invalid(
                "name",
                "say what to amend: a name, a position or an OPD",
            ));
        }
        if let Some(opd) = opd {
            self.require_unit("opd", opd, &[UnitKind::Opd, UnitKind::Kecamatan], false)
                .await?;
        }
        let enrolled = self.enrolment_of(actor, cohort_id, &nip).await?;
        let p = &enrolled.participant;
        let participant = Participant::new(
            p.person.clone(),
            &p.nip,
            name.unwrap_or(&p.name),
            position.unwrap_or(&p.position),
            opd.unwrap_or(p.opd.as_str()),
        )
        .map_err(|e| domain(rename_participant(e)))?;
        Ok((participant, enrolled))
    }

    /// Enrols as `r` asks. The people index holds the NIP only when the
    /// enrolment is in the log: a row this request made is taken back when
    /// the command appends nothing (refused, or already recorded), and put
    /// back after an append if a refused enrolment of the same NIP took it
    /// meanwhile. A store failure, which may hide a commit, keeps it.
    pub(super) async fn enrol(&self, ctx: &Context, r: &pb::EnrolParticipantRequest) -> Written {
        let cohort_id = CohortId::parse(&r.cohort_id).map_err(domain)?;
        if let Some(p) = r.participant.as_ref() {
            // Before the people index is touched: an OPD the region does not have.
            self.require_unit(
                "participant.opd",
                &p.opd,
                &[UnitKind::Opd, UnitKind::Kecamatan],
                false,
            )
            .await?;
        }
        let (enrollment, indexed) = self.enrollment(&ctx.actor, r, true).await?;
        let (person, nip) = (
            enrollment.participant.person.clone(),
            enrollment.participant.nip.clone(),
        );
        let outcome = self
            .engine()
            .execute::<Cohort>(cohort_id.as_str(), ctx, CohortCommand::Enrol(enrollment))
            .await;
        let store = self.engine().store();
        let appended = matches!(&outcome, Ok(o) if !o.events.is_empty() && !o.duplicate);
        let unknown = matches!(
            &outcome,
            Err(CommandError::Store(
                StoreError::Unavailable(_) | StoreError::Internal(_) | StoreError::Closed
            ))
        );
        if appended {
            if !store.reindex_person(&person, &nip).await.map_err(status)? {
                tracing::warn!(
                    person = person.as_str(),
                    "the people index maps the enrolled NIP to another person id"
                );
            }
        } else if indexed && !unknown {
            store.unindex_person(&person, &nip).await.map_err(status)?;
        }
        Ok(Response::new(written(outcome.map_err(status)?)))
    }
}

/// A participant's field as a request names it (`name`, not
/// `participant.name`).
fn rename_participant(err: jejak_engine::domain::DomainError) -> jejak_engine::domain::DomainError {
    match err {
        jejak_engine::domain::DomainError::Invalid { field, reason } => {
            jejak_engine::domain::DomainError::Invalid {
                field: field.trim_start_matches("participant.").to_owned(),
                reason,
            }
        }
        other => other,
    }
}

pub(super) fn cohort_out(row: CohortRow) -> pb::Cohort {
    pb::Cohort {
        cohort_id: row.cohort_id,
        level: level_out(&row.level),
        provider: row.provider,
        year: row.year,
        number: row.number,
        organizer: row.organizer,
        starts_on: row.starts_on.to_string(),
        ends_on: row.ends_on.to_string(),
        workflow: row.workflow,
        enrolled: row.enrolled,
        workflow_version: row.workflow_version,
    }
}

#[tonic::async_trait]
impl pb::cohorts_server::Cohorts for App {
    async fn open_cohort(&self, request: Request<pb::OpenCohortRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let cohort_id = CohortId::parse(&r.cohort_id).map_err(domain)?;
        let workflow = r.workflow.trim();
        let workflow = if workflow.is_empty() {
            None
        } else {
            self.engine()
                .ensure_workflow(workflow, WorkflowKind::ChangeProject)
                .await
                .map_err(status)?;
            Some(workflow.to_owned())
        };
        let body = CohortCommand::Open {
            cohort_id: cohort_id.clone(),
            level: level(r.level)?,
            provider: r.provider,
            year: r.year,
            number: r.number,
            starts_on: date("starts_on", &r.starts_on)?,
            ends_on: date("ends_on", &r.ends_on)?,
            workflow,
            workflow_version: (r.workflow_version > 0).then_some(r.workflow_version),
        };
        self.on_cohort(&ctx, cohort_id.as_str(), body).await
    }

    async fn enrol_participant(&self, request: Request<pb::EnrolParticipantRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.enrol(&ctx, &r).await
    }

    async fn reassign_staff(&self, request: Request<pb::EnrolParticipantRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let cohort_id = CohortId::parse(&r.cohort_id).map_err(domain)?;
        let enrollment = match r.participant.as_ref() {
            // The NIP alone: the participant as enrolled, with new staff.
            Some(p)
                if p.name.trim().is_empty()
                    && p.position.trim().is_empty()
                    && p.opd.trim().is_empty() =>
            {
                self.enrolled(&ctx.actor, &cohort_id, &p.nip, &r).await?
            }
            _ => self.enrollment(&ctx.actor, &r, false).await?.0,
        };
        // The cohort, then the participant's project (ADR 0027).
        let outcome = self
            .engine()
            .reassign_staff(&ctx, &cohort_id, enrollment)
            .await
            .map_err(status)?;
        Ok(Response::new(written(outcome)))
    }

    async fn amend_enrolment(&self, request: Request<pb::AmendEnrolmentRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let cohort_id = CohortId::parse(&r.cohort_id).map_err(domain)?;
        let (participant, _) = self
            .amended(
                &ctx.actor,
                &cohort_id,
                &r.nip,
                [r.name.as_deref(), r.position.as_deref(), r.opd.as_deref()],
            )
            .await?;
        // The cohort, then the participant's project.
        let outcome = self
            .engine()
            .amend_enrolment(&ctx, &cohort_id, participant)
            .await
            .map_err(status)?;
        Ok(Response::new(written(outcome)))
    }

    async fn start_workplace_phase(&self, request: Request<pb::ProjectAction>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(&ctx, &r.project_id, ProjectCommand::StartWorkplacePhase)
            .await
    }

    async fn start_workplace_phase_all(
        &self,
        request: Request<pb::StartWorkplacePhaseAllRequest>,
    ) -> Result<Response<pb::StartWorkplacePhaseAllResponse>, Status> {
        let (ctx, r) = self.command(request)?;
        Ok(Response::new(self.start_all(&ctx, &r).await?))
    }

    async fn change_cohort_workflow(
        &self,
        request: Request<pb::ChangeCohortWorkflowRequest>,
    ) -> Written {
        let (ctx, r) = self.command(request)?;
        let cohort_id = CohortId::parse(&r.cohort_id).map_err(domain)?;
        let workflow = r.workflow.trim();
        if workflow.is_empty() {
            return Err(invalid(
                "workflow",
                "name the change-project workflow to move the cohort to",
            ));
        }
        let outcome = self
            .engine()
            .change_cohort_workflow(
                &ctx,
                cohort_id.as_str(),
                workflow,
                (r.version > 0).then_some(r.version),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(written(outcome)))
    }

    async fn list_cohorts(
        &self,
        request: Request<pb::ListCohortsRequest>,
    ) -> Result<Response<pb::ListCohortsResponse>, Status> {
        let actor = self.actor(&request)?;
        require(
            &actor,
            &[Role::Organizer, Role::Auditor, Role::BridaOfficer],
            "list cohorts",
        )?;
        let r = request.into_inner();
        let page = page(r.page.as_ref())?;
        let mut rows = self
            .views()
            .cohorts(min_position(r.min_position))
            .await
            .map_err(status)?;
        if actor.role == Role::Organizer {
            rows.retain(|c| c.organizer == actor.id);
        }
        let (rows, next_page_token) = paginate(rows, page);
        Ok(Response::new(pb::ListCohortsResponse {
            cohorts: rows.into_iter().map(cohort_out).collect(),
            next_page_token,
        }))
    }

    async fn find_participant(
        &self,
        request: Request<pb::FindParticipantRequest>,
    ) -> Result<Response<pb::FindParticipantResponse>, Status> {
        let actor = self.actor(&request)?;
        require(
            &actor,
            &[Role::Organizer, Role::Auditor, Role::BridaOfficer],
            "find participants",
        )?;
        let r = request.into_inner();
        let nip = Nip::parse(&r.nip).map_err(domain)?;
        let only = match r.cohort_id.trim() {
            "" => None,
            id => Some(CohortId::parse(id).map_err(domain)?),
        };
        // One answer for a NIP nobody has, and for one enrolled only where
        // the caller may not look; it never quotes the NIP.
        let nobody = || not_found("participant", "with that NIP");
        let person = self
            .engine()
            .store()
            .find_person(&nip)
            .await
            .map_err(status)?
            .ok_or_else(nobody)?;
        let cohorts = self.views().cohorts(None).await.map_err(status)?;
        let mut enrolments = Vec::new();
        for row in cohorts {
            if actor.role == Role::Organizer && row.organizer != actor.id {
                continue;
            }
            if only.as_ref().is_some_and(|c| c.as_str() != row.cohort_id) {
                continue;
            }
            let Some(cohort) = self
                .engine()
                .get::<Cohort>(&row.cohort_id)
                .await
                .map_err(status)?
            else {
                continue;
            };
            let (Some(facts), Some(enrollment)) = (
                cohort.state.facts.as_ref(),
                cohort.state.enrollments.get(&person),
            ) else {
                continue;
            };
            enrolments.push(pb::ParticipantEnrolment {
                cohort_id: facts.cohort_id.to_string(),
                code: enrollment
                    .code(&facts.cohort_id)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                project_id: ProjectId::for_participant(&facts.cohort_id, &person).to_string(),
            });
        }
        if enrolments.is_empty() {
            return Err(nobody());
        }
        // Whose NIP this is, and where they are enrolled: their personal
        // data, read by someone else (ADR 0022).
        self.record_reads(
            &actor,
            vec![person.to_string()],
            super::FOUND_BY_NIP,
            "Cohorts.FindParticipant",
        )
        .await;
        Ok(Response::new(pb::FindParticipantResponse {
            person_id: person.to_string(),
            enrolments,
        }))
    }

    async fn get_cohort_progress(
        &self,
        request: Request<pb::GetCohortProgressRequest>,
    ) -> Result<Response<pb::CohortProgress>, Status> {
        let actor = self.actor(&request)?;
        require(
            &actor,
            &[Role::Organizer, Role::Auditor, Role::BridaOfficer],
            "read cohort progress",
        )?;
        let r = request.into_inner();
        let cohort_id = CohortId::parse(&r.cohort_id).map_err(domain)?;
        let progress = self
            .views()
            .cohort_progress(cohort_id.as_str(), min_position(r.min_position))
            .await
            .map_err(status)?;
        // Another organizer's cohort is answered as one that does not exist.
        let Some(cohort) = progress
            .cohort
            .filter(|c| actor.role != Role::Organizer || c.organizer == actor.id)
        else {
            return Err(Status::not_found(format!(
                "cohort {cohort_id} does not exist"
            )));
        };
        self.record_reads(
            &actor,
            progress.late_people.clone(),
            "name",
            "Cohorts.GetCohortProgress",
        )
        .await;
        Ok(Response::new(pb::CohortProgress {
            cohort: Some(cohort_out(cohort)),
            projects: progress.projects,
            by_state: progress
                .by_state
                .into_iter()
                .map(|(state, count)| pb::StateCount { state, count })
                .collect(),
            overdue_milestones: progress.overdue_milestones,
            late_participants: progress.late_participants,
            proposal_accepted: progress.proposal_accepted,
            proposal_to_revise: progress.proposal_to_revise,
            final_passed: progress.final_passed,
            final_failed: progress.final_failed,
            grades: progress
                .grades
                .into_iter()
                .map(|(grade, count)| pb::GradeCount { grade, count })
                .collect(),
        }))
    }
}
