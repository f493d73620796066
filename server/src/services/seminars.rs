use jejak_engine::domain::change_project::{Grade, ProjectCommand as P, TargetRating};
use jejak_engine::domain::values::MilestoneId;
use jejak_proto::v1 as pb;
use tonic::{Request, Status};

use super::Written;
use crate::App;
use crate::convert::{domain, rating};
use crate::error::invalid;

/// The ratings and score of a final-seminar result.
fn final_result(
    ratings: &[pb::TargetRating],
    score: u32,
) -> Result<(Vec<TargetRating>, u8), Status> {
    let ratings = ratings
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Ok(TargetRating {
                milestone_id: MilestoneId::parse(&t.milestone_id)
                    .map_err(|e| invalid(&format!("ratings[{i}].milestone_id"), e))?,
                rating: rating(&format!("ratings[{i}].rating"), t.rating)?,
            })
        })
        .collect::<Result<Vec<_>, Status>>()?;
    let score =
        u8::try_from(score).map_err(|_| invalid("score", format!("{score} is above 100")))?;
    Ok((ratings, score))
}

#[tonic::async_trait]
impl pb::seminars_server::Seminars for App {
    async fn record_proposal_seminar(
        &self,
        request: Request<pb::ProposalSeminarRequest>,
    ) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(
            &ctx,
            &r.project_id,
            P::RecordProposalSeminar {
                accepted: r.accepted,
                notes: r.notes,
            },
        )
        .await
    }

    async fn record_final_seminar(&self, request: Request<pb::FinalSeminarRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let (ratings, score) = final_result(&r.ratings, r.score)?;
        self.on_project(
            &ctx,
            &r.project_id,
            P::RecordFinalSeminar {
                ratings,
                score,
                notes: r.notes,
            },
        )
        .await
    }

    async fn set_grade(&self, request: Request<pb::SetGradeRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let grade = Grade::parse(&r.grade).map_err(domain)?;
        self.on_project(&ctx, &r.project_id, P::SetGrade { grade })
            .await
    }

    async fn defer_graduation(&self, request: Request<pb::ReasonRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(&ctx, &r.project_id, P::DeferGraduation { reason: r.reason })
            .await
    }

    async fn resume_participant(&self, request: Request<pb::ProjectAction>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(&ctx, &r.project_id, P::Resume).await
    }

    async fn correct_proposal_seminar(
        &self,
        request: Request<pb::CorrectProposalSeminarRequest>,
    ) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(
            &ctx,
            &r.project_id,
            P::CorrectProposalSeminar {
                accepted: r.accepted,
                notes: r.notes,
                reason: r.reason,
            },
        )
        .await
    }

    async fn correct_final_seminar(
        &self,
        request: Request<pb::CorrectFinalSeminarRequest>,
    ) -> Written {
        let (ctx, r) = self.command(request)?;
        let (ratings, score) = final_result(&r.ratings, r.score)?;
        self.on_project(
            &ctx,
            &r.project_id,
            P::CorrectFinalSeminar {
                ratings,
                score,
                notes: r.notes,
                reason: r.reason,
            },
        )
        .await
    }

    async fn correct_grade(&self, request: Request<pb::CorrectGradeRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let grade = Grade::parse(&r.grade).map_err(domain)?;
        self.on_project(
            &ctx,
            &r.project_id,
            P::CorrectGrade {
                grade,
                reason: r.reason,
            },
        )
        .await
    }
}
