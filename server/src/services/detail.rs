//! `ChangeProjects.GetProjectDetail`: a project's whole page, folded from
//! its own stream on read (ADR 0028), for those who may see the project.

use jejak_engine::domain::change_project::{ChangeProject, Grade, MilestoneStatus as S, Proposal};
use jejak_engine::domain::values::{Attachment, Level3, Rating};
use jejak_engine::domain::{Actor, Aggregate as _};
use jejak_projections::views::{ProjectDetail, SeminarResult, Stamp};
use jejak_proto::v1 as pb;
use tonic::Status;

use super::projects::project_out;
use super::{PROJECT_FIELDS, can_see_project, not_found};
use crate::App;
use crate::convert::{horizon_out, min_position, timestamp};
use crate::error::status;

impl App {
    /// The page of the project `given` names, if `actor` may see it; the
    /// read of the participant's fields and the proposal's names is
    /// recorded.
    pub(crate) async fn project_detail(
        &self,
        actor: &Actor,
        given: &str,
        position: u64,
    ) -> Result<pb::ProjectDetail, Status> {
        let id = self.project_id(given).await?;
        let row = self
            .views()
            .project(id.as_str(), min_position(position))
            .await
            .map_err(status)?
            // A project the caller may not see is answered as one that does not exist.
            .filter(|row| can_see_project(actor, row))
            .ok_or_else(|| not_found(ChangeProject::LABEL, given.trim()))?;
        let history = self
            .engine()
            .history::<ChangeProject>(id.as_str())
            .await
            .map_err(status)?;
        let detail = ProjectDetail::fold(&history)
            .ok_or_else(|| not_found(ChangeProject::LABEL, given.trim()))?;
        if row.participant_name != jejak_engine::privacy::ERASED {
            self.record_reads(
                actor,
                vec![row.participant.clone()],
                PROJECT_FIELDS,
                "Projects.GetProjectDetail",
            )
            .await;
        }
        Ok(detail_out(project_out(row), detail))
    }
}

fn stamp_out(s: &Stamp) -> pb::Stamp {
    pb::Stamp {
        by: s.by.clone(),
        role: s.role.clone(),
        at: Some(timestamp(s.at)),
        recorded_at: s.recorded_at.map(timestamp),
    }
}

fn attachments_out(list: &[Attachment]) -> Vec<pb::Attachment> {
    list.iter().map(super::evidence::attachment_out).collect()
}

fn level_out(l: Level3) -> i32 {
    (match l {
        Level3::Low => pb::Level::Low,
        Level3::Medium => pb::Level::Medium,
        Level3::High => pb::Level::High,
    }) as i32
}

fn proposal_out(p: &Proposal) -> pb::Proposal {
    pb::Proposal {
        title: p.title.clone(),
        change_area: p.change_area.clone(),
        problem: p.problem.clone(),
        baseline: p.baseline.clone(),
        goal_short_term: p.goals.short_term.clone(),
        goal_medium_term: p.goals.medium_term.clone(),
        goal_long_term: p.goals.long_term.clone(),
        stakeholders: p
            .stakeholders
            .iter()
            .map(|s| pb::Stakeholder {
                name: s.name.clone(),
                internal: s.internal,
                influence: level_out(s.influence),
                interest: level_out(s.interest),
            })
            .collect(),
        team: p
            .team
            .iter()
            .map(|t| pb::TeamMember {
                name: t.name.clone(),
                role: t.role.clone(),
            })
            .collect(),
        milestones: p.milestones.iter().map(plan_out).collect(),
    }
}

pub(crate) fn plan_out(
    m: &jejak_engine::domain::change_project::MilestonePlan,
) -> pb::MilestonePlan {
    pb::MilestonePlan {
        id: m.id.to_string(),
        horizon: horizon_out(m.horizon),
        title: m.title.clone(),
        due: m.due.to_string(),
        expected_output: m.expected_output.clone(),
    }
}

fn rating_code(r: Rating) -> &'static str {
    match r {
        Rating::Below => "below",
        Rating::Meets => "meets",
        Rating::Exceeds => "exceeds",
    }
}

/// The grade on the wire: the predikat as written (`sangat memuaskan`), as
/// every other answer gives it.
fn grade_code(g: Grade) -> String {
    g.label().to_owned()
}

fn seminar_out(s: &SeminarResult) -> pb::SeminarResult {
    pb::SeminarResult {
        accepted: s.accepted,
        score: s.score.map(u32::from),
        notes: s.notes.clone(),
        ratings: s
            .ratings
            .iter()
            .map(|r| pb::TargetRatingOut {
                milestone_id: r.milestone_id.to_string(),
                rating: rating_code(r.rating).to_owned(),
            })
            .collect(),
        stamp: Some(stamp_out(&s.stamp)),
    }
}

fn detail_out(project: pb::Project, d: ProjectDetail) -> pb::ProjectDetail {
    pb::ProjectDetail {
        project: Some(project),
        proposal: d.proposal.as_ref().map(proposal_out),
        proposal_at: d.proposal_at.map(timestamp),
        milestones: d
            .milestones
            .iter()
            .map(|m| pb::MilestoneDetail {
                plan: Some(plan_out(&m.plan)),
                status: (match m.status {
                    S::Planned => pb::MilestoneStatus::Planned,
                    S::Submitted => pb::MilestoneStatus::Submitted,
                    S::Returned => pb::MilestoneStatus::Returned,
                    S::Approved => pb::MilestoneStatus::Approved,
                }) as i32,
                overdue: m.overdue,
                submissions: m
                    .submissions
                    .iter()
                    .map(|s| pb::EvidenceSubmission {
                        attachments: attachments_out(&s.attachments),
                        note: s.note.clone(),
                        stamp: Some(stamp_out(&s.stamp)),
                    })
                    .collect(),
            })
            .collect(),
        notes: d
            .notes
            .iter()
            .map(|n| pb::ProjectNote {
                kind: n.kind.clone(),
                milestone_id: n.milestone_id.clone().unwrap_or_default(),
                text: n.text.clone(),
                stamp: Some(stamp_out(&n.stamp)),
            })
            .collect(),
        proposal_seminars: d.proposal_seminars.iter().map(seminar_out).collect(),
        final_seminars: d.final_seminars.iter().map(seminar_out).collect(),
        final_report: d.final_report.as_ref().map(|r| pb::FinalReportOut {
            summary: r.summary.clone(),
            attachments: attachments_out(&r.attachments),
            stamp: Some(stamp_out(&r.stamp)),
        }),
        grade: d
            .grade
            .as_ref()
            .map(|g| grade_code(g.grade))
            .unwrap_or_default(),
        graded: d.grade.as_ref().map(|g| stamp_out(&g.stamp)),
        workplace_started_on: d
            .workplace_started_on
            .map(|d| d.to_string())
            .unwrap_or_default(),
    }
}
