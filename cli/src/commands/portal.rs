//! `jejak admin portal`: which accounts of the region's identity provider
//! may sign in to the web portal, and as whom (ADR 0036).
//!
//! Grants live in the log's database beside the log (`portal_grants`), so
//! these commands open the database as `jejak serve` does (its
//! `--database-url`, `--config`, `--data-dir`): like `jejak token issue`,
//! they are for whoever runs the server. Every server sharing the database
//! sees a change at the next sign-in or request.

use anyhow::Context as _;
use clap::Subcommand;
use jejak_engine::domain::Role;
use jejak_engine::domain::values::{Nip, OpdCode, PersonId};
use jejak_engine::store::{EventStore, GrantRow, StoreConfig};

use crate::client::{Connection, Failure, Outcome, print_json, table};
use crate::serve::DataArgs;

#[derive(Debug, Subcommand)]
pub enum PortalCommand {
    /// Lets an account of the identity provider sign in to the portal as a
    /// jejak subject in a role (replacing what it had: its open sessions end).
    Grant {
        /// The account's subject at the identity provider (the `sub` of its
        /// ID tokens: an opaque id; the portal shows it to an account it
        /// refuses).
        #[arg(long)]
        issuer_subject: String,
        /// The jejak subject its sessions act as: a staff user id, or a
        /// participant's person id (`jejak cohort find --nip` prints it).
        #[arg(long, required_unless_present = "nip")]
        subject: Option<String>,
        /// A participant's NIP instead of their person id: looked up in the
        /// people index (they must be enrolled).
        #[arg(long, conflicts_with = "subject")]
        nip: Option<String>,
        /// The role: participant, mentor, coach, examiner, organizer,
        /// innovation_officer, brida_officer, auditor, admin.
        #[arg(long)]
        role: String,
        /// The OPD an innovation officer acts for.
        #[arg(long)]
        opd: Option<String>,
        /// The training provider an organizer acts for.
        #[arg(long)]
        provider: Option<String>,
        #[command(flatten)]
        issuer: IssuerArgs,
    },
    /// Revokes an account's grant: it cannot sign in, and its open sessions
    /// end at their next request.
    Revoke {
        /// The account's subject at the identity provider.
        #[arg(long)]
        issuer_subject: String,
        #[command(flatten)]
        issuer: IssuerArgs,
    },
    /// Every grant.
    List {
        #[command(flatten)]
        issuer: IssuerArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct IssuerArgs {
    /// The identity provider (its issuer URL, as the portal is configured
    /// with it). Default: JEJAK_WEB_OIDC_ISSUER or the config file's
    /// [web_oidc] issuer.
    #[arg(long)]
    issuer: Option<String>,
    #[command(flatten)]
    data: DataArgs,
}

impl IssuerArgs {
    fn issuer(&self) -> Result<Option<String>, Failure> {
        match &self.issuer {
            Some(issuer) => Ok(Some(issuer.trim().to_owned())),
            None => Ok(self.data.web_oidc_issuer()?),
        }
    }

    fn required_issuer(&self) -> Result<String, Failure> {
        self.issuer()?.ok_or_else(|| {
            Failure::Usage(
                "which identity provider? give --issuer URL (or configure the portal's: \
                 JEJAK_WEB_OIDC_ISSUER, or issuer in the config file's [web_oidc])"
                    .into(),
            )
        })
    }

    async fn store(&self) -> Result<EventStore, Failure> {
        let url = self.data.database_url()?;
        EventStore::open(
            &url,
            StoreConfig {
                pool_size: 2,
                ..StoreConfig::default()
            },
        )
        .await
        .with_context(|| format!("cannot open the log's database at {url}"))
        .map_err(Failure::from)
    }
}

pub async fn run(c: &Connection, command: PortalCommand) -> Outcome {
    match command {
        PortalCommand::Grant {
            issuer_subject,
            subject,
            nip,
            role,
            opd,
            provider,
            issuer,
        } => {
            let role = Role::parse(&role).map_err(|e| Failure::Usage(e.to_string()))?;
            if jejak_server::auth::INTERNAL_ROLES.contains(&role) {
                return Err(Failure::Usage(
                    "'system' is jejak itself; grant people's roles".into(),
                ));
            }
            let opd = opd
                .as_deref()
                .map(OpdCode::parse)
                .transpose()
                .map_err(|e| Failure::Usage(e.to_string()))?;
            if role == Role::InnovationOfficer && opd.is_none() {
                return Err(Failure::Usage(
                    "an innovation officer acts for one OPD: add --opd CODE".into(),
                ));
            }
            if provider.is_some() && role != Role::Organizer {
                return Err(Failure::Usage(
                    "--provider is for organizers: the provider they act for".into(),
                ));
            }
            let issuer_subject = issuer_subject.trim().to_owned();
            if issuer_subject.is_empty() {
                return Err(Failure::Usage("--issuer-subject is empty".into()));
            }
            let issuer_url = issuer.required_issuer()?;
            let store = issuer.store().await?;
            let subject = match (subject, nip) {
                (_, Some(nip)) => {
                    if role != Role::Participant {
                        return Err(Failure::Usage(
                            "--nip is for participants; staff are named by --subject".into(),
                        ));
                    }
                    let nip = Nip::parse(&nip).map_err(|e| Failure::Usage(e.to_string()))?;
                    store
                        .find_person(&nip)
                        .await
                        .context("cannot read the people index")?
                        .ok_or_else(|| {
                            Failure::Refused(
                                "no one is enrolled with this NIP; enrol them first, or give \
                                 --subject PERSON_ID"
                                    .into(),
                            )
                        })?
                        .to_string()
                }
                (Some(subject), None) => {
                    let subject = subject.trim().to_owned();
                    if role == Role::Participant && PersonId::parse(&subject).is_err() {
                        return Err(Failure::Usage(
                            "a participant's --subject is their person id (a UUID; `jejak cohort \
                             find --nip` prints it); to name them by NIP use --nip"
                                .into(),
                        ));
                    }
                    if subject.is_empty() {
                        return Err(Failure::Usage("--subject is empty".into()));
                    }
                    subject
                }
                (None, None) => return Err(Failure::Usage("give --subject or --nip".into())),
            };
            let row = GrantRow {
                issuer: issuer_url,
                issuer_subject,
                grant_id: uuid::Uuid::now_v7().to_string(),
                subject,
                role: role.as_str().to_owned(),
                opd: opd.map(|o| o.to_string()),
                provider: provider.map(|p| p.trim().to_owned()),
                granted_at: chrono::Utc::now(),
            };
            store
                .put_portal_grant(&row)
                .await
                .context("cannot record the grant")?;
            if c.json {
                print_json(&grant_json(&row));
            } else {
                say!(
                    "the account {} of {} signs in to the portal as {} ({})",
                    row.issuer_subject,
                    row.issuer,
                    row.subject,
                    row.role
                );
            }
            Ok(())
        }
        PortalCommand::Revoke {
            issuer_subject,
            issuer,
        } => {
            let issuer_url = issuer.required_issuer()?;
            let store = issuer.store().await?;
            let removed = store
                .remove_portal_grant(&issuer_url, issuer_subject.trim())
                .await
                .context("cannot revoke the grant")?;
            if !removed {
                return Err(Failure::Refused(format!(
                    "the account {} of {issuer_url} has no grant",
                    issuer_subject.trim()
                )));
            }
            if c.json {
                print_json(&serde_json::json!({ "revoked": true }));
            } else {
                say!(
                    "the account {} of {issuer_url} can no longer sign in; its sessions end at their next request",
                    issuer_subject.trim()
                );
            }
            Ok(())
        }
        PortalCommand::List { issuer } => {
            let issuer_url = issuer.issuer()?;
            let store = issuer.store().await?;
            let rows = store
                .portal_grants(issuer_url.as_deref())
                .await
                .context("cannot read the grants")?;
            if c.json {
                print_json(&serde_json::json!(
                    rows.iter().map(grant_json).collect::<Vec<_>>()
                ));
            } else {
                let lines = rows.iter().map(|r| {
                    vec![
                        r.issuer.clone(),
                        r.issuer_subject.clone(),
                        r.subject.clone(),
                        r.role.clone(),
                        r.opd
                            .clone()
                            .or_else(|| r.provider.clone())
                            .unwrap_or_default(),
                        r.granted_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                    ]
                });
                say!(
                    "{}",
                    table(
                        &["issuer", "account", "subject", "role", "scope", "granted"],
                        lines
                    )
                );
            }
            Ok(())
        }
    }
}

fn grant_json(row: &GrantRow) -> serde_json::Value {
    serde_json::json!({
        "issuer": row.issuer, "issuer_subject": row.issuer_subject, "grant_id": row.grant_id,
        "subject": row.subject, "role": row.role, "opd": row.opd, "provider": row.provider,
        "granted_at": row.granted_at.to_rfc3339(),
    })
}
