//! Operators: read models, workflow definitions, the outbox.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use jejak_engine::workflow::Workflow;
use jejak_proto::v1 as pb;

use crate::client::{Connection, Failure, Outcome, print_json, table};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Every view's position, lag and state.
    Status,
    /// Rebuilds a view from zero while the old one serves, showing progress.
    Rebuild {
        /// The view: project_board, cohorts or innovation_register.
        name: String,
    },
    /// Workflow definitions.
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Sets up PostgreSQL: an owner role that migrates, a server role that only reads and appends.
    InitDb(super::init_db::InitDbArgs),
    /// Rebuilds each view from the log in a scratch generation and lists every difference from the live one.
    CheckViews,
    /// The region's units: OPDs, puskesmas, kecamatan.
    #[command(subcommand)]
    Unit(super::units::UnitCommand),
    /// The region's units from a file.
    #[command(subcommand)]
    Units(super::units::UnitsCommand),
    /// The web portal's sign-in through the region's identity provider:
    /// which accounts may sign in, as whom (opens the log's database).
    #[command(subcommand)]
    Portal(Box<super::portal::PortalCommand>),
    /// The notifications' outbox: what is owed to whom, what failed; retry one.
    #[command(subcommand)]
    Outbox(super::notifications::OutboxCommand),
    /// Revokes one token (--token-id, the jti `jejak token issue` prints) or
    /// every token of a subject issued before a moment (--subject); every
    /// server sharing the log refuses them within seconds.
    Revoke {
        /// The token's id (jti).
        #[arg(long, conflicts_with = "subject", required_unless_present = "subject")]
        token_id: Option<String>,
        /// A subject (staff user id, or a participant's person id or NIP,
        /// which the server records as their person id) whose tokens are refused.
        #[arg(long)]
        subject: Option<String>,
        /// With --subject: refuse its tokens issued before this RFC 3339
        /// moment (default: now).
        #[arg(long, requires = "subject")]
        issued_before: Option<String>,
        /// Why (kept in the log).
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Every registered version.
    List,
    /// One version's source (default: the newest).
    Show {
        /// Its name.
        name: String,
        /// Its version.
        #[arg(long, default_value_t = 0)]
        version: u32,
    },
    /// Registers a new version from a file.
    Register {
        /// The TOML file.
        file: PathBuf,
    },
    /// Checks a file offline, without registering it.
    Validate {
        /// The TOML file.
        file: PathBuf,
    },
}

fn state_name(s: i32) -> String {
    pb::ProjectionState::try_from(s)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("PROJECTION_STATE_")
                .to_lowercase()
        })
        .unwrap_or_default()
}

pub async fn run(c: &Connection, command: AdminCommand) -> Outcome {
    match command {
        AdminCommand::InitDb(args) => super::init_db::run(c, args).await,
        AdminCommand::CheckViews => check_views(c).await,
        AdminCommand::Unit(command) => super::units::unit(c, command).await,
        AdminCommand::Units(command) => super::units::units(c, command).await,
        AdminCommand::Outbox(command) => super::notifications::outbox(c, command).await,
        AdminCommand::Portal(command) => super::portal::run(c, *command).await,
        AdminCommand::Status => {
            let list = c
                .admin()?
                .get_projection_status(pb::GetProjectionStatusRequest {})
                .await?
                .into_inner();
            if c.json {
                print_json(&serde_json::json!({
                    "views": list.projections.iter().map(|p| serde_json::json!({
                        "name": p.name, "state": state_name(p.state), "position": p.position, "head": p.head,
                        "lag_events": p.lag_events, "lag_seconds": p.lag_seconds, "generation": p.generation, "error": p.error,
                        "leader": p.leader, "led_here": p.led_here,
                    })).collect::<Vec<_>>(),
                    "verified_position": list.verified_position,
                    "bad_snapshots_ignored": list.bad_snapshots_ignored,
                    "outbox": super::notifications::summary_json(list.outbox.as_ref()),
                }));
            } else {
                let rows = list.projections.iter().map(|p| {
                    vec![
                        p.name.clone(),
                        state_name(p.state),
                        p.position.to_string(),
                        p.lag_events.to_string(),
                        format!("{:.1}", p.lag_seconds),
                        match (p.led_here, p.leader.is_empty()) {
                            (true, _) => "this server".to_owned(),
                            (false, true) => String::new(),
                            (false, false) => p.leader.clone(),
                        },
                        p.error.clone(),
                    ]
                });
                say!(
                    "{}",
                    table(
                        &[
                            "view",
                            "state",
                            "position",
                            "lag (events)",
                            "lag (s)",
                            "applied by",
                            "error"
                        ],
                        rows
                    )
                );
                say!(
                    "log verified on start up to position {}",
                    list.verified_position
                );
                super::notifications::print_summary(list.outbox.as_ref());
                if list.bad_snapshots_ignored > 0 {
                    say!(
                        "{} snapshot(s) did not match the log and were ignored since the server \
                         started; `jejak audit verify` lists them",
                        list.bad_snapshots_ignored
                    );
                }
            }
            Ok(())
        }
        AdminCommand::Rebuild { name } => {
            let mut admin = c.admin()?;
            let started = admin
                .rebuild_projection(pb::RebuildProjectionRequest { name: name.clone() })
                .await?
                .into_inner();
            if started.state == pb::ProjectionState::Standby as i32 {
                // Another server applies it; it was asked to rebuild.
                say!(
                    "view {name} is applied by server {}, which was asked to rebuild it and starts within seconds; \
                     `jejak admin status` on any server shows its progress",
                    started.leader
                );
                return Ok(());
            }
            let bar = indicatif::ProgressBar::new(started.head.max(1));
            bar.set_style(
                indicatif::ProgressStyle::with_template("rebuilding {msg} [{bar:40}] {pos}/{len}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message(name.clone());
            let mut ticker = tokio::time::interval(std::time::Duration::from_millis(200));
            loop {
                ticker.tick().await;
                let list = admin
                    .get_projection_status(pb::GetProjectionStatusRequest {})
                    .await?
                    .into_inner();
                let Some(now) = list.projections.into_iter().find(|p| p.name == name) else {
                    break;
                };
                bar.set_length(now.head.max(1));
                bar.set_position(if now.rebuild_position > 0 {
                    now.rebuild_position
                } else {
                    now.position
                });
                if now.generation > started.generation
                    && now.state == pb::ProjectionState::Following as i32
                {
                    break;
                }
                if now.state == pb::ProjectionState::Failed as i32 {
                    bar.abandon();
                    return Err(Failure::Refused(format!(
                        "view {name} failed at position {}: {}",
                        now.error_position, now.error
                    )));
                }
            }
            bar.finish_and_clear();
            say!("view {name} rebuilt");
            Ok(())
        }
        AdminCommand::Revoke {
            token_id,
            subject,
            issued_before,
            reason,
        } => c.written(
            "revocation",
            &c.admin()?
                .revoke_tokens(pb::RevokeTokensRequest {
                    request_id: c.request_id(),
                    token_id: token_id.unwrap_or_default(),
                    subject: subject.unwrap_or_default(),
                    issued_before: issued_before.unwrap_or_default(),
                    reason,
                })
                .await?
                .into_inner(),
        ),
        AdminCommand::Workflow(WorkflowCommand::List) => {
            let list = c
                .admin()?
                .list_workflows(pb::ListWorkflowsRequest {})
                .await?
                .into_inner();
            if c.json {
                print_json(&serde_json::json!(list.workflows.iter().map(|w| serde_json::json!({
                    "name": w.name, "version": w.version, "kind": w.kind, "hash": w.hash, "states": w.states, "description": w.description, "owner": w.owner,
                })).collect::<Vec<_>>()));
            } else {
                say!(
                    "{}",
                    table(
                        &["workflow", "version", "kind", "owner", "states", "hash"],
                        list.workflows.iter().map(|w| vec![
                            w.name.clone(),
                            w.version.to_string(),
                            w.kind.clone(),
                            w.owner.clone(),
                            w.states.join(" → "),
                            w.hash[..12.min(w.hash.len())].to_owned()
                        ])
                    )
                );
            }
            Ok(())
        }
        AdminCommand::Workflow(WorkflowCommand::Show { name, version }) => {
            let w = c
                .admin()?
                .get_workflow(pb::GetWorkflowRequest { name, version })
                .await?
                .into_inner();
            if c.json {
                print_json(
                    &serde_json::json!({ "name": w.summary.as_ref().map(|s| s.name.clone()), "version": w.summary.as_ref().map(|s| s.version), "source": w.source }),
                );
            } else {
                say!("{}", w.source);
            }
            Ok(())
        }
        AdminCommand::Workflow(WorkflowCommand::Register { file }) => {
            let source = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let request = pb::RegisterWorkflowRequest {
                request_id: c.request_id(),
                file_name: file.display().to_string(),
                source,
            };
            let r = c.admin()?.register_workflow(request).await?.into_inner();
            let w = r.workflow.unwrap_or_default();
            if c.json {
                print_json(
                    &serde_json::json!({ "request_id": c.request_id(), "name": w.name, "version": w.version, "hash": w.hash }),
                );
            } else {
                say!("registered {} v{}", w.name, w.version);
            }
            Ok(())
        }
        AdminCommand::Workflow(WorkflowCommand::Validate { file }) => {
            let source = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            match Workflow::parse(&file.display().to_string(), &source) {
                Ok(w) => {
                    if c.json {
                        print_json(
                            &serde_json::json!({ "valid": true, "name": w.name, "version": w.version, "hash": w.hash }),
                        );
                    } else {
                        say!(
                            "{} v{} is valid: {} states, {} transitions",
                            w.name,
                            w.version,
                            w.states.len(),
                            w.transitions.len()
                        );
                    }
                    Ok(())
                }
                Err(e) => Err(Failure::Refused(e.to_string())),
            }
        }
    }
}

async fn check_views(c: &Connection) -> Outcome {
    let checks = c
        .admin()?
        .check_views(pb::CheckViewsRequest {})
        .await?
        .into_inner()
        .views;
    let differing: usize = checks
        .iter()
        .filter(|v| !v.differences.is_empty() || v.failed_position > 0)
        .count();
    if c.json {
        print_json(&serde_json::json!(checks.iter().map(|v| serde_json::json!({
            "name": v.name, "position": v.position, "documents": v.documents,
            "differences": v.differences.iter().map(|d| serde_json::json!({"key": d.key, "kind": d.kind})).collect::<Vec<_>>(),
            "failed_position": v.failed_position, "failed_error": v.failed_error,
        })).collect::<Vec<_>>()));
    } else {
        for v in &checks {
            if v.failed_position > 0 {
                say!(
                    "{}: rebuilding stopped at position {}: {}",
                    v.name,
                    v.failed_position,
                    v.failed_error
                );
            }
            if v.differences.is_empty() {
                say!(
                    "{}: matches the log ({} documents at position {})",
                    v.name,
                    v.documents,
                    v.position
                );
            } else {
                say!(
                    "{}: {} of its documents differ from the log at position {}:",
                    v.name,
                    v.differences.len(),
                    v.position
                );
                for d in &v.differences {
                    say!("  {} ({})", d.key, d.kind);
                }
            }
        }
    }
    if differing == 0 {
        Ok(())
    } else {
        Err(Failure::Refused(format!(
            "{differing} view(s) differ from the log; `jejak admin rebuild VIEW` rebuilds one from it"
        )))
    }
}
