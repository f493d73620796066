use std::pin::Pin;

use futures::Stream;
use jejak_engine::domain::change_project::{ChangeProject, ProjectCommand as P, Replication};
use jejak_engine::domain::values::{MilestoneId, OpdCode, region_key};
use jejak_engine::domain::{Aggregate as _, Role};
use jejak_projections::views::{InboxItem, InboxKind};
use jejak_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::{Written, require};
use crate::App;
use crate::convert::{agreement, domain, min_position, timestamp};
use crate::error::status;
use crate::limits::outbox;

fn item_out(item: InboxItem) -> pb::InboxItem {
    pb::InboxItem {
        kind: (match item.kind {
            InboxKind::Proposal => pb::InboxKind::Proposal,
            InboxKind::MilestoneEvidence => pb::InboxKind::MilestoneEvidence,
            InboxKind::AdoptionEndorsement => pb::InboxKind::AdoptionEndorsement,
            InboxKind::PlanChange => pb::InboxKind::PlanChange,
        }) as i32,
        project_id: item.project_id,
        code: item.code,
        reason: item
            .plan_change
            .as_ref()
            .map(|p| p.reason.clone())
            .unwrap_or_default(),
        requested_plan: item
            .plan_change
            .as_ref()
            .map(|p| p.milestones.iter().map(super::detail::plan_out).collect())
            .unwrap_or_default(),
        title: item.title,
        participant_name: item.participant_name,
        milestone_id: item.milestone_id.unwrap_or_default(),
        since: Some(timestamp(item.since)),
        age_seconds: item.age_seconds,
        change_area: item.change_area,
        milestone_title: item.milestone_title,
        expected_output: item.expected_output,
        evidence: item
            .evidence
            .iter()
            .map(super::evidence::attachment_out)
            .collect(),
    }
}

type InboxStream = Pin<Box<dyn Stream<Item = Result<pb::InboxItem, Status>> + Send>>;

#[tonic::async_trait]
impl pb::mentoring_server::Mentoring for App {
    type WatchInboxStream = InboxStream;

    async fn get_inbox(
        &self,
        request: Request<pb::GetInboxRequest>,
    ) -> Result<Response<pb::Inbox>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, &[Role::Mentor], "read a mentor's inbox")?;
        let now = self.engine().clock().now();
        let items = self
            .views()
            .inbox(&actor.id, now, min_position(request.get_ref().min_position))
            .await
            .map_err(status)?;
        let people: Vec<String> = items
            .iter()
            .filter(|i| i.participant_name != jejak_engine::privacy::ERASED)
            .map(|i| i.participant.clone())
            .collect();
        self.record_reads(&actor, people, "name", "Mentoring.GetInbox")
            .await;
        Ok(Response::new(pb::Inbox {
            items: items.into_iter().map(item_out).collect(),
        }))
    }

    async fn watch_inbox(
        &self,
        request: Request<pb::GetInboxRequest>,
    ) -> Result<Response<Self::WatchInboxStream>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, &[Role::Mentor], "watch a mentor's inbox")?;
        let slot = self.watches().open(&actor.id)?;
        let app = self.clone();
        let first = min_position(request.get_ref().min_position);
        let mut watch = app
            .views()
            .watch_inbox(&actor.id, app.inner.config.clock.clone())
            .map_err(status)?;
        // Fail early, in the call itself, when the view cannot answer.
        let initial = watch.next(first).await.map_err(status)?;
        let (out, stream) = outbox(app.limits(), app.watches(), Some(slot));
        tokio::spawn(async move {
            let mut items = initial;
            while let Some(batch) = items {
                let people: Vec<String> = batch
                    .iter()
                    .filter(|i| i.participant_name != jejak_engine::privacy::ERASED)
                    .map(|i| i.participant.clone())
                    .collect();
                app.record_reads(&actor, people, "name", "Mentoring.WatchInbox")
                    .await;
                for item in batch {
                    let sent = tokio::select! {
                        sent = out.send(Ok(item_out(item))) => sent,
                        () = app.closing() => return,
                    };
                    if sent.is_err() {
                        return;
                    }
                }
                items = tokio::select! {
                    next = watch.next(None) => next.unwrap_or_else(|err| {
                        tracing::warn!(error = %err, "an inbox watch could not read the view");
                        Some(Vec::new())
                    }),
                    () = out.closed() => return,
                    () = app.closing() => return,
                };
            }
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn agree_change_area(&self, request: Request<pb::ProjectAction>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(&ctx, &r.project_id, P::AgreeChangeArea)
            .await
    }

    async fn approve_action_plan(&self, request: Request<pb::ProjectAction>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(&ctx, &r.project_id, P::ApproveActionPlan { note: r.note })
            .await
    }

    async fn return_action_plan(&self, request: Request<pb::ReasonRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(
            &ctx,
            &r.project_id,
            P::ReturnActionPlan { reason: r.reason },
        )
        .await
    }

    async fn approve_milestone(&self, request: Request<pb::MilestoneDecision>) -> Written {
        let (ctx, r) = self.command(request)?;
        let milestone_id = MilestoneId::parse(&r.milestone_id).map_err(domain)?;
        self.on_project(
            &ctx,
            &r.project_id,
            P::ApproveMilestone {
                milestone_id,
                note: r.reason,
            },
        )
        .await
    }

    async fn return_milestone(&self, request: Request<pb::MilestoneDecision>) -> Written {
        let (ctx, r) = self.command(request)?;
        let milestone_id = MilestoneId::parse(&r.milestone_id).map_err(domain)?;
        self.on_project(
            &ctx,
            &r.project_id,
            P::ReturnMilestone {
                milestone_id,
                reason: r.reason,
            },
        )
        .await
    }

    async fn approve_plan_change(&self, request: Request<pb::ProjectAction>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(&ctx, &r.project_id, P::ApprovePlanChange { note: r.note })
            .await
    }

    async fn return_plan_change(&self, request: Request<pb::ReasonRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(
            &ctx,
            &r.project_id,
            P::ReturnPlanChange { reason: r.reason },
        )
        .await
    }

    async fn endorse_adoption(&self, request: Request<pb::ProjectAction>) -> Written {
        let (ctx, r) = self.command(request)?;
        self.on_project(&ctx, &r.project_id, P::EndorseAdoption { note: r.note })
            .await
    }

    async fn record_replication(&self, request: Request<pb::ProjectReplicationRequest>) -> Written {
        let (ctx, r) = self.command(request)?;
        let adopter_opd =
            OpdCode::parse(&r.adopter_opd).map_err(|e| crate::error::invalid("adopter_opd", e))?;
        let mut agreement = agreement(r.agreement.as_ref())?;
        let key = super::evidence::project_key(&self.project_id(&r.project_id).await?.to_string());
        self.stored_files(
            "agreement.document",
            &key,
            agreement.document.as_mut_slice(),
        )
        .await?;
        let replication = Replication {
            adopter_opd,
            adopter_region: r.adopter_region,
            agreement,
        };
        // The project's own OPD in this region does not replicate its own
        // change (ADR 0027; the innovation refuses the same on its side).
        // Told only to those the project concerns.
        let id = self.project_id(&r.project_id).await?;
        if let Some(project) = self
            .engine()
            .get::<ChangeProject>(id.as_str())
            .await
            .map_err(status)?
            && ChangeProject::concerns(&project.state, &ctx.actor)
            && project
                .state
                .participant()
                .is_some_and(|p| p.opd == replication.adopter_opd)
            && region_key(&replication.adopter_region) == region_key(&self.engine().config().region)
        {
            return Err(crate::error::invalid(
                "adopter_opd",
                "is the project's own OPD; a replication is another unit or region taking the change over",
            ));
        }
        self.on_project(&ctx, &r.project_id, P::RecordReplication(replication))
            .await
    }
}
