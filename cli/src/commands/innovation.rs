//! Innovation offices: the register and its statistics.

use clap::Subcommand;
use jejak_proto::v1 as pb;

use crate::client::{Connection, Failure, Outcome, print_json, table};

fn source(text: &str) -> Result<i32, Failure> {
    Ok((match text {
        "change_project" => pb::Source::ChangeProject,
        "health_competition" | "puskesmas" => pb::Source::HealthCompetition,
        "innovation_lab" => pb::Source::InnovationLab,
        "opd_initiative" => pb::Source::OpdInitiative,
        "community" => pb::Source::Community,
        "dprd" => pb::Source::Dprd,
        "regional_head" => pb::Source::RegionalHead,
        other => {
            return Err(Failure::Usage(format!(
                "'{other}' is not a source; use change_project, health_competition, innovation_lab, opd_initiative, community, dprd or regional_head"
            )));
        }
    }) as i32)
}

/// A source as its code (`health_competition`).
pub(super) fn source_name(value: i32) -> String {
    pb::Source::try_from(value)
        .map(|s| s.as_str_name().trim_start_matches("SOURCE_").to_lowercase())
        .unwrap_or_default()
}

/// The stage to advance an innovation to.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Stage {
    /// The independent team judged it feasible (layak).
    Feasible,
    /// The independent team judged it not feasible.
    NotFeasible,
    /// Designated by decree (--decree NUMBER, --on DATE).
    Designated,
    /// Pilot started (--on).
    Piloted,
    /// Pilot evaluated (--on, --text EVALUATION).
    Evaluated,
    /// Implemented (--on, --text BUDGET-LINE).
    Adopted,
}

/// Innovation officers and BRIDA.
#[derive(Debug, Subcommand)]
pub enum InnovationCommand {
    /// Registers an innovation.
    Register {
        /// Its id.
        id: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// Owning OPD.
        #[arg(long)]
        opd: String,
        /// Unit (e.g. a puskesmas).
        #[arg(long, default_value = "")]
        unit: String,
        /// Region.
        #[arg(long, default_value = "Kota Cilegon")]
        region: String,
        /// Source.
        #[arg(long)]
        source: String,
        /// Initiator type.
        #[arg(long, default_value = "ASN")]
        initiator: String,
        /// governance, public_service or other.
        #[arg(long, default_value = "public_service")]
        form: String,
        /// Digital.
        #[arg(long)]
        digital: bool,
        /// Sector (urusan).
        #[arg(long)]
        sector: String,
        /// SDGs (1–17).
        #[arg(long = "sdg")]
        sdgs: Vec<u32>,
        /// Goal.
        #[arg(long)]
        goal: String,
        /// Benefit.
        #[arg(long)]
        benefit: String,
        /// Budget in rupiah.
        #[arg(long, default_value_t = 0)]
        budget: u64,
    },
    /// Advances an innovation a stage.
    Advance {
        /// The innovation.
        id: String,
        /// To which stage.
        #[arg(long, value_enum)]
        to: Stage,
        /// The day, YYYY-MM-DD.
        #[arg(long, default_value = "")]
        on: String,
        /// Decree number (designated).
        #[arg(long, default_value = "")]
        decree: String,
        /// Evaluation, budget line or notes.
        #[arg(long, default_value = "")]
        text: String,
    },
    /// Marks an innovation dormant (vakum).
    Dormant {
        /// The innovation.
        id: String,
        /// Since, YYYY-MM-DD.
        #[arg(long)]
        on: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Resumes a dormant innovation.
    Resume {
        /// The innovation.
        id: String,
        /// From, YYYY-MM-DD.
        #[arg(long)]
        on: String,
    },
    /// Records a replication by another OPD or region.
    Replicate {
        /// The innovation.
        id: String,
        /// The adopter's OPD.
        #[arg(long)]
        opd: String,
        /// The adopter's region.
        #[arg(long)]
        region: String,
        /// PKS, MoU or letter.
        #[arg(long, default_value = "PKS")]
        kind: String,
        /// Its number.
        #[arg(long)]
        number: String,
        /// Signed on, YYYY-MM-DD.
        #[arg(long)]
        signed: String,
    },
    /// Records evidence for an index indicator: a file uploaded (--attach),
    /// or kept elsewhere (--link URL --sha256 HASH, the hash your word).
    Evidence {
        /// The innovation.
        id: String,
        /// The indicator, e.g. regulasi.
        #[arg(long)]
        indicator: String,
        #[command(flatten)]
        evidence: super::evidence::EvidenceArgs,
    },
    /// Records an award.
    Award {
        /// The innovation.
        id: String,
        /// The award's title.
        #[arg(long)]
        title: String,
        /// Its year.
        #[arg(long)]
        year: i32,
        /// Who gave it.
        #[arg(long = "by")]
        awarded_by: String,
    },
    /// Amends the profile (a correction, kept in the history): name, unit,
    /// form, digital, sector, SDGs, goal, benefit, budget, legal basis.
    Amend(super::changes::AmendArgs),
    /// The register.
    List {
        /// Only this OPD.
        #[arg(long, default_value = "")]
        opd: String,
        /// Only this stage.
        #[arg(long, default_value = "")]
        stage: String,
        /// Only dormant ones.
        #[arg(long)]
        dormant: bool,
    },
    /// One innovation's entry in the register: its profile, stage and
    /// dates, where it came from and who replicated it.
    Show {
        /// The innovation's id.
        innovation: String,
    },
    /// The register's statistics.
    Stats {
        /// The city's OPD codes, to show those without innovation.
        #[arg(long = "opd")]
        opds: Vec<String>,
        /// How many dormant innovations to name, the first by id (all are
        /// counted; default 100, at most 1,000; `innovation list --dormant`
        /// lists them all, with the dormant replicas other regions registered).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
        dormant_limit: u32,
    },
}

pub async fn run(c: &Connection, command: InnovationCommand) -> Outcome {
    let mut client = c.innovations()?;
    let dated = |id: String, on: String, text: String| pb::DatedRequest {
        expected_version: None,
        request_id: c.request_id(),
        innovation_id: id,
        on,
        text,
    };
    match command {
        InnovationCommand::Amend(args) => super::changes::amend(c, args).await,
        InnovationCommand::Register {
            id,
            name,
            opd,
            unit,
            region,
            source: s,
            initiator,
            form,
            digital,
            sector,
            sdgs,
            goal,
            benefit,
            budget,
        } => {
            let form = super::changes::form(&form)?;
            let r = pb::RegisterInnovationRequest {
                expected_version: None,
                request_id: c.request_id_or(format!("register-{id}")),
                innovation_id: id,
                name,
                opd,
                unit,
                region,
                source: source(&s)?,
                initiator_type: initiator,
                form,
                digital,
                sector,
                sdgs,
                goal,
                benefit,
                budget,
                legal_basis: String::new(),
            };
            c.written(
                "registered",
                &client.register_innovation(r).await?.into_inner(),
            )
        }
        InnovationCommand::Advance {
            id,
            to,
            on,
            decree,
            text,
        } => {
            let written = match to {
                Stage::Feasible | Stage::NotFeasible => {
                    client
                        .judge_feasibility(pb::JudgeFeasibilityRequest {
                            expected_version: None,
                            request_id: c.request_id(),
                            innovation_id: id,
                            feasible: matches!(to, Stage::Feasible),
                            notes: text,
                        })
                        .await?
                }
                Stage::Designated => {
                    client
                        .designate(pb::DesignateRequest {
                            expected_version: None,
                            request_id: c.request_id(),
                            innovation_id: id,
                            decree_number: decree,
                            decree_date: on,
                        })
                        .await?
                }
                Stage::Piloted => client.start_pilot(dated(id, on, text)).await?,
                Stage::Evaluated => client.evaluate_pilot(dated(id, on, text)).await?,
                Stage::Adopted => client.implement(dated(id, on, text)).await?,
            };
            c.written("advanced", &written.into_inner())
        }
        InnovationCommand::Dormant { id, on, reason } => c.written(
            "marked dormant",
            &client
                .mark_dormant(dated(id, on, reason))
                .await?
                .into_inner(),
        ),
        InnovationCommand::Resume { id, on } => c.written(
            "resumed",
            &client
                .resume(dated(id, on, String::new()))
                .await?
                .into_inner(),
        ),
        InnovationCommand::Replicate {
            id,
            opd,
            region,
            kind,
            number,
            signed,
        } => {
            let r = pb::InnovationReplicationRequest {
                expected_version: None,
                request_id: c.request_id(),
                innovation_id: id,
                adopter_opd: opd,
                adopter_region: region,
                agreement: Some(pb::Agreement {
                    kind,
                    number,
                    signed_on: signed,
                    document: None,
                }),
            };
            c.written(
                "replication recorded",
                &client.record_replication(r).await?.into_inner(),
            )
        }
        InnovationCommand::Evidence {
            id,
            indicator,
            evidence,
        } => {
            let request_id = c.request_id();
            let attachments = evidence
                .attachments(c, super::evidence::For::Innovation(&id))
                .await?;
            let mut outcome = None;
            // One attachment per AddEvidence; each its own request id
            // (derived, so that the whole command can be sent again).
            let many = attachments.len() > 1;
            for (i, attachment) in attachments.into_iter().enumerate() {
                let id_of = if many {
                    format!("{request_id}/{i}")
                } else {
                    request_id.clone()
                };
                let r = pb::AddEvidenceRequest {
                    expected_version: None,
                    request_id: id_of,
                    innovation_id: id.clone(),
                    indicator: indicator.clone(),
                    attachment: Some(attachment),
                };
                outcome = Some(client.add_evidence(r).await?.into_inner());
            }
            c.written("evidence added", &outcome.unwrap_or_default())
        }
        InnovationCommand::Award {
            id,
            title,
            year,
            awarded_by,
        } => {
            let request_id = c.request_id();
            let r = pb::RecordAwardRequest {
                expected_version: None,
                request_id: request_id.clone(),
                innovation_id: id,
                title,
                year,
                awarded_by,
            };
            c.written(
                "award recorded",
                &client.record_award(r).await?.into_inner(),
            )
        }
        InnovationCommand::List {
            opd,
            stage,
            dormant,
        } => {
            let mut all = Vec::new();
            let mut token = String::new();
            loop {
                let page = client
                    .list_innovations(pb::ListInnovationsRequest {
                        page: Some(pb::PageRequest {
                            page_size: 500,
                            page_token: token,
                        }),
                        opd: opd.clone(),
                        stage: stage.clone(),
                        source: 0,
                        dormant_only: dormant,
                        min_position: 0,
                    })
                    .await?
                    .into_inner();
                all.extend(page.innovations);
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            if c.json {
                print_json(&serde_json::json!(all.iter().map(|i| serde_json::json!({
                    "innovation_id": i.innovation_id, "name": i.name, "opd": i.opd, "unit": i.unit, "region": i.region,
                    "source": source_name(i.source), "stage": i.stage, "dormant": i.dormant, "replica_of": i.replica_of,
                    "replicas": i.replicas, "replication_count": i.replication_count, "origin_project": i.origin_project,
                })).collect::<Vec<_>>()));
            } else {
                let words = crate::words::lang();
                let units = crate::client::unit_names(c).await;
                let rows = all.iter().map(|i| {
                    vec![
                        i.innovation_id.clone(),
                        i.name.clone(),
                        crate::client::unit_name(&units, &i.opd),
                        i.unit.clone(),
                        words.source(&source_name(i.source)),
                        words.stage(&i.stage),
                        if i.dormant {
                            words.stage("dormant")
                        } else {
                            String::new()
                        },
                        i.replication_count.to_string(),
                    ]
                });
                say!(
                    "{}",
                    table(
                        &[
                            "innovation",
                            "name",
                            "OPD",
                            "unit",
                            "source",
                            "stage",
                            "",
                            "replicated"
                        ],
                        rows
                    )
                );
            }
            Ok(())
        }
        InnovationCommand::Show { innovation } => {
            let i = client
                .get_innovation(pb::GetInnovationRequest {
                    innovation_id: innovation,
                    min_position: 0,
                })
                .await?
                .into_inner();
            show(c, &i).await;
            Ok(())
        }
        InnovationCommand::Stats {
            opds,
            dormant_limit,
        } => {
            let s = client
                .get_statistics(pb::GetStatisticsRequest {
                    opds,
                    dormant_limit,
                    ..pb::GetStatisticsRequest::default()
                })
                .await?
                .into_inner();
            if c.json {
                print_json(&serde_json::json!({
                    "total": s.total,
                    "by_opd": s.by_opd.iter().map(|o| serde_json::json!({"opd": o.opd, "total": o.total, "by_stage": o.by_stage})).collect::<Vec<_>>(),
                    "by_stage": s.by_stage,
                    "by_source": s.by_source.iter().map(|x| serde_json::json!({"source": source_name(x.source), "count": x.count, "percent": x.percent})).collect::<Vec<_>>(),
                    "opds_without": s.opds_without, "coverage": s.coverage, "gini": s.gini, "dormant": s.dormant, "dormant_total": s.dormant_total,
                    "dormant_innovations": s.dormant_innovations.iter().map(|d| serde_json::json!({"innovation_id": d.innovation_id, "name": d.name, "opd": d.opd})).collect::<Vec<_>>(),
                    "most_replicated": s.most_replicated.iter().map(|r| serde_json::json!({"innovation_id": r.innovation_id, "name": r.name, "opd": r.opd, "adopters": r.adopters})).collect::<Vec<_>>(),
                    "by_adopters": s.by_adopters,
                    "trend": s.trend.iter().map(|t| serde_json::json!({"year": t.year, "registered": t.registered, "piloted": t.piloted, "adopted": t.adopted, "replicated": t.replicated, "dormant": t.dormant})).collect::<Vec<_>>(),
                }));
            } else {
                say!(
                    "{} innovations; {:.0}% of OPDs have at least one; Gini {:.2}",
                    s.total,
                    s.coverage * 100.0,
                    s.gini
                );
                let words = crate::words::lang();
                say!(
                    "{}",
                    table(
                        &["source", "count", "%"],
                        s.by_source.iter().map(|x| vec![
                            words.source(&source_name(x.source)),
                            x.count.to_string(),
                            format!("{:.1}", x.percent)
                        ])
                    )
                );
                let stages = ["proposed", "piloted", "adopted", "dormant", "replicated"];
                let labels: Vec<String> = stages.iter().map(|st| words.stage(st)).collect();
                let mut header = vec!["OPD"];
                header.extend(labels.iter().map(String::as_str));
                header.push("total");
                let units = crate::client::unit_names(c).await;
                let rows = s.by_opd.iter().map(|o| {
                    let mut row = vec![crate::client::unit_name(&units, &o.opd)];
                    row.extend(
                        stages
                            .iter()
                            .map(|st| o.by_stage.get(*st).copied().unwrap_or(0).to_string()),
                    );
                    row.push(o.total.to_string());
                    row
                });
                say!("{}", table(&header, rows));
                say!(
                    "OPDs without innovation: {}",
                    if s.opds_without.is_empty() {
                        "none".into()
                    } else {
                        s.opds_without
                            .iter()
                            .map(|o| crate::client::unit_name(&units, o))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                );
                say!(
                    "dormant: {}{}",
                    s.dormant_total,
                    if s.dormant_total as usize > s.dormant_innovations.len() {
                        format!(" (the first {} named)", s.dormant_innovations.len())
                    } else {
                        String::new()
                    }
                );
                if !s.dormant_innovations.is_empty() {
                    say!(
                        "{}",
                        table(
                            &["dormant", "OPD"],
                            s.dormant_innovations.iter().map(|d| vec![
                                d.name.clone(),
                                crate::client::unit_name(&units, &d.opd)
                            ])
                        )
                    );
                }
                let by = |k: &str| s.by_adopters.get(k).copied().unwrap_or(0);
                say!(
                    "replicated by 1 / 2 / 3+ adopters: {} / {} / {}",
                    by("1"),
                    by("2"),
                    by("3+")
                );
                if !s.trend.is_empty() {
                    let header = [
                        "year".to_owned(),
                        "registered".to_owned(),
                        words.stage("piloted"),
                        words.stage("adopted"),
                        words.stage("replicated"),
                        words.stage("dormant"),
                    ];
                    let header: Vec<&str> = header.iter().map(String::as_str).collect();
                    say!(
                        "{}",
                        table(
                            &header,
                            s.trend.iter().map(|t| vec![
                                t.year.to_string(),
                                t.registered.to_string(),
                                t.piloted.to_string(),
                                t.adopted.to_string(),
                                t.replicated.to_string(),
                                t.dormant.to_string(),
                            ])
                        )
                    );
                }
                if !s.most_replicated.is_empty() {
                    // Named as the register shows them, in the answer itself.
                    let rows = s.most_replicated.iter().map(|r| {
                        vec![
                            r.name.clone(),
                            crate::client::unit_name(&units, &r.opd),
                            r.adopters.to_string(),
                        ]
                    });
                    say!("{}", table(&["most replicated", "OPD", "adopters"], rows));
                }
            }
            Ok(())
        }
    }
}

/// Prints one register entry: field by field, or as JSON with stable names.
/// Empty fields are left out.
async fn show(c: &Connection, i: &pb::InnovationEntry) {
    let form = pb::Form::try_from(i.form)
        .map(|f| f.as_str_name().trim_start_matches("FORM_").to_lowercase())
        .unwrap_or_default();
    if c.json {
        print_json(&serde_json::json!({
            "innovation_id": i.innovation_id, "name": i.name, "opd": i.opd, "unit": i.unit,
            "region": i.region, "source": source_name(i.source), "form": form, "digital": i.digital,
            "sector": i.sector, "stage": i.stage, "dormant": i.dormant, "decree_number": i.decree_number,
            "pilot_started_on": i.pilot_started_on, "implemented_on": i.implemented_on,
            "dormant_since": i.dormant_since, "origin_project": i.origin_project,
            "replica_of": i.replica_of, "replicas": i.replicas, "replication_count": i.replication_count,
            "registered_at": crate::client::time(i.registered_at.as_ref()),
        }));
        return;
    }
    let words = crate::words::lang();
    let units = crate::client::unit_names(c).await;
    let stage = if i.dormant {
        format!("{} ({})", words.stage(&i.stage), words.stage("dormant"))
    } else {
        words.stage(&i.stage)
    };
    let rows = [
        ("OPD", crate::client::unit_name(&units, &i.opd)),
        ("unit", i.unit.clone()),
        ("region", i.region.clone()),
        ("source", words.source(&source_name(i.source))),
        ("form", form),
        ("digital", i.digital.to_string()),
        ("sector", i.sector.clone()),
        ("stage", stage),
        ("decree", i.decree_number.clone()),
        ("pilot started", i.pilot_started_on.clone()),
        ("implemented", i.implemented_on.clone()),
        ("dormant since", i.dormant_since.clone()),
        ("from project", i.origin_project.clone()),
        ("replica of", i.replica_of.clone()),
        ("replicas", i.replicas.join(", ")),
        (
            "registered",
            crate::client::local_time(i.registered_at.as_ref()),
        ),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty());
    say!("{} — {}", i.innovation_id, i.name);
    for (k, v) in rows {
        say!("  {k}: {v}");
    }
}
