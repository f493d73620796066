//! The views each role asks for, and the queries over them.

mod activity;
mod board;
mod cohorts;
mod detail;
mod register;
mod stats;
mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jejak_engine::domain::change_project::{Grade, MilestoneStatus};
use jejak_engine::engine::CommandError;
use jejak_engine::privacy::{ERASED, Privacy};
use jejak_engine::store::StoreError;
use serde::Serialize;

pub use activity::ActivityRow;
pub use board::{HorizonCounts, MilestoneRow, PlanChangeRow, ProjectBoard, ProjectRow};
pub use cohorts::{CohortRow, Cohorts};
pub use detail::{
    FinalReport, GradeSet, MilestoneDetail, Note, ProjectDetail, SeminarResult, Stamp, Submission,
};
pub use register::{InnovationRegister, InnovationRow, TREND, TREND_STAGES};
pub use stats::{
    Dormant, Named, OpdStages, SourceShare, Statistics, Tally, YearTrend, gini, statistics,
};
pub use watch::InboxWatch;

use crate::projection::Projection;
use crate::runner::{Runner, WaitError};
use crate::terms::Find;

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// Waiting for the caller's own write failed.
    #[error(transparent)]
    Wait(#[from] WaitError),
    /// The view's database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document does not decode: the view needs a rebuild.
    #[error("view {view} holds a document that does not decode ({error}); rebuild the view")]
    Corrupt {
        /// The view.
        view: &'static str,
        /// The decoding error.
        error: String,
    },
}

/// Filters of the project board; `None` matches all.
#[derive(Clone, Debug, Default)]
pub struct BoardFilter {
    /// Only this cohort.
    pub cohort_id: Option<String>,
    /// Only this OPD.
    pub opd: Option<String>,
    /// Only this mentor's projects.
    pub mentor: Option<String>,
    /// Only projects in this state.
    pub state: Option<String>,
    /// Only this participant's (by person id) projects.
    pub participant: Option<String>,
    /// Only projects this coach coaches.
    pub coach: Option<String>,
    /// Only projects this examiner examines.
    pub examiner: Option<String>,
    /// Only projects of cohorts this organizer runs.
    pub organizer: Option<String>,
}

impl BoardFilter {
    /// Whether `row` passes the filter: what a read by the board's terms
    /// returns, and what a test reads off every row.
    pub fn matches(&self, row: &ProjectRow) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&self.cohort_id, &row.cohort_id)
            && is(&self.opd, &row.opd)
            && is(&self.mentor, &row.mentor)
            && is(&self.state, &row.state)
            && is(&self.participant, &row.participant)
            && is(&self.coach, &row.coach)
            && is(&self.organizer, &row.organizer)
            && self
                .examiner
                .as_deref()
                .is_none_or(|e| row.examiners.iter().any(|x| x == e))
    }

    /// The filter as the board's terms, those held by the fewest projects
    /// first (a person's few, then a cohort's, an organizer's, an OPD's,
    /// a state's many): the first leads the read.
    fn terms(&self) -> Vec<(&'static str, &str)> {
        use board::term;
        [
            (term::PARTICIPANT, &self.participant),
            (term::MENTOR, &self.mentor),
            (term::COACH, &self.coach),
            (term::EXAMINER, &self.examiner),
            (term::COHORT, &self.cohort_id),
            (term::ORGANIZER, &self.organizer),
            (term::OPD, &self.opd),
            (term::STATE, &self.state),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value.as_deref()?)))
        .collect()
    }
}

/// What waits for a mentor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxKind {
    /// A proposal: the change area to agree, the action plan to approve.
    Proposal,
    /// Milestone evidence to approve or return.
    MilestoneEvidence,
    /// An adoption to endorse.
    AdoptionEndorsement,
    /// A change of the accepted milestone plan to approve or return.
    PlanChange,
}

/// One item in a mentor's inbox.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InboxItem {
    /// What kind of decision.
    pub kind: InboxKind,
    /// The project.
    pub project_id: String,
    /// Its short code in its cohort (`pka-2026-9/001`).
    pub code: String,
    /// Its title.
    pub title: String,
    /// The participant's name.
    pub participant_name: String,
    /// The participant's person id.
    pub participant: String,
    /// The milestone, for evidence.
    pub milestone_id: Option<String>,
    /// The proposal's change area.
    pub change_area: String,
    /// The milestone's title, for evidence.
    pub milestone_title: String,
    /// What the milestone is to produce, for evidence.
    pub expected_output: String,
    /// The evidence to approve: the milestone's latest submission.
    pub evidence: Vec<jejak_engine::domain::values::Attachment>,
    /// For a plan change: the plan it asks for, and why.
    pub plan_change: Option<board::PlanChangeRow>,
    /// Since when it waits.
    pub since: DateTime<Utc>,
    /// How long it has waited, in seconds, as of the query.
    pub age_seconds: i64,
}

/// Per cohort: where its projects stand.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CohortProgress {
    /// The cohort, when it was opened in jejak.
    pub cohort: Option<CohortRow>,
    /// Projects per state.
    pub by_state: BTreeMap<String, u32>,
    /// Projects in all.
    pub projects: u32,
    /// Milestones flagged overdue and not approved.
    pub overdue_milestones: u32,
    /// Participants with at least one overdue milestone ("who is late").
    pub late_participants: Vec<String>,
    /// Their person ids, in the same order.
    #[serde(skip)]
    pub late_people: Vec<String>,
    /// Proposal seminars: accepted / to revise / not held.
    pub proposal_accepted: u32,
    /// Proposal seminars that asked for a revision.
    pub proposal_to_revise: u32,
    /// Final seminars passed.
    pub final_passed: u32,
    /// Final seminars failed.
    pub final_failed: u32,
    /// Grades given, per predikat.
    pub grades: BTreeMap<String, u32>,
}

/// Filters of the innovation register.
#[derive(Clone, Debug, Default)]
pub struct RegisterFilter {
    /// Only this OPD.
    pub opd: Option<String>,
    /// Only this stage.
    pub stage: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Only dormant ones.
    pub dormant_only: bool,
}

impl RegisterFilter {
    /// Whether `row` passes the filter.
    pub fn matches(&self, row: &InnovationRow) -> bool {
        self.opd.as_deref().is_none_or(|o| o == row.opd)
            && self.stage.as_deref().is_none_or(|s| s == row.stage)
            && self
                .source
                .as_deref()
                .is_none_or(|s| s == row.source.as_str())
            && (!self.dormant_only || row.dormant)
    }

    /// The filter as the register's terms, the rarest first.
    fn terms(&self) -> Vec<(&'static str, &str)> {
        use register::term;
        let mut terms: Vec<(&'static str, &str)> =
            [(term::OPD, &self.opd), (term::SOURCE, &self.source)]
                .into_iter()
                .filter_map(|(name, value)| Some((name, value.as_deref()?)))
                .collect();
        if self.dormant_only {
            terms.push((term::DORMANT, ""));
        }
        if let Some(stage) = &self.stage {
            terms.push((term::STAGE, stage));
        }
        terms
    }
}

/// What the statistics may be narrowed to (ADR 0035); empty: the whole
/// region, read from its counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsFilter {
    /// Registered in these years (in the region's zone), first to last.
    pub years: Option<(i32, i32)>,
    /// Only from this source.
    pub source: Option<String>,
    /// Only of this sector (urusan).
    pub sector: Option<String>,
    /// Only digital ones, or only the others.
    pub digital: Option<bool>,
    /// Only of these OPDs (none: every OPD).
    pub opds: BTreeSet<String>,
}

impl StatsFilter {
    /// The years a filter may name.
    pub const YEARS: std::ops::RangeInclusive<i32> = 1945..=2100;

    /// Whether it narrows nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether `row` of `region` passes the filter: what a read by the
    /// register's terms returns, and what a test reads off every row.
    pub fn matches(&self, row: &InnovationRow, region: &str) -> bool {
        row.region == region
            && self.years.is_none_or(|(from, to)| {
                row.years
                    .get("registered")
                    .is_some_and(|y| (from..=to).contains(y))
            })
            && self
                .source
                .as_deref()
                .is_none_or(|s| s == row.source.as_str())
            && self.sector.as_deref().is_none_or(|s| s == row.sector)
            && self.digital.is_none_or(|d| d == row.digital)
            && (self.opds.is_empty() || self.opds.contains(&row.opd))
    }

    /// Each read the filter takes: one per year and OPD named, each the
    /// register's terms, the rarest first (an OPD's, a year's, a
    /// sector's, a source's, digital or not), the region last.
    fn reads(&self, region: &str) -> Vec<Vec<(&'static str, String)>> {
        use register::term;
        let years: Vec<Option<String>> = match self.years {
            Some((from, to)) => (from..=to).map(|y| Some(y.to_string())).collect(),
            None => vec![None],
        };
        let opds: Vec<Option<String>> = if self.opds.is_empty() {
            vec![None]
        } else {
            self.opds.iter().cloned().map(Some).collect()
        };
        let mut reads = Vec::new();
        for opd in &opds {
            for year in &years {
                let terms: Vec<(&'static str, String)> = [
                    (term::OPD, opd.clone()),
                    (term::YEAR, year.clone()),
                    (term::SECTOR, self.sector.clone()),
                    (term::SOURCE, self.source.clone()),
                    (
                        term::DIGITAL,
                        self.digital.map(|d| register::digital_term(d).to_owned()),
                    ),
                    (term::REGION, Some(region.to_owned())),
                ]
                .into_iter()
                .filter_map(|(name, value)| Some((name, value?)))
                .collect();
                reads.push(terms);
            }
        }
        reads
    }
}

/// Documents a read holds in memory at once.
const READ_CHUNK: usize = 500;

/// One page of rows in key order.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The rows.
    pub rows: Vec<T>,
    /// The key to read on after, when there are more rows.
    pub next: Option<String>,
}

/// How long a read without a position waits for the view to catch up with
/// this server's writes before it serves what the view holds.
const FRESH_READ_WAIT: Duration = Duration::from_secs(2);

/// Spawns every view of jejak on `runner`.
pub fn spawn_all(runner: &Arc<Runner>) {
    runner.spawn(ProjectBoard);
    runner.spawn(Cohorts);
    runner.spawn(InnovationRegister::in_zone(runner.config().time_zone));
}

/// Checks every view against the log ([`Runner::check`]), one after another.
///
/// # Errors
/// Storage failures.
pub async fn check_all(runner: &Runner) -> Result<Vec<crate::ViewCheck>, StoreError> {
    Ok(vec![
        runner.check(&ProjectBoard).await?,
        runner.check(&Cohorts).await?,
        runner
            .check(&InnovationRegister::in_zone(runner.config().time_zone))
            .await?,
    ])
}

/// The queries each role asks.
#[derive(Clone, Debug)]
pub struct Views {
    runner: Arc<Runner>,
    wait: Duration,
    privacy: Option<Privacy>,
}

impl Views {
    /// Queries over the views `runner` keeps; read-your-writes waits at
    /// most `wait`.
    pub fn new(runner: Arc<Runner>, wait: Duration) -> Self {
        Self {
            runner,
            wait,
            privacy: None,
        }
    }

    /// Opens participants' sealed fields with `privacy` when rows are
    /// read (without it they read as [`jejak_engine::privacy::ERASED`]).
    #[must_use]
    pub fn with_privacy(mut self, privacy: Privacy) -> Self {
        self.privacy = Some(privacy);
        self
    }

    /// Fills the participant's NIP, name and position of each row from its
    /// sealed value: opened with the person's key, or `[dihapus]` for an
    /// erased person.
    ///
    /// # Errors
    /// [`ViewError::Store`] for a sealed value that does not open, or a
    /// key table that cannot be read.
    pub async fn open_rows(&self, rows: &mut [ProjectRow]) -> Result<(), ViewError> {
        let store_error = |e: CommandError| match e {
            CommandError::Store(e) => ViewError::Store(e),
            other => ViewError::Store(StoreError::Internal(other.to_string())),
        };
        if let Some(privacy) = &self.privacy {
            // The keys of every row's person not cached, in one query.
            privacy
                .fetch_keys(
                    rows.iter()
                        .filter_map(|r| r.personal.as_ref())
                        .map(|s| s.person.as_str()),
                    false,
                )
                .await
                .map_err(store_error)?;
        }
        for row in rows.iter_mut() {
            let Some(sealed) = &row.personal else {
                continue;
            };
            let [nip, name, position] = match &self.privacy {
                Some(privacy) => privacy
                    .open_participant(sealed)
                    .await
                    .map_err(store_error)?,
                None => [ERASED.to_owned(), ERASED.to_owned(), ERASED.to_owned()],
            };
            row.participant_nip = nip;
            row.participant_name = name;
            row.position = position;
        }
        Ok(())
    }

    /// The runner.
    pub fn runner(&self) -> &Arc<Runner> {
        &self.runner
    }

    /// Waits for the view before a read. With a position (read-your-writes)
    /// the view must reach it or the read fails. Without one, the read waits
    /// briefly for everything this server has committed, and serves what the
    /// view holds when that takes too long (during a long catch-up).
    async fn ready(&self, view: &'static str, min_position: Option<u64>) -> Result<i64, ViewError> {
        match min_position.filter(|p| *p > 0) {
            Some(position) => self.runner.wait_for(view, position, self.wait).await?,
            None => {
                let head = self.runner.store().known_head();
                if head > 0 {
                    match self
                        .runner
                        .wait_for(view, head, self.wait.min(FRESH_READ_WAIT))
                        .await
                    {
                        Ok(()) | Err(WaitError::Timeout { .. }) => {}
                        Err(WaitError::Failed {
                            view,
                            position,
                            error,
                        }) => {
                            tracing::warn!(%view, position, %error, "serving a stopped view");
                        }
                        Err(err) => return Err(err.into()),
                    }
                }
            }
        }
        Ok(self.runner.db().active(view).await?)
    }

    /// Up to `size` documents of view `P` after key `after` holding every
    /// one of `terms` (the first leads, ADR 0033), in key order, and the
    /// key to read on after when there are more.
    async fn find<P: Projection>(
        &self,
        generation: i64,
        terms: &[(&str, &str)],
        after: &str,
        size: usize,
    ) -> Result<Page<P::Doc>, ViewError> {
        let mut found = self
            .runner
            .db()
            .find(Find {
                view: P::NAME,
                generation,
                terms,
                after,
                limit: size.saturating_add(1),
            })
            .await?;
        let more = found.len() > size;
        found.truncate(size);
        let next = more
            .then(|| found.last().map(|(key, _)| key.clone()))
            .flatten();
        let rows = found
            .into_iter()
            .map(|(_, doc)| {
                serde_json::from_str(&doc).map_err(|e| ViewError::Corrupt {
                    view: P::NAME,
                    error: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Page { rows, next })
    }

    /// Every document of view `P` holding every one of `terms`, a chunk
    /// at a time.
    async fn find_all<P: Projection>(
        &self,
        generation: i64,
        terms: &[(&str, &str)],
    ) -> Result<Vec<P::Doc>, ViewError> {
        let mut all = Vec::new();
        let mut after = String::new();
        loop {
            let page = self
                .find::<P>(generation, terms, &after, READ_CHUNK)
                .await?;
            all.extend(page.rows);
            match page.next {
                Some(next) => after = next,
                None => return Ok(all),
            }
        }
    }

    async fn one<P: Projection>(
        &self,
        key: &str,
        min_position: Option<u64>,
    ) -> Result<Option<P::Doc>, ViewError> {
        let generation = self.ready(P::NAME, min_position).await?;
        let found = self
            .runner
            .db()
            .load(P::NAME, generation, &[key.to_owned()])
            .await?;
        found
            .into_values()
            .next()
            .map(|doc| {
                serde_json::from_str(&doc).map_err(|e| ViewError::Corrupt {
                    view: P::NAME,
                    error: e.to_string(),
                })
            })
            .transpose()
    }

    /// The project board, filtered, by project id: every matching row.
    /// A read of one person's projects costs their projects; a filter of
    /// none reads the whole board.
    ///
    /// # Errors
    /// [`ViewError`].
    pub async fn board(
        &self,
        filter: &BoardFilter,
        min_position: Option<u64>,
    ) -> Result<Vec<ProjectRow>, ViewError> {
        let generation = self.ready(ProjectBoard::NAME, min_position).await?;
        let mut rows = self
            .find_all::<ProjectBoard>(generation, &filter.terms())
            .await?;
        self.open_rows(&mut rows).await?;
        Ok(rows)
    }

    /// One page of the project board, filtered, by project id: up to
    /// `size` rows after id `after`, read by the filter's terms (ADR 0033).
    ///
    /// # Errors
    /// [`ViewError`].
    pub async fn board_page(
        &self,
        filter: &BoardFilter,
        after: Option<&str>,
        size: usize,
        min_position: Option<u64>,
    ) -> Result<Page<ProjectRow>, ViewError> {
        let generation = self.ready(ProjectBoard::NAME, min_position).await?;
        let mut page = self
            .find::<ProjectBoard>(generation, &filter.terms(), after.unwrap_or(""), size)
            .await?;
        self.open_rows(&mut page.rows).await?;
        Ok(page)
    }

    /// One project.
    ///
    /// # Errors
    /// [`ViewError`].
    pub async fn project(
        &self,
        project_id: &str,
        min_position: Option<u64>,
    ) -> Result<Option<ProjectRow>, ViewError> {
        let mut row = self.one::<ProjectBoard>(project_id, min_position).await?;
        if let Some(row) = row.as_mut() {
            self.open_rows(std::slice::from_mut(row)).await?;
        }
        Ok(row)
    }

    /// The rows of `mentor`'s projects where something waits for them, by
    /// project id: read by the board's term `waiting` (ADR 0033).
    ///
    /// # Errors
    /// [`ViewError`].
    pub async fn waiting_for(
        &self,
        mentor: &str,
        min_position: Option<u64>,
    ) -> Result<Vec<ProjectRow>, ViewError> {
        let generation = self.ready(ProjectBoard::NAME, min_position).await?;
        let mut rows = self
            .find_all::<ProjectBoard>(generation, &[(board::term::WAITING, mentor)])
            .await?;
        self.open_rows(&mut rows).await?;
        Ok(rows)
    }

    /// What waits for `mentor`, oldest first, with ages as of `now`.
    ///
    /// # Errors
    /// [`ViewError`].
    pub async fn inbox(
        &self,
        mentor: &str,
        now: DateTime<Utc>,
        min_position: Option<u64>,
    ) -> Result<Vec<InboxItem>, ViewError> {
        let rows = self.waiting_for(mentor, min_position).await?;
        Ok(inbox_of(&rows, now))
    }

    /// Every cohort.
    ///
    /// # Errors
    /// [`ViewError`].
    pub async fn cohorts(&self, min_position: Option<u64>) -> Result<Vec<CohortRow>, ViewError> {
        let generation = self.ready(Cohorts::NAME, min_position).await?;
        self.find_all::<Cohorts>(generation, &[]).await
    }

    /// How a cohort is doing: from the counts the board keeps per cohort,
    /// and the rows of its late projects (ADR 0033).
    ///
    /// # Errors
    /// [`ViewError`].
    pub async fn cohort_progress(
        &self,
        cohort_id: &str,
        min_position: Option<u64>,
    ) -> Result<CohortProgress, ViewError> {
        use board::term;
        let cohort = self.one::<Cohorts>(cohort_id, min_position).await?;
        let generation = self.ready(ProjectBoard::NAME, min_position).await?;
        let mut progress = CohortProgress {
            cohort,
            ..CohortProgress::default()
        };
        let counts = self
            .runner
            .db()
            .counts(ProjectBoard::NAME, generation, cohort_id, &[])
            .await?;
        for (name, value, n) in counts {
            let n = u32::try_from(n).unwrap_or(0);
            match (name.as_str(), value.as_str()) {
                (term::STATE, state) => {
                    progress.by_state.insert(state.to_owned(), n);
                    progress.projects += n;
                }
                (term::OVERDUE, _) => progress.overdue_milestones += n,
                (term::PROPOSAL, "accepted") => progress.proposal_accepted += n,
                (term::PROPOSAL, _) => progress.proposal_to_revise += n,
                (term::FINAL, "passed") => progress.final_passed += n,
                (term::FINAL, _) => progress.final_failed += n,
                (term::GRADE, grade) => {
                    progress.grades.insert(grade.to_owned(), n);
                }
                _ => {}
            }
        }
        let mut late = self
            .find_all::<ProjectBoard>(generation, &[(term::LATE, cohort_id)])
            .await?;
        self.open_rows(&mut late).await?;
        for row in late {
            if row.participant_name != ERASED {
                progress.late_people.push(row.participant.clone());
            }
            progress.late_participants.push(row.participant_name);
        }
        Ok(progress)
    }

    /// One page of the innovation register, filtered, by id: up to `size`
    /// rows after id `after` that match `filter`, read by its terms
    /// (ADR 0033).
    ///
    /// # Errors
    /// [`ViewError`].
    pub async fn register(
        &self,
        filter: &RegisterFilter,
        after: Option<&str>,
        size: usize,
        min_position: Option<u64>,
    ) -> Result<Page<InnovationRow>, ViewError> {
        let generation = self.ready(InnovationRegister::NAME, min_position).await?;
        self.find::<InnovationRegister>(generation, &filter.terms(), after.unwrap_or(""), size)
            .await
    }

    /// One innovation.
    ///
    /// # Errors
    /// [`ViewError`].
    pub async fn innovation(
        &self,
        innovation_id: &str,
        min_position: Option<u64>,
    ) -> Result<Option<InnovationRow>, ViewError> {
        self.one::<InnovationRegister>(innovation_id, min_position)
            .await
    }

    /// Innovation statistics of `region` over every OPD known: those named
    /// in `known_opds` (the city's list) and every OPD seen in the log.
    /// Innovations that other regions adopted still count in the
    /// originals' replication figures. Read from the counts the views keep
    /// (ADR 0033): the cost is the number of groups, the dormant
    /// innovations named (`dormant`) and the ten most replicated.
    ///
    /// # Errors
    /// [`ViewError`].
    pub async fn statistics(
        &self,
        known_opds: &[String],
        region: &str,
        dormant: &Dormant,
        min_position: Option<u64>,
    ) -> Result<Statistics, ViewError> {
        use register::{SEP, term};
        let db = self.runner.db();
        let opds = self.known_opds(known_opds, min_position).await?;
        let generation = self.ready(InnovationRegister::NAME, min_position).await?;
        let mut counts = stats::Counts::default();
        for (name, value, n) in db
            .counts(
                InnovationRegister::NAME,
                generation,
                region,
                &[term::OPD_STAGE, term::SOURCE, term::ADOPTERS, term::TREND],
            )
            .await?
        {
            let n = u32::try_from(n).unwrap_or(0);
            match name.as_str() {
                term::OPD_STAGE => {
                    if let Some((opd, stage)) = value.split_once(SEP) {
                        counts
                            .opd_stages
                            .push((opd.to_owned(), stage.to_owned(), n));
                    }
                }
                term::SOURCE => counts.sources.push((value, n)),
                term::ADOPTERS => {
                    if let Ok(a) = value.parse::<u32>() {
                        counts.adopters.push((a, n));
                    }
                }
                term::TREND => {
                    if let Some((year, what)) = value.split_once(SEP)
                        && let Ok(year) = year.parse::<i32>()
                    {
                        counts.trend.push((year, what.to_owned(), n));
                    }
                }
                _ => {}
            }
        }
        counts.dormant = match &dormant.opd {
            // Of the region, by id: the first of its named dormant ones.
            None => db
                .count_values(
                    InnovationRegister::NAME,
                    generation,
                    region,
                    term::DORMANT_NAMED,
                    dormant.limit,
                )
                .await?
                .iter()
                .filter_map(|value| {
                    let mut parts = value.splitn(3, SEP);
                    let (id, opd, name) = (parts.next()?, parts.next()?, parts.next()?);
                    Some(stats::Named {
                        innovation_id: id.to_owned(),
                        name: name.to_owned(),
                        opd: opd.to_owned(),
                    })
                })
                .collect(),
            // Of one OPD: its dormant rows of the region, by id.
            Some(opd) => self
                .find::<InnovationRegister>(
                    generation,
                    &[
                        (term::OPD, opd.as_str()),
                        (term::DORMANT, ""),
                        (term::REGION, region),
                    ],
                    "",
                    dormant.limit,
                )
                .await?
                .rows
                .iter()
                .map(stats::Named::of)
                .collect(),
        };
        // The ten most replicated: the first values of the region's named
        // replicas, most adopters first, then by id.
        let prefix = format!("{region}{SEP}");
        for value in db
            .term_values(
                InnovationRegister::NAME,
                generation,
                term::REPLICATED_NAMED,
                &prefix,
                stats::MOST_REPLICATED,
            )
            .await?
        {
            let mut parts = value[prefix.len()..].splitn(4, SEP);
            if let (Some(most), Some(id), Some(opd), Some(name)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
                && let Some(adopters) = register::adopters_of(most)
            {
                counts.most_replicated.push((
                    stats::Named {
                        innovation_id: id.to_owned(),
                        name: name.to_owned(),
                        opd: opd.to_owned(),
                    },
                    adopters,
                ));
            }
        }
        Ok(counts.finish(&opds, dormant))
    }

    /// The OPDs the statistics know: those named and every OPD on the board.
    async fn known_opds(
        &self,
        known_opds: &[String],
        min_position: Option<u64>,
    ) -> Result<BTreeSet<String>, ViewError> {
        let mut opds: BTreeSet<String> = known_opds.iter().cloned().collect();
        let generation = self.ready(ProjectBoard::NAME, min_position).await?;
        for (name, opd, _) in self
            .runner
            .db()
            .counts(ProjectBoard::NAME, generation, "", &[board::term::OPD])
            .await?
        {
            if name == board::term::OPD {
                opds.insert(opd);
            }
        }
        Ok(opds)
    }

    /// The statistics of `region` narrowed by `filter`: unfiltered, from
    /// the counts ([`Views::statistics`]); filtered, a [`Tally`] of the
    /// rows the register's terms find, one read per year and OPD named, so
    /// the cost is the rows that match (ADR 0035). Narrowed to some OPDs,
    /// the OPDs known are those.
    ///
    /// # Errors
    /// [`ViewError`].
    pub async fn statistics_filtered(
        &self,
        known_opds: &[String],
        region: &str,
        filter: &StatsFilter,
        dormant: &Dormant,
        min_position: Option<u64>,
    ) -> Result<Statistics, ViewError> {
        if filter.is_empty() {
            return self
                .statistics(known_opds, region, dormant, min_position)
                .await;
        }
        let opds = if filter.opds.is_empty() {
            self.known_opds(known_opds, min_position).await?
        } else {
            filter.opds.clone()
        };
        let generation = self.ready(InnovationRegister::NAME, min_position).await?;
        let mut tally = Tally::default();
        for read in filter.reads(region) {
            let terms: Vec<(&str, &str)> = read.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let mut after = String::new();
            loop {
                let page = self
                    .find::<InnovationRegister>(generation, &terms, &after, READ_CHUNK)
                    .await?;
                page.rows.iter().for_each(|row| tally.add(row));
                match page.next {
                    Some(next) => after = next,
                    None => break,
                }
            }
        }
        let mut stats = tally.finish(&opds);
        dormant.narrow(&mut stats);
        Ok(stats)
    }

    /// What `actor` did, oldest first, after `after_position`: at most
    /// `limit` rows, read from the log (it holds every acknowledged write;
    /// a `min_position` it does not hold yet is waited for like a view's).
    ///
    /// # Errors
    /// [`ViewError`].
    pub async fn activity(
        &self,
        actor: &str,
        after_position: u64,
        limit: usize,
        min_position: Option<u64>,
    ) -> Result<Vec<ActivityRow>, ViewError> {
        let store = self.runner.store();
        // Another server's write is in the database before this one hears of it.
        if let Some(wanted) = min_position.filter(|&p| p > store.known_head())
            && store.digest().await?.position < wanted
        {
            let mut head = store.watch_head();
            let reached = tokio::time::timeout(self.wait, head.wait_for(|&h| h >= wanted))
                .await
                .is_ok_and(|r| r.is_ok());
            if !reached {
                return Err(WaitError::Timeout {
                    view: "activity".into(),
                    wanted,
                    reached: store.known_head(),
                    waited_ms: u64::try_from(self.wait.as_millis()).unwrap_or(u64::MAX),
                }
                .into());
            }
        }
        let limit = limit.clamp(1, jejak_engine::store::MAX_READ_LIMIT);
        Ok(store
            .read_by_actor(actor, after_position, limit)
            .await?
            .into_iter()
            .filter_map(ActivityRow::of)
            .collect())
    }
}

/// The inbox of the mentor of `rows`, oldest first.
pub fn inbox_of(rows: &[ProjectRow], now: DateTime<Utc>) -> Vec<InboxItem> {
    let mut items = Vec::new();
    for row in rows {
        let item = |kind, milestone: Option<&MilestoneRow>, since: DateTime<Utc>| InboxItem {
            kind,
            project_id: row.project_id.clone(),
            code: row.code.clone(),
            title: row.title.clone(),
            participant_name: row.participant_name.clone(),
            participant: row.participant.clone(),
            milestone_id: milestone.map(|m| m.id.clone()),
            change_area: row.change_area.clone(),
            milestone_title: milestone.map(|m| m.title.clone()).unwrap_or_default(),
            expected_output: milestone
                .map(|m| m.expected_output.clone())
                .unwrap_or_default(),
            evidence: milestone
                .map(|m| m.last_submission.clone())
                .unwrap_or_default(),
            plan_change: None,
            since,
            age_seconds: (now - since).num_seconds().max(0),
        };
        if let Some(since) = row.proposal_waiting_since {
            items.push(item(InboxKind::Proposal, None, since));
        }
        if row.state != "withdrawn" {
            for m in row
                .milestones
                .values()
                .filter(|m| m.status == MilestoneStatus::Submitted)
            {
                if let Some(since) = m.submitted_at {
                    items.push(item(InboxKind::MilestoneEvidence, Some(m), since));
                }
            }
        }
        if let Some(since) = row.adoption_waiting_since {
            items.push(item(InboxKind::AdoptionEndorsement, None, since));
        }
        if let Some(since) = row.plan_change_waiting_since {
            items.push(InboxItem {
                plan_change: row.plan_change.clone(),
                ..item(InboxKind::PlanChange, None, since)
            });
        }
    }
    items.sort_by(|a, b| {
        (a.since, &a.project_id, &a.milestone_id).cmp(&(b.since, &b.project_id, &b.milestone_id))
    });
    items
}

/// Progress of a cohort from its projects.
pub fn progress_of(cohort: Option<CohortRow>, rows: &[ProjectRow]) -> CohortProgress {
    let mut progress = CohortProgress {
        cohort,
        ..CohortProgress::default()
    };
    for row in rows {
        progress.projects += 1;
        *progress.by_state.entry(row.state.clone()).or_default() += 1;
        let overdue = row.overdue_count();
        progress.overdue_milestones += overdue;
        if overdue > 0 {
            progress
                .late_participants
                .push(row.participant_name.clone());
            if row.participant_name != ERASED {
                progress.late_people.push(row.participant.clone());
            }
        }
        match row.proposal_seminar {
            Some(true) => progress.proposal_accepted += 1,
            Some(false) => progress.proposal_to_revise += 1,
            None => {}
        }
        match row.final_passed {
            Some(true) => progress.final_passed += 1,
            Some(false) => progress.final_failed += 1,
            None => {}
        }
        if let Some(grade) = &row.grade {
            *progress.grades.entry(Grade::as_written(grade)).or_default() += 1;
        }
    }
    progress
}
