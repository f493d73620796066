//! The innovation register: one document per innovation.

use chrono::{DateTime, NaiveDate, Utc};
use jejak_engine::codec::decode;
use jejak_engine::domain::Aggregate as _;
use jejak_engine::domain::innovation::{Form, Innovation, InnovationEvent, Origin, Source};
use jejak_engine::store::RecordedEvent;
use serde::{Deserialize, Serialize};

use crate::projection::{Beside, Docs, Projection, ProjectionError};

/// One innovation in the register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct InnovationRow {
    pub innovation_id: String,
    pub name: String,
    pub opd: String,
    pub unit: Option<String>,
    pub region: String,
    pub source: Source,
    pub form: Form,
    pub digital: bool,
    pub sector: String,
    pub stage: String,
    pub feasible: Option<bool>,
    pub decree_number: Option<String>,
    pub decree_date: Option<NaiveDate>,
    pub pilot_started_on: Option<NaiveDate>,
    pub pilot_evaluated_on: Option<NaiveDate>,
    pub implemented_on: Option<NaiveDate>,
    pub dormant: bool,
    pub dormant_since: Option<NaiveDate>,
    /// The change project it came from.
    pub origin_project: Option<String>,
    /// The innovation it replicates.
    pub replica_of: Option<String>,
    /// The adopters' own innovations.
    pub replicas: Vec<String>,
    /// Distinct adopters (OPD and region).
    pub adopters: u32,
    pub evidence: u32,
    pub awards: u32,
    pub registered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The innovation register projection.
#[derive(Clone, Copy, Debug, Default)]
pub struct InnovationRegister;

impl Projection for InnovationRegister {
    const NAME: &'static str = "innovation_register";
    type Doc = InnovationRow;

    fn keys(&self, event: &RecordedEvent) -> Vec<String> {
        if event.stream_type != Innovation::KIND {
            return vec![];
        }
        event
            .stream_id
            .as_str()
            .strip_prefix("innovation-")
            .map(str::to_owned)
            .into_iter()
            .collect()
    }

    fn apply(
        &self,
        event: &RecordedEvent,
        docs: &mut Docs<InnovationRow>,
    ) -> Result<(), ProjectionError> {
        let Some(key) = self.keys(event).pop() else {
            return Ok(());
        };
        let at = event.occurred_at();
        let decoded: InnovationEvent = decode(event)?;
        if let InnovationEvent::InnovationRegistered {
            innovation_id,
            profile,
            origin,
            ..
        } = &decoded
        {
            let row = InnovationRow {
                innovation_id: innovation_id.to_string(),
                name: profile.name.clone(),
                opd: profile.opd.to_string(),
                unit: profile.unit.clone(),
                region: profile.region.clone(),
                source: profile.source,
                form: profile.form,
                digital: profile.digital,
                sector: profile.sector.clone(),
                stage: String::new(),
                feasible: None,
                decree_number: None,
                decree_date: None,
                pilot_started_on: None,
                pilot_evaluated_on: None,
                implemented_on: None,
                dormant: false,
                dormant_since: None,
                origin_project: match origin {
                    Some(Origin::ChangeProject(p)) => Some(p.to_string()),
                    _ => None,
                },
                replica_of: match origin {
                    Some(Origin::ReplicaOf(i)) => Some(i.to_string()),
                    _ => None,
                },
                replicas: vec![],
                adopters: 0,
                evidence: 0,
                awards: 0,
                registered_at: at,
                updated_at: at,
            };
            docs.put(key.clone(), row);
        }
        let Some(row) = docs.get_mut(&key) else {
            return Err(ProjectionError(format!(
                "innovation {key} has events before its registration"
            )));
        };
        match decoded {
            InnovationEvent::InnovationRegistered { .. } => {}
            InnovationEvent::FeasibilityJudged { feasible, .. } => row.feasible = Some(feasible),
            InnovationEvent::Designated {
                decree_number,
                decree_date,
            } => {
                row.decree_number = Some(decree_number);
                row.decree_date = Some(decree_date);
            }
            InnovationEvent::PilotStarted { on } => row.pilot_started_on = Some(on),
            InnovationEvent::PilotEvaluated { on, .. } => row.pilot_evaluated_on = Some(on),
            InnovationEvent::Implemented { on, .. } => row.implemented_on = Some(on),
            InnovationEvent::MarkedDormant { on, .. } => {
                row.dormant = true;
                row.dormant_since = Some(on);
            }
            InnovationEvent::Resumed { .. } => {
                row.dormant = false;
                row.dormant_since = None;
            }
            InnovationEvent::ReplicationRecorded {
                adopter_innovation_id,
                ..
            } => {
                // Each adopter (OPD and region) has one innovation of its
                // own: counted once however often it is told.
                let replica = adopter_innovation_id.to_string();
                if !row.replicas.contains(&replica) {
                    row.replicas.push(replica);
                    row.adopters += 1;
                }
            }
            InnovationEvent::EvidenceAdded { .. } => row.evidence += 1,
            InnovationEvent::AwardRecorded { .. } => row.awards += 1,
            InnovationEvent::StateChanged { to, .. } => row.stage = to,
            // A correction by its officer: the register shows the profile in force.
            InnovationEvent::ProfileAmended { profile, .. } => {
                row.name = profile.name;
                row.unit = profile.unit;
                row.form = profile.form;
                row.digital = profile.digital;
                row.sector = profile.sector;
            }
            InnovationEvent::ProjectStageCarried { on, .. } => row.implemented_on = Some(on),
        }
        row.updated_at = at;
        Ok(())
    }

    /// An innovation is found by its OPD, stage, source and dormancy (and,
    /// for its region's statistics, its dormancy and replication there);
    /// it counts in its region's figures per OPD and stage, source and
    /// adopters (ADR 0033).
    fn beside(row: &InnovationRow) -> Beside {
        let mut kept = Beside::default();
        kept.term(term::OPD, &row.opd);
        kept.term(term::STAGE, &row.stage);
        kept.term(term::SOURCE, row.source.as_str());
        let region = &row.region;
        if row.dormant {
            kept.term(term::DORMANT, "");
            kept.term(term::DORMANT_IN, region);
        }
        let stage = if row.dormant { "dormant" } else { &row.stage };
        kept.count(
            term::OPD_STAGE,
            region,
            format!("{}{SEP}{stage}", row.opd),
            1,
        );
        kept.count(term::SOURCE, region, row.source.as_str(), 1);
        if row.adopters > 0 {
            kept.term(
                term::REPLICATED_IN,
                format!("{region}{SEP}{}", row.adopters),
            );
            kept.count(term::ADOPTERS, region, row.adopters.to_string(), 1);
        }
        kept
    }
}

/// Between the parts of a term's or a count's value.
pub(crate) const SEP: char = '\u{1f}';

/// The names of what the register keeps beside its rows (ADR 0033).
pub(crate) mod term {
    pub const OPD: &str = "opd";
    pub const STAGE: &str = "stage";
    pub const SOURCE: &str = "source";
    /// Dormant, in any region.
    pub const DORMANT: &str = "dormant";
    /// Dormant, by region.
    pub const DORMANT_IN: &str = "dormant_in";
    /// Replicated: region and distinct adopters.
    pub const REPLICATED_IN: &str = "replicated_in";
    /// Per region: OPD and stage (`dormant` for a dormant one).
    pub const OPD_STAGE: &str = "opd_stage";
    /// Per region: distinct adopters of the replicated ones.
    pub const ADOPTERS: &str = "adopters";
}
