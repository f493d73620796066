use jejak_engine::domain::change_project::ChangeProject;
use jejak_engine::domain::change_project::{
    Goals, Grade, MilestonePlan, ProjectCommand as P, Proposal, Stakeholder, TeamMember,
};
use jejak_engine::domain::cohort::Cohort;
use jejak_engine::domain::values::{CohortId, Horizon, MilestoneId, PersonId, ProjectId};
use jejak_engine::domain::{Aggregate as _, Role};
use jejak_projections::views::{BoardFilter, ProjectRow};
use jejak_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::{Written, can_see_project, not_found};
use crate::App;
use crate::convert::{
    attachments, date, domain, horizon, horizon_out, key_token, level_out, level3, min_position,
    page_after, timestamp,
};
use crate::error::{invalid, status};

fn milestone_plans(at: &str, given: &[pb::MilestonePlan]) -> Result<Vec<MilestonePlan>, Status> {
    given
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let field = |f: &str| format!("{at}[{i}].{f}");
            Ok(MilestonePlan {
                id: MilestoneId::parse(&m.id).map_err(|e| invalid(&field("id"), e))?,
                horizon: horizon(&field("horizon"), m.horizon)?,
                title: m.title.clone(),
                due: date(&field("due"), &m.due)?,
                expected_output: m.expected_output.clone(),
            })
        })
        .collect()
}

pub(super) fn proposal(p: Option<&pb::Proposal>) -> Result<Proposal, Status> {
    let p = p.ok_or_else(|| invalid("proposal", "is required"))?;
    let stakeholders = p
        .stakeholders
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Ok(Stakeholder {
                name: s.name.clone(),
                internal: s.internal,
                influence: level3(
                    &format!("proposal.stakeholders[{i}].influence"),
                    s.influence,
                )?,
                interest: level3(&format!("proposal.stakeholders[{i}].interest"), s.interest)?,
            })
        })
        .collect::<Result<_, Status>>()?;
    let milestones = milestone_plans("proposal.milestones", &p.milestones)?;
    Ok(Proposal {
        title: p.title.clone(),
        change_area: p.change_area.clone(),
        problem: p.problem.clone(),
        baseline: p.baseline.clone(),
        goals: Goals {
            short_term: p.goal_short_term.clone(),
            medium_term: p.goal_medium_term.clone(),
            long_term: p.goal_long_term.clone(),
        },
        stakeholders,
        team: p
            .team
            .iter()
            .map(|t| TeamMember {
                name: t.name.clone(),
                role: t.role.clone(),
            })
            .collect(),
        milestones,
    })
}

pub(super) fn project_out(row: ProjectRow) -> pb::Project {
    let counts = |h| {
        let c = row.counts(h);
        Some(pb::HorizonCounts {
            approved: c.approved,
            submitted: c.submitted,
            total: c.total,
        })
    };
    use jejak_engine::domain::change_project::MilestoneStatus as S;
    pb::Project {
        short_term: counts(Horizon::Short),
        medium_term: counts(Horizon::Medium),
        long_term: counts(Horizon::Long),
        next_due: row.next_due().map(|d| d.to_string()).unwrap_or_default(),
        overdue_count: row.overdue_count(),
        milestones: row
            .milestones
            .values()
            .map(|m| pb::Milestone {
                id: m.id.clone(),
                horizon: horizon_out(m.horizon),
                title: m.title.clone(),
                due: m.due.to_string(),
                status: (match m.status {
                    S::Planned => pb::MilestoneStatus::Planned,
                    S::Submitted => pb::MilestoneStatus::Submitted,
                    S::Returned => pb::MilestoneStatus::Returned,
                    S::Approved => pb::MilestoneStatus::Approved,
                }) as i32,
                overdue: m.overdue,
                returned_reason: m.returned_reason.clone().unwrap_or_default(),
            })
            .collect(),
        project_id: row.project_id,
        code: row.code,
        participant: row.participant,
        title: row.title,
        participant_nip: row.participant_nip,
        participant_name: row.participant_name,
        opd: row.opd,
        cohort_id: row.cohort_id,
        level: level_out(&row.level),
        mentor: row.mentor,
        coach: row.coach,
        examiners: row.examiners,
        state: row.state,
        workflow: row.workflow,
        final_score: row.final_score.map(u32::from),
        grade: row
            .grade
            .as_deref()
            .map(Grade::as_written)
            .unwrap_or_default(),
        innovation_id: row.innovation_id.unwrap_or_default(),
        proposed_at: Some(timestamp(row.proposed_at)),
        updated_at: Some(timestamp(row.updated_at)),
        version: row.version,
    }
}

#[tonic::async_trait]
impl pb::change_projects_server::ChangeProjects for App {
    async fn request_plan_change(&self, request: Request<pb::PlanChangeRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let milestones = milestone_plans("milestones", &r.milestones)?;
        self.on_project(
            &ctx,
            &r.project_id,
            P::RequestPlanChange {
                milestones,
                reason: r.reason,
            },
        )
        .await
    }

    async fn propose(&self, request: Request<pb::ProposeRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let actor = &ctx.actor;
        if actor.role != Role::Participant {
            return Err(Status::permission_denied(format!(
                "a {} may not propose; participants propose their own change project",
                actor.role
            )));
        }
        let cohort_id = CohortId::parse(&r.cohort_id).map_err(domain)?;
        let proposal = proposal(r.proposal.as_ref())?;
        let person = PersonId::parse(&actor.id).map_err(|_| {
            Status::permission_denied(
                "a participant's token must name their person id (or their NIP in the claim 'nip')",
            )
        })?;
        let cohort = self
            .engine()
            .get::<Cohort>(cohort_id.as_str())
            .await
            .map_err(status)?
            .ok_or_else(|| Status::not_found(format!("cohort {cohort_id} does not exist")))?
            .state;
        let enrollment = cohort.enrollments.get(&person).cloned().ok_or_else(|| {
            Status::permission_denied(format!(
                "you are not enrolled in cohort {cohort_id}; ask its organizer to enrol you"
            ))
        })?;
        let facts = cohort
            .facts
            .ok_or_else(|| Status::not_found(format!("cohort {cohort_id} does not exist")))?;
        let project_id = ProjectId::for_participant(&cohort_id, &person);
        let body = P::Propose {
            cohort: facts,
            enrollment,
            proposal,
        };
        self.on_project(&ctx, project_id.as_str(), body).await
    }

    async fn revise_proposal(&self, request: Request<pb::ReviseProposalRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let proposal = proposal(r.proposal.as_ref())?;
        self.on_project(&ctx, &r.project_id, P::ReviseProposal { proposal })
            .await
    }

    async fn submit_evidence(&self, request: Request<pb::SubmitEvidenceRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let milestone_id = MilestoneId::parse(&r.milestone_id).map_err(domain)?;
        let mut files = attachments("attachments", &r.attachments)?;
        let key = super::evidence::project_key(&self.project_id(&r.project_id).await?.to_string());
        self.stored_files("attachments", &key, &mut files).await?;
        let body = P::SubmitEvidence {
            milestone_id,
            attachments: files,
            note: r.note,
        };
        self.on_project(&ctx, &r.project_id, body).await
    }

    async fn submit_final_report(&self, request: Request<pb::SubmitFinalReportRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let mut files = attachments("attachments", &r.attachments)?;
        let key = super::evidence::project_key(&self.project_id(&r.project_id).await?.to_string());
        self.stored_files("attachments", &key, &mut files).await?;
        let body = P::SubmitFinalReport {
            summary: r.summary,
            attachments: files,
        };
        self.on_project(&ctx, &r.project_id, body).await
    }

    async fn withdraw(&self, request: Request<pb::ReasonRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(&ctx, &r.project_id, P::Withdraw { reason: r.reason })
            .await
    }

    async fn comment(&self, request: Request<pb::ProjectAction>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(&ctx, &r.project_id, P::Comment { text: r.note })
            .await
    }

    async fn mark_ready_for_seminar(&self, request: Request<pb::MarkReadyRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let body =
            match pb::SeminarKind::try_from(r.seminar).unwrap_or(pb::SeminarKind::Unspecified) {
                pb::SeminarKind::Proposal => P::MarkProposalReady,
                pb::SeminarKind::Final => P::MarkReportReady,
                pb::SeminarKind::Unspecified => {
                    return Err(invalid("seminar", "is required: PROPOSAL or FINAL"));
                }
            };
        self.on_project(&ctx, &r.project_id, body).await
    }

    async fn get_project(
        &self,
        request: Request<pb::GetProjectRequest>,
    ) -> Result<Response<pb::Project>, Status> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let id = self.project_id(&r.project_id).await?;
        let row = self
            .views()
            .project(id.as_str(), min_position(r.min_position))
            .await
            .map_err(status)?
            // A project the caller may not see is answered as one that does not exist.
            .filter(|row| can_see_project(&actor, row))
            .ok_or_else(|| not_found(ChangeProject::LABEL, r.project_id.trim()))?;
        self.record_row_reads(&actor, std::slice::from_ref(&row), "Projects.GetProject")
            .await;
        Ok(Response::new(project_out(row)))
    }

    async fn get_project_detail(
        &self,
        request: Request<pb::GetProjectRequest>,
    ) -> Result<Response<pb::ProjectDetail>, Status> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let detail = self
            .project_detail(&actor, &r.project_id, r.min_position)
            .await?;
        Ok(Response::new(detail))
    }

    async fn list_projects(
        &self,
        request: Request<pb::ListProjectsRequest>,
    ) -> Result<Response<pb::ListProjectsResponse>, Status> {
        let actor = self.actor(&request)?;
        let r = request.into_inner();
        let (after, size) = page_after(r.page.as_ref())?;
        let some = |s: String| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let mut filter = BoardFilter {
            cohort_id: some(r.cohort_id),
            opd: some(r.opd),
            mentor: some(r.mentor),
            state: some(r.state),
            ..BoardFilter::default()
        };
        // Only what the caller may see is read (`can_see_project` as the
        // board's terms, ADR 0033), so a page costs the page. A filter
        // naming someone else finds nothing.
        let own = |want: &mut Option<String>| match want {
            Some(other) if *other != actor.id => false,
            _ => {
                *want = Some(actor.id.clone());
                true
            }
        };
        let readable = match actor.role {
            Role::Participant => own(&mut filter.participant),
            Role::Mentor => own(&mut filter.mentor),
            Role::Coach => own(&mut filter.coach),
            Role::Examiner => own(&mut filter.examiner),
            Role::Organizer => own(&mut filter.organizer),
            Role::Auditor | Role::System => true,
            Role::InnovationOfficer | Role::BridaOfficer | Role::Admin => false,
        };
        let (mut rows, next) = if readable {
            let page = self
                .views()
                .board_page(
                    &filter,
                    after.as_deref(),
                    size,
                    min_position(r.min_position),
                )
                .await
                .map_err(status)?;
            (page.rows, page.next)
        } else {
            (Vec::new(), None)
        };
        rows.retain(|row| can_see_project(&actor, row));
        let next_page_token = key_token(next);
        self.record_row_reads(&actor, &rows, "Projects.ListProjects")
            .await;
        Ok(Response::new(pb::ListProjectsResponse {
            projects: rows.into_iter().map(project_out).collect(),
            next_page_token,
        }))
    }
}
