//! The innovation register: one document per innovation.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
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
    /// The year, in the region's zone, it was registered (`registered`)
    /// and first reached each stage of the trend (`piloted`, `adopted`,
    /// `replicated`, `dormant`), dated by when it happened (ADR 0035): the
    /// date the step that reached it names (the pilot's start, the
    /// implementation, dormant since), else the step's `occurred_at`.
    #[serde(default)]
    pub years: BTreeMap<String, i32>,
}

impl InnovationRow {
    /// The date its step into `stage` names, where the step names one:
    /// what the register's own rows and an import of them carry.
    fn stage_date(&self, stage: &str) -> Option<NaiveDate> {
        match stage {
            "piloted" => self.pilot_started_on,
            "adopted" => self.implemented_on,
            "dormant" => self.dormant_since,
            _ => None,
        }
    }
}

/// The stages the trend by year counts, after `registered` (ADR 0035).
pub const TREND_STAGES: [&str; 4] = ["piloted", "adopted", "replicated", "dormant"];

/// What the trend counts per year: registrations, then each stage reached.
pub const TREND: [&str; 5] = ["registered", "piloted", "adopted", "replicated", "dormant"];

/// The innovation register projection, dating its trend in the region's
/// time zone.
#[derive(Clone, Copy, Debug)]
pub struct InnovationRegister {
    zone: chrono_tz::Tz,
}

impl Default for InnovationRegister {
    fn default() -> Self {
        Self::in_zone(chrono_tz::Asia::Jakarta)
    }
}

impl InnovationRegister {
    /// The register of a region in `zone`.
    pub fn in_zone(zone: chrono_tz::Tz) -> Self {
        Self { zone }
    }
}

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
        let year = at.with_timezone(&self.zone).year();
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
                years: BTreeMap::from([("registered".to_owned(), year)]),
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
            InnovationEvent::StateChanged { to, .. } => {
                // The first time it reached a stage of the trend counts.
                if TREND_STAGES.contains(&to.as_str()) {
                    let year = row.stage_date(&to).map_or(year, |on| on.year());
                    row.years.entry(to.clone()).or_insert(year);
                }
                row.stage = to;
            }
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
    /// for its region's ten most replicated, its replication there, with
    /// its name), and for the statistics' filters by region, year registered, sector
    /// and digital; it counts in its region's figures per OPD and stage,
    /// source, adopters and the trend by year, and a dormant one with its
    /// name (ADR 0033, ADR 0035).
    fn beside(row: &InnovationRow) -> Beside {
        let mut kept = Beside::default();
        kept.term(term::OPD, &row.opd);
        kept.term(term::STAGE, &row.stage);
        kept.term(term::SOURCE, row.source.as_str());
        let region = &row.region;
        kept.term(term::REGION, region);
        kept.term(term::SECTOR, &row.sector);
        kept.term(term::DIGITAL, digital_term(row.digital));
        if let Some(year) = row.years.get("registered") {
            kept.term(term::YEAR, year.to_string());
        }
        if row.dormant {
            kept.term(term::DORMANT, "");
            kept.count(
                term::DORMANT_NAMED,
                region,
                format!("{}{SEP}{}{SEP}{}", row.innovation_id, row.opd, row.name),
                1,
            );
        }
        let stage = if row.dormant { "dormant" } else { &row.stage };
        kept.count(
            term::OPD_STAGE,
            region,
            format!("{}{SEP}{stage}", row.opd),
            1,
        );
        kept.count(term::SOURCE, region, row.source.as_str(), 1);
        for (what, year) in &row.years {
            kept.count(term::TREND, region, format!("{year}{SEP}{what}"), 1);
        }
        if row.adopters > 0 {
            kept.term(
                term::REPLICATED_NAMED,
                format!(
                    "{region}{SEP}{}{SEP}{}{SEP}{}{SEP}{}",
                    most_first(row.adopters),
                    row.innovation_id,
                    row.opd,
                    row.name
                ),
            );
            kept.count(term::ADOPTERS, region, row.adopters.to_string(), 1);
        }
        kept
    }
}

/// The term of digital or not.
pub(crate) fn digital_term(digital: bool) -> &'static str {
    if digital { "yes" } else { "no" }
}

/// A number of adopters written so that more adopters sort first.
pub(crate) fn most_first(adopters: u32) -> String {
    format!("{:010}", u32::MAX - adopters)
}

/// The adopters of a [`most_first`] text.
pub(crate) fn adopters_of(most_first: &str) -> Option<u32> {
    most_first.parse::<u32>().ok().map(|n| u32::MAX - n)
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
    /// Per region: OPD and stage (`dormant` for a dormant one).
    pub const OPD_STAGE: &str = "opd_stage";
    /// Per region: distinct adopters of the replicated ones.
    pub const ADOPTERS: &str = "adopters";
    /// The region it is registered in.
    pub const REGION: &str = "region";
    /// The year it was registered, in the region's zone.
    pub const YEAR: &str = "year";
    /// Its sector (urusan).
    pub const SECTOR: &str = "sector";
    /// Digital or not (`yes`, `no`).
    pub const DIGITAL: &str = "digital";
    /// Per region: `YEAR␟WHAT`, registrations and stages first reached.
    pub const TREND: &str = "trend";
    /// Per region: a dormant one as `ID␟OPD␟NAME`.
    pub const DORMANT_NAMED: &str = "dormant_named";
    /// A replicated one as `REGION␟ADOPTERS␟ID␟OPD␟NAME`, the adopters
    /// written most first ([`super::most_first`]): the most replicated
    /// of a region are the first values after its prefix.
    pub const REPLICATED_NAMED: &str = "replicated_named";
}
