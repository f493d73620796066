//! The command mix the command figures measure: what people do most is
//! add to streams that exist (a comment on a change project, evidence on
//! an innovation), and now and then a stream is created (an innovation
//! registered).
//!
//! Each database is seeded through the engine's commands with the demo
//! city (its change projects) and up to [`SEEDED`] innovations of 10 to 70
//! pieces of evidence each, so the streams commented on and added to hold
//! 10–100 events when the measurement starts.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use jejak_engine::domain::change_project::{ChangeProject, ProjectCommand};
use jejak_engine::domain::innovation::{Innovation, InnovationCommand};
use jejak_engine::domain::values::{Attachment, InnovationId};
use jejak_engine::domain::{Actor, Role};
use jejak_engine::engine::{Context, Engine};
use jejak_proto::v1 as pb;

/// Innovations seeded beside the demo city's, at most.
pub const SEEDED: usize = 300;
/// Of every 100 commands: comments on change projects, then evidence on
/// innovations; the rest register new innovations.
const COMMENTS: u64 = 30;
const EVIDENCE: u64 = 63;

/// The organizer of the demo city's cohorts, who may comment on all its projects.
pub const ORGANIZER: &str = "bkpsdm-admin";
/// The BRIDA officer of the demo city, who keeps the innovation register.
pub const BRIDA: &str = "brida-admin";

/// The streams a database was seeded with.
#[derive(Clone, Debug)]
pub struct Targets {
    /// Change projects a comment is taken on.
    pub projects: Arc<Vec<String>>,
    /// Innovations evidence is taken on.
    pub innovations: Arc<Vec<String>>,
    /// Events of those streams: fewest, mean, most.
    pub sizes: (u64, f64, u64),
}

impl Targets {
    /// The mix, stated for the output.
    pub fn describe(&self) -> String {
        let (min, mean, max) = self.sizes;
        format!(
            "{COMMENTS}% comments on {} change projects, {EVIDENCE}% evidence on {} innovations \
             (those streams hold {min}–{max} events, {mean:.0} on average, when measuring starts), \
             {}% new innovations registered",
            self.projects.len(),
            self.innovations.len(),
            100 - COMMENTS - EVIDENCE
        )
    }
}

/// One command of the mix.
pub enum Pick<'a> {
    Comment(&'a str),
    Evidence(&'a str),
    Register,
}

/// The `n`th command of client `c`: spread over the streams so that
/// clients meet on one now and then, as people do.
pub fn pick(targets: &Targets, c: usize, n: u64) -> Pick<'_> {
    let h = (c as u64 + 1)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(n.wrapping_mul(0xbf58_476d_1ce4_e5b9));
    let h = h ^ (h >> 31);
    let kind = h % 100;
    let at = (h >> 8) as usize;
    if kind < COMMENTS {
        Pick::Comment(&targets.projects[at % targets.projects.len()])
    } else if kind < COMMENTS + EVIDENCE {
        Pick::Evidence(&targets.innovations[at % targets.innovations.len()])
    } else {
        Pick::Register
    }
}

pub fn attachment(n: u64) -> Attachment {
    Attachment::new(
        "attachment",
        &format!("{:064x}", n.wrapping_mul(7_919) + 1),
        &format!("https://arsip.cilegon.example/bukti/{n}.pdf"),
        "bukti.pdf",
        "application/pdf",
    )
    .expect("a valid attachment")
}

pub fn pb_attachment(n: u64) -> pb::Attachment {
    pb::Attachment {
        sha256: format!("{:064x}", n.wrapping_mul(7_919) + 1),
        uri: format!("https://arsip.cilegon.example/bukti/{n}.pdf"),
        name: "bukti.pdf".into(),
        media_type: "application/pdf".into(),
        ..pb::Attachment::default()
    }
}

/// Runs one command of the mix through `engine` under request id `id`.
pub async fn direct(
    engine: &Engine,
    targets: &Targets,
    c: usize,
    n: u64,
    id: &str,
) -> anyhow::Result<()> {
    match pick(targets, c, n) {
        Pick::Comment(project) => {
            let ctx = Context::new(Actor::new(ORGANIZER, Role::Organizer), id);
            engine
                .execute::<ChangeProject>(
                    project,
                    &ctx,
                    ProjectCommand::Comment {
                        text: "Perjelas indikator keberhasilan".into(),
                    },
                )
                .await?;
        }
        Pick::Evidence(innovation) => {
            let ctx = Context::new(Actor::new(BRIDA, Role::BridaOfficer), id);
            engine
                .execute::<Innovation>(
                    innovation,
                    &ctx,
                    InnovationCommand::AddEvidence {
                        indicator: "regulasi".into(),
                        attachment: attachment(n),
                    },
                )
                .await?;
        }
        Pick::Register => {
            let ctx = Context::new(Actor::new(BRIDA, Role::BridaOfficer), id);
            engine
                .execute::<Innovation>(
                    id,
                    &ctx,
                    InnovationCommand::Register {
                        innovation_id: InnovationId::parse(id)?,
                        profile: super::grpc::profile(n),
                        origin: None,
                    },
                )
                .await?;
        }
    }
    Ok(())
}

/// The gRPC clients of the mix: the organizer's and the BRIDA officer's.
#[derive(Clone)]
pub struct Callers {
    pub organizer: jejak_proto::Authed,
    pub brida: jejak_proto::Authed,
}

/// Runs one command of the mix through gRPC under request id `id`.
pub async fn grpc(
    callers: &Callers,
    targets: &Targets,
    c: usize,
    n: u64,
    id: &str,
) -> anyhow::Result<()> {
    match pick(targets, c, n) {
        Pick::Comment(project) => {
            pb::change_projects_client::ChangeProjectsClient::new(callers.organizer.clone())
                .comment(pb::ProjectAction {
                    request_id: id.to_owned(),
                    project_id: project.to_owned(),
                    note: "Perjelas indikator keberhasilan".into(),
                    expected_version: None,
                })
                .await?;
        }
        Pick::Evidence(innovation) => {
            pb::innovations_client::InnovationsClient::new(callers.brida.clone())
                .add_evidence(pb::AddEvidenceRequest {
                    request_id: id.to_owned(),
                    innovation_id: innovation.to_owned(),
                    indicator: "regulasi".into(),
                    attachment: Some(pb_attachment(n)),
                    expected_version: None,
                })
                .await?;
        }
        Pick::Register => {
            pb::innovations_client::InnovationsClient::new(callers.brida.clone())
                .register_innovation(super::grpc::request(id, n))
                .await?;
        }
    }
    Ok(())
}

/// Seeds `engine`'s log: the demo city, then `innovations` innovations with
/// 10–70 pieces of evidence each, from 16 tasks; returns the streams the
/// mix works on (only those a first comment or piece of evidence was
/// taken on).
pub async fn seed(engine: &Engine, innovations: usize) -> anyhow::Result<Targets> {
    let seeded = innovations;
    crate::commands::demo::load(engine, indicatif::ProgressBar::hidden())
        .await
        .context("seeding the demo city")?;
    let brida = Actor::new(BRIDA, Role::BridaOfficer);
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let engine = engine.clone();
            let brida = brida.clone();
            tokio::spawn(async move {
                for k in (t..seeded).step_by(16) {
                    let id = format!("bench-inv-{k:03}");
                    engine
                        .execute::<Innovation>(
                            &id,
                            &Context::new(brida.clone(), format!("seed-{id}")),
                            InnovationCommand::Register {
                                innovation_id: InnovationId::parse(&id)?,
                                profile: super::grpc::profile(k as u64),
                                origin: None,
                            },
                        )
                        .await?;
                    for e in 0..10 + (k * 37) % 61 {
                        engine
                            .execute::<Innovation>(
                                &id,
                                &Context::new(brida.clone(), format!("seed-{id}-{e}")),
                                InnovationCommand::AddEvidence {
                                    indicator: "regulasi".into(),
                                    attachment: attachment(e as u64),
                                },
                            )
                            .await?;
                    }
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    // Every stream and its size, then a first command on each of the
    // demo's: a stream whose state takes no comment or evidence (a
    // withdrawn project) is left out.
    let mut sizes: HashMap<String, (String, u64)> = HashMap::new();
    let mut after = 0;
    loop {
        let batch = engine.store().read_all(after, 10_000).await?;
        let Some(last) = batch.last() else { break };
        after = last.position;
        for event in batch {
            sizes.insert(
                event.stream_id.as_str().to_owned(),
                (event.stream_type.clone(), event.stream_version),
            );
        }
    }
    let organizer = Actor::new(ORGANIZER, Role::Organizer);
    let (mut projects, mut innovations, mut counted) = (Vec::new(), Vec::new(), Vec::new());
    let mut streams: Vec<_> = sizes.into_iter().collect();
    streams.sort();
    for (stream, (kind, size)) in streams {
        let Some((_, id)) = stream.split_once('-') else {
            continue;
        };
        // A stream of fewer than 10 events is brought up to 10.
        let more = 10u64.saturating_sub(size).max(1);
        let mut taken = 0;
        for e in 0..more {
            let ctx = |actor: &Actor| Context::new(actor.clone(), format!("seed-more-{id}-{e}"));
            let done = match kind.as_str() {
                "change_project" => engine
                    .execute::<ChangeProject>(
                        id,
                        &ctx(&organizer),
                        ProjectCommand::Comment {
                            text: "Selamat bekerja".into(),
                        },
                    )
                    .await
                    .is_ok(),
                "innovation" => engine
                    .execute::<Innovation>(
                        id,
                        &ctx(&brida),
                        InnovationCommand::AddEvidence {
                            indicator: "regulasi".into(),
                            attachment: attachment(e),
                        },
                    )
                    .await
                    .is_ok(),
                _ => false,
            };
            if !done {
                break;
            }
            taken += 1;
        }
        if taken == more {
            counted.push(size + more);
            if kind == "change_project" {
                projects.push(id.to_owned());
            } else {
                innovations.push(id.to_owned());
            }
        }
    }
    anyhow::ensure!(
        !projects.is_empty() && !innovations.is_empty(),
        "the seeded city has change projects and innovations to work on"
    );
    let min = counted.iter().copied().min().unwrap_or(0);
    let max = counted.iter().copied().max().unwrap_or(0);
    let mean = counted.iter().sum::<u64>() as f64 / counted.len() as f64;
    Ok(Targets {
        projects: Arc::new(projects),
        innovations: Arc::new(innovations),
        sizes: (min, mean, max),
    })
}
