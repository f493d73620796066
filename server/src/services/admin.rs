use jejak_engine::access::AccessEvent;
use jejak_engine::domain::Role;
use jejak_engine::privacy::Scrubbed;
use jejak_engine::store::LeaseRow;
use jejak_engine::workflow::Workflow;
use jejak_projections::{DifferenceKind, RunState, Status as ViewStatus};
use jejak_proto::v1 as pb;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::require;
use crate::App;
use crate::convert::written;
use crate::error::{invalid, status};

fn status_out(s: ViewStatus, leases: &[LeaseRow], here: Uuid) -> pb::ProjectionStatus {
    let leader = leases
        .iter()
        .find(|l| l.held && l.name == format!("view:{}", s.name))
        .map(|l| l.holder);
    let (state, error, error_position) = match s.state {
        RunState::Starting => (pb::ProjectionState::Starting, String::new(), 0),
        RunState::Standby => (pb::ProjectionState::Standby, String::new(), 0),
        RunState::CatchingUp => (pb::ProjectionState::CatchingUp, String::new(), 0),
        RunState::Following => (pb::ProjectionState::Following, String::new(), 0),
        RunState::Rebuilding => (pb::ProjectionState::Rebuilding, String::new(), 0),
        RunState::Failed { error, position } => (pb::ProjectionState::Failed, error, position),
    };
    pb::ProjectionStatus {
        name: s.name,
        state: state as i32,
        position: s.position,
        head: s.head,
        lag_events: s.lag_events,
        lag_seconds: s.lag_seconds,
        generation: s.generation,
        rebuild_position: s.rebuild_position.unwrap_or(0),
        error,
        error_position,
        leader: leader.map(|l| l.to_string()).unwrap_or_default(),
        // On SQLite (no leases) the one server applies every view it does
        // not stand by for.
        led_here: leader == Some(here)
            || (leases.is_empty() && state != pb::ProjectionState::Standby),
    }
}

fn summary(w: &Workflow) -> pb::WorkflowSummary {
    pb::WorkflowSummary {
        name: w.name.clone(),
        version: w.version,
        kind: w.kind.as_str().to_owned(),
        description: w.description.clone(),
        hash: w.hash.clone(),
        states: w.states.iter().map(|s| s.name.clone()).collect(),
        owner: w.owner_label(),
    }
}

#[tonic::async_trait]
impl pb::admin_server::Admin for App {
    async fn get_projection_status(
        &self,
        request: Request<pb::GetProjectionStatusRequest>,
    ) -> Result<Response<pb::ProjectionStatusList>, Status> {
        let actor = self.actor(&request)?;
        require(
            &actor,
            &[Role::Admin, Role::Auditor],
            "read projection status",
        )?;
        let runner = self.views().runner();
        let leases = runner.leases().await.map_err(status)?;
        let projections = runner
            .statuses()
            .into_iter()
            .map(|s| status_out(s, &leases, runner.holder()))
            .collect();
        let store = self.engine().store();
        let verified_position = store
            .verified_on_start()
            .await
            .map_err(status)?
            .map_or(0, |d| d.position);
        let outbox = store.outbox_summary().await.map_err(status)?;
        Ok(Response::new(pb::ProjectionStatusList {
            projections,
            bad_snapshots_ignored: store.bad_snapshots_ignored(),
            verified_position,
            outbox: Some(super::notifications::summary_out(outbox)),
        }))
    }

    async fn rebuild_projection(
        &self,
        request: Request<pb::RebuildProjectionRequest>,
    ) -> Result<Response<pb::ProjectionStatus>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, &[Role::Admin], "rebuild projections")?;
        let name = request.into_inner().name;
        let runner = self.views().runner();
        let standing_by = runner
            .statuses()
            .into_iter()
            .find(|s| s.name == name)
            .is_some_and(|s| s.state == RunState::Standby);
        if standing_by {
            // Another server applies it: ask it, through the view's lease
            // (ADR 0029), and answer at once with this server's status,
            // which names the leader.
            if !runner.request_rebuild(&name).await.map_err(status)? {
                return Err(Status::unavailable(format!(
                    "no server applies view '{name}' at this moment (one is taking it over); \
                     send the rebuild again in a few seconds"
                )));
            }
            let leases = runner.leases().await.map_err(status)?;
            let current = runner
                .statuses()
                .into_iter()
                .find(|s| s.name == name)
                .ok_or_else(|| Status::not_found(name))?;
            return Ok(Response::new(status_out(current, &leases, runner.holder())));
        }
        runner.rebuild(&name).map_err(|_| {
            invalid(
                "name",
                format!(
                    "there is no view '{name}'; views are {}",
                    runner.names().join(", ")
                ),
            )
        })?;
        let current = runner
            .statuses()
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| Status::not_found(name))?;
        let leases = runner.leases().await.map_err(status)?;
        Ok(Response::new(status_out(current, &leases, runner.holder())))
    }

    async fn list_workflows(
        &self,
        request: Request<pb::ListWorkflowsRequest>,
    ) -> Result<Response<pb::ListWorkflowsResponse>, Status> {
        self.actor(&request)?;
        let workflows = self
            .engine()
            .workflows()
            .list()
            .iter()
            .map(|w| summary(w))
            .collect();
        Ok(Response::new(pb::ListWorkflowsResponse { workflows }))
    }

    async fn get_workflow(
        &self,
        request: Request<pb::GetWorkflowRequest>,
    ) -> Result<Response<pb::WorkflowDefinition>, Status> {
        self.actor(&request)?;
        let r = request.into_inner();
        let registry = self.engine().workflows();
        let workflow = if r.version == 0 {
            registry.latest(&r.name)
        } else {
            registry.get(&r.name, r.version)
        }
        .ok_or_else(|| {
            Status::not_found(format!(
                "workflow {} v{} is not registered",
                r.name, r.version
            ))
        })?;
        Ok(Response::new(pb::WorkflowDefinition {
            summary: Some(summary(&workflow)),
            source: workflow.source.clone(),
        }))
    }

    async fn register_workflow(
        &self,
        request: Request<pb::RegisterWorkflowRequest>,
    ) -> Result<Response<pb::RegisterWorkflowResponse>, Status> {
        let (ctx, r) = self.command(request)?;
        let file = if r.file_name.trim().is_empty() {
            "workflow.toml"
        } else {
            r.file_name.trim()
        };
        let (workflow, outcome) = self
            .engine()
            .register_workflow(&ctx, file, &r.source)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RegisterWorkflowResponse {
            workflow: Some(summary(&workflow)),
            result: Some(written(outcome)),
        }))
    }

    async fn check_views(
        &self,
        request: Request<pb::CheckViewsRequest>,
    ) -> Result<Response<pb::CheckViewsResponse>, Status> {
        let actor = self.actor(&request)?;
        require(&actor, &[Role::Admin, Role::Auditor], "check the views")?;
        let checks = jejak_projections::views::check_all(self.views().runner())
            .await
            .map_err(status)?;
        let views = checks
            .into_iter()
            .map(|c| {
                let (failed_position, failed_error) = c.failed.unwrap_or_default();
                pb::ViewCheck {
                    name: c.name,
                    position: c.position,
                    documents: c.documents as u64,
                    differences: c
                        .differences
                        .into_iter()
                        .map(|d| pb::ViewDifference {
                            key: d.key,
                            kind: match d.kind {
                                DifferenceKind::Missing => "missing",
                                DifferenceKind::Extra => "extra",
                                DifferenceKind::Changed => "changed",
                            }
                            .to_owned(),
                        })
                        .collect(),
                    failed_position,
                    failed_error,
                }
            })
            .collect();
        Ok(Response::new(pb::CheckViewsResponse { views }))
    }

    async fn add_unit(
        &self,
        request: Request<pb::AddUnitRequest>,
    ) -> Result<Response<pb::WriteResult>, Status> {
        let (ctx, r) = self.command(request)?;
        self.unit_add(&ctx, r).await
    }

    async fn rename_unit(
        &self,
        request: Request<pb::RenameUnitRequest>,
    ) -> Result<Response<pb::WriteResult>, Status> {
        let (ctx, r) = self.command(request)?;
        self.unit_rename(&ctx, r).await
    }

    async fn list_units(
        &self,
        request: Request<pb::ListUnitsRequest>,
    ) -> Result<Response<pb::ListUnitsResponse>, Status> {
        self.actor(&request)?;
        Ok(Response::new(self.units_list(request.get_ref()).await?))
    }

    async fn revoke_tokens(
        &self,
        request: Request<pb::RevokeTokensRequest>,
    ) -> Result<Response<pb::WriteResult>, Status> {
        let (ctx, r) = self.command(request)?;
        require(&ctx.actor, &[Role::Admin], "revoke tokens")?;
        let reason = if r.reason.trim().is_empty() {
            "revoked by an operator".to_owned()
        } else {
            r.reason
        };
        // A participant named by NIP is revoked by their person id: the
        // log never records a NIP.
        let subject = match jejak_engine::domain::values::Nip::parse(r.subject.trim()) {
            Ok(nip) => self
                .engine()
                .store()
                .find_person(&nip)
                .await
                .map_err(status)?
                .map(|person| person.to_string())
                .ok_or_else(|| super::not_found("participant", "with that NIP"))?,
            Err(_) => r.subject.trim().to_owned(),
        };
        let event = match (r.token_id.trim(), subject.as_str()) {
            (id, "") if !id.is_empty() => AccessEvent::TokenRevoked {
                token_id: id.to_owned(),
                reason,
            },
            ("", subject) if !subject.is_empty() => AccessEvent::SubjectTokensRevoked {
                subject: subject.to_owned(),
                // Tokens say when they were issued by the system clock.
                issued_before: if r.issued_before.trim().is_empty() {
                    chrono::Utc::now()
                } else {
                    chrono::DateTime::parse_from_rfc3339(r.issued_before.trim())
                        .map_err(|_| {
                            invalid(
                                "issued_before",
                                "write an RFC 3339 moment such as 2026-03-02T08:00:00Z, or leave it empty for now",
                            )
                        })?
                        .with_timezone(&chrono::Utc)
                },
                reason,
            },
            _ => {
                return Err(invalid(
                    "token_id",
                    "give either token_id (one token) or subject (every token of a subject issued before issued_before)",
                ));
            }
        };
        let outcome = self.engine().revoke(&ctx, event).await.map_err(status)?;
        // This server refuses the token at once; the others within seconds.
        self.refresh_revocations().await;
        Ok(Response::new(written(outcome)))
    }

    async fn erase_person(
        &self,
        request: Request<pb::ErasePersonRequest>,
    ) -> Result<Response<pb::ErasePersonResponse>, Status> {
        let (ctx, r) = self.command(request)?;
        require(&ctx.actor, &[Role::Admin], "erase a person")?;
        let erasure = self
            .engine()
            .erase_person(&ctx, r.person_id.trim(), &r.basis)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ErasePersonResponse {
            result: Some(written(erasure.outcome)),
            scrubbed: describe(erasure.scrubbed).to_owned(),
            // Views keep a participant's fields sealed and open them when
            // read: they show "[dihapus]" at once, with no rebuild (ADR 0022).
            views_rebuilding: Vec::new(),
        }))
    }

    async fn get_privacy_report(
        &self,
        request: Request<pb::PrivacyReportRequest>,
    ) -> Result<Response<pb::PrivacyReport>, Status> {
        let actor = self.actor(&request)?;
        let report = self
            .privacy_report(&actor, &request.get_ref().person_id)
            .await?;
        Ok(Response::new(report))
    }

    async fn list_retention(
        &self,
        request: Request<pb::ListRetentionRequest>,
    ) -> Result<Response<pb::ListRetentionResponse>, Status> {
        let actor = self.actor(&request)?;
        Ok(Response::new(self.retention(&actor).await?))
    }
}

/// What became of an erased key's bytes, in words.
fn describe(scrubbed: Scrubbed) -> &'static str {
    match scrubbed {
        Scrubbed::Overwritten => "overwritten in the database file and its write-ahead log",
        Scrubbed::Vacuumed => "gone: the key table was rewritten (VACUUM FULL)",
        Scrubbed::VacuumPending => {
            "deleted; its old row version stays in the key table's file until the \
             schema's owner runs `jejak privacy vacuum --owner-url URL`"
        }
        Scrubbed::WalBusy => {
            "overwritten in the database file; the write-ahead log was in use and \
             keeps the old page until it is overwritten"
        }
    }
}
