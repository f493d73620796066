//! Innovation statistics: what a city reads off its register.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::InnovationRow;
use super::register::TREND;

/// An innovation the statistics name: id, name and OPD as the register
/// shows them (an amended name as amended).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Named {
    /// The innovation.
    pub innovation_id: String,
    /// Its name.
    pub name: String,
    /// Its OPD.
    pub opd: String,
}

impl Named {
    pub(crate) fn of(row: &InnovationRow) -> Self {
        Self {
            innovation_id: row.innovation_id.clone(),
            name: row.name.clone(),
            opd: row.opd.clone(),
        }
    }
}

/// One year of the trend: innovations registered, and those that first
/// reached each stage, that year in the region's zone (ADR 0035).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct YearTrend {
    /// The year.
    pub year: i32,
    /// Registered that year.
    pub registered: u32,
    /// Piloted (uji coba) for the first time that year.
    pub piloted: u32,
    /// Adopted (penerapan) for the first time that year.
    pub adopted: u32,
    /// Replicated for the first time that year.
    pub replicated: u32,
    /// Dormant for the first time that year.
    pub dormant: u32,
}

impl YearTrend {
    fn add(&mut self, what: &str, n: u32) {
        match what {
            "registered" => self.registered += n,
            "piloted" => self.piloted += n,
            "adopted" => self.adopted += n,
            "replicated" => self.replicated += n,
            "dormant" => self.dormant += n,
            _ => {}
        }
    }
}

/// Innovations of one OPD per stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OpdStages {
    /// The OPD.
    pub opd: String,
    /// Count per stage.
    pub by_stage: BTreeMap<String, u32>,
    /// All its innovations.
    pub total: u32,
}

/// How many innovations come from one source.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SourceShare {
    /// The source.
    pub source: String,
    /// How many.
    pub count: u32,
    /// Percentage of all innovations.
    pub percent: f64,
}

/// The figures of the register.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Statistics {
    /// Innovations in all.
    pub total: u32,
    /// Per OPD (every known OPD, with zeros), by stage.
    pub by_opd: Vec<OpdStages>,
    /// Per stage, over all OPDs.
    pub by_stage: BTreeMap<String, u32>,
    /// Per source, with percentages, most first.
    pub by_source: Vec<SourceShare>,
    /// Known OPDs with no innovation.
    pub opds_without: Vec<String>,
    /// Share of known OPDs with at least one innovation (0–1).
    pub coverage: f64,
    /// Gini coefficient of innovations per known OPD (0 even, near 1 concentrated).
    pub gini: f64,
    /// Dormant innovations, by id: the first [`Dormant::limit`] of them.
    pub dormant: Vec<Named>,
    /// Dormant innovations in all (of [`Dormant::opd`] when it is given).
    pub dormant_total: u32,
    /// The most replicated: (innovation, distinct adopters), most first,
    /// then by id.
    pub most_replicated: Vec<(Named, u32)>,
    /// Per year, oldest first: registrations and stages first reached.
    pub trend: Vec<YearTrend>,
    /// How many innovations are replicated by 1, 2 and 3 or more distinct
    /// adopters (keys `1`, `2`, `3+`), as the national index scores them.
    pub by_adopters: BTreeMap<String, u32>,
}

/// Which dormant innovations the statistics name: all of them are
/// counted, the first `limit` by id are named, so that the statistics of
/// a big register cost what they return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dormant {
    /// How many to name.
    pub limit: usize,
    /// Only those of this OPD (an OPD's innovation officer reads only
    /// their own by name), counted and named.
    pub opd: Option<String>,
}

impl Dormant {
    /// Named by default.
    pub const DEFAULT_LIMIT: usize = 100;
    /// Named at most.
    pub const MAX_LIMIT: usize = 1_000;

    /// Keeps those of [`Self::opd`], counts them into `stats`, and names
    /// the first [`Self::limit`]: for statistics from a [`Tally`], which
    /// holds them all.
    pub fn narrow(&self, stats: &mut Statistics) {
        if let Some(opd) = &self.opd {
            stats.dormant.retain(|d| &d.opd == opd);
        }
        stats.dormant_total = u32::try_from(stats.dormant.len()).unwrap_or(u32::MAX);
        stats.dormant.truncate(self.limit);
    }
}

impl Default for Dormant {
    fn default() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            opd: None,
        }
    }
}

/// The Gini coefficient of `counts` (0 when all are equal or all zero).
pub fn gini(counts: &[u32]) -> f64 {
    let n = counts.len();
    let sum: u64 = counts.iter().map(|c| u64::from(*c)).sum();
    if n == 0 || sum == 0 {
        return 0.0;
    }
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, c)| (i as f64 + 1.0) * f64::from(*c))
        .sum();
    let n = n as f64;
    (2.0 * weighted) / (n * sum as f64) - (n + 1.0) / n
}

/// Computes the statistics of `rows` over the OPDs in `known` (plus every
/// OPD that owns an innovation).
pub fn statistics(rows: &[InnovationRow], known: &BTreeSet<String>) -> Statistics {
    let mut tally = Tally::default();
    rows.iter().for_each(|row| tally.add(row));
    tally.finish(known)
}

/// How many of the most replicated innovations the statistics name.
pub(crate) const MOST_REPLICATED: usize = 10;

/// The national index's bucket of `adopters` distinct adopters.
fn adopters_bucket(adopters: u32) -> &'static str {
    match adopters {
        1 => "1",
        2 => "2",
        _ => "3+",
    }
}

/// The statistics from the counts the register keeps (ADR 0033), in the
/// same figures as a [`Tally`] of every row.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Innovations per OPD and stage (`dormant` for dormant ones).
    pub opd_stages: Vec<(String, String, u32)>,
    /// Innovations per source.
    pub sources: Vec<(String, u32)>,
    /// Innovations per number of distinct adopters (replicated ones).
    pub adopters: Vec<(u32, u32)>,
    /// The dormant ones named, by id.
    pub dormant: Vec<Named>,
    /// The most replicated, most first, then by id.
    pub most_replicated: Vec<(Named, u32)>,
    /// `(year, what, n)`: registrations and stages first reached.
    pub trend: Vec<(i32, String, u32)>,
}

impl Counts {
    /// The statistics over the OPDs in `known` and every OPD counted, the
    /// dormant counted as `dormant` says (its named ones are read already).
    pub(crate) fn finish(self, known: &BTreeSet<String>, dormant: &Dormant) -> Statistics {
        let counted: u32 = self
            .opd_stages
            .iter()
            .filter(|(opd, stage, _)| {
                stage == "dormant" && dormant.opd.as_ref().is_none_or(|o| o == opd)
            })
            .map(|(.., n)| *n)
            .sum();
        // The names are read apart from the counts: never fewer counted than named.
        let dormant_total = counted.max(u32::try_from(self.dormant.len()).unwrap_or(u32::MAX));
        let mut tally = Tally::default();
        for (opd, stage, n) in self.opd_stages {
            let stages = tally.opds.entry(opd.clone()).or_insert_with(|| OpdStages {
                opd,
                ..OpdStages::default()
            });
            *stages.by_stage.entry(stage.clone()).or_default() += n;
            stages.total += n;
            *tally.by_stage.entry(stage).or_default() += n;
            tally.total += n;
        }
        for (source, n) in self.sources {
            *tally.by_source.entry(source).or_default() += n;
        }
        for (adopters, n) in self.adopters {
            *tally
                .by_adopters
                .entry(adopters_bucket(adopters).to_owned())
                .or_default() += n;
        }
        tally.dormant = self.dormant;
        tally.replicated = self.most_replicated;
        for (year, what, n) in self.trend {
            tally.trend.entry(year).or_default().add(&what, n);
        }
        Statistics {
            dormant_total,
            ..tally.finish(known)
        }
    }
}

/// The statistics gathered one row at a time, so that a register of any
/// size is read in chunks.
#[derive(Debug, Default)]
pub struct Tally {
    opds: BTreeMap<String, OpdStages>,
    by_stage: BTreeMap<String, u32>,
    by_source: BTreeMap<String, u32>,
    total: u32,
    dormant: Vec<Named>,
    replicated: Vec<(Named, u32)>,
    by_adopters: BTreeMap<String, u32>,
    trend: BTreeMap<i32, YearTrend>,
}

impl Tally {
    /// Counts one innovation.
    pub fn add(&mut self, row: &InnovationRow) {
        let stages = self
            .opds
            .entry(row.opd.clone())
            .or_insert_with(|| OpdStages {
                opd: row.opd.clone(),
                ..OpdStages::default()
            });
        let stage = if row.dormant {
            self.dormant.push(Named::of(row));
            "dormant".to_owned()
        } else {
            row.stage.clone()
        };
        *stages.by_stage.entry(stage.clone()).or_default() += 1;
        stages.total += 1;
        *self.by_stage.entry(stage).or_default() += 1;
        *self
            .by_source
            .entry(row.source.as_str().to_owned())
            .or_default() += 1;
        self.total += 1;
        for (what, year) in &row.years {
            if TREND.contains(&what.as_str()) {
                self.trend.entry(*year).or_default().add(what, 1);
            }
        }
        if row.adopters > 0 {
            *self
                .by_adopters
                .entry(adopters_bucket(row.adopters).to_owned())
                .or_default() += 1;
            self.replicated.push((Named::of(row), row.adopters));
            // Only the ten most replicated are reported.
            if self.replicated.len() > 100 {
                self.keep_most_replicated();
            }
        }
    }

    fn keep_most_replicated(&mut self) {
        self.replicated.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| a.0.innovation_id.cmp(&b.0.innovation_id))
        });
        self.replicated.truncate(MOST_REPLICATED);
    }

    /// The statistics over the OPDs in `known` and every OPD counted.
    pub fn finish(mut self, known: &BTreeSet<String>) -> Statistics {
        self.keep_most_replicated();
        // Rows come by key, the dormant are listed by id.
        self.dormant
            .sort_by(|a, b| a.innovation_id.cmp(&b.innovation_id));
        for opd in known {
            self.opds.entry(opd.clone()).or_insert_with(|| OpdStages {
                opd: opd.clone(),
                ..OpdStages::default()
            });
        }
        let total = self.total;
        let mut by_source: Vec<SourceShare> = self
            .by_source
            .into_iter()
            .map(|(source, count)| SourceShare {
                source,
                count,
                percent: if total == 0 {
                    0.0
                } else {
                    f64::from(count) * 100.0 / f64::from(total)
                },
            })
            .collect();
        by_source.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.source.cmp(&b.source)));
        let counts: Vec<u32> = self.opds.values().map(|o| o.total).collect();
        let opds_without: Vec<String> = self
            .opds
            .values()
            .filter(|o| o.total == 0)
            .map(|o| o.opd.clone())
            .collect();
        let coverage = if self.opds.is_empty() {
            0.0
        } else {
            (self.opds.len() - opds_without.len()) as f64 / self.opds.len() as f64
        };
        Statistics {
            total,
            gini: gini(&counts),
            by_opd: self.opds.into_values().collect(),
            by_stage: self.by_stage,
            by_source,
            opds_without,
            coverage,
            dormant_total: u32::try_from(self.dormant.len()).unwrap_or(u32::MAX),
            dormant: self.dormant,
            most_replicated: self.replicated,
            by_adopters: self.by_adopters,
            trend: self
                .trend
                .into_iter()
                .map(|(year, t)| YearTrend { year, ..t })
                .collect(),
        }
    }
}
