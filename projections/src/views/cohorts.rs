//! Cohorts as opened, with their enrolment count.

use chrono::NaiveDate;
use jejak_engine::codec::decode;
use jejak_engine::domain::Aggregate as _;
use jejak_engine::domain::cohort::{Cohort, CohortEvent};
use jejak_engine::store::RecordedEvent;
use serde::{Deserialize, Serialize};

use crate::projection::{Docs, Projection, ProjectionError};

/// One cohort.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct CohortRow {
    pub cohort_id: String,
    pub level: String,
    pub provider: String,
    pub year: i32,
    pub number: u32,
    pub organizer: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub workflow: String,
    /// The version the cohort pins (0: a cohort opened before pinning).
    #[serde(default)]
    pub workflow_version: u32,
    pub enrolled: u32,
}

/// The cohorts projection.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cohorts;

impl Projection for Cohorts {
    const NAME: &'static str = "cohorts";
    type Doc = CohortRow;

    fn keys(&self, event: &RecordedEvent) -> Vec<String> {
        if event.stream_type != Cohort::KIND {
            return vec![];
        }
        event
            .stream_id
            .as_str()
            .strip_prefix("cohort-")
            .map(str::to_owned)
            .into_iter()
            .collect()
    }

    fn apply(
        &self,
        event: &RecordedEvent,
        docs: &mut Docs<CohortRow>,
    ) -> Result<(), ProjectionError> {
        let Some(key) = self.keys(event).pop() else {
            return Ok(());
        };
        match decode::<CohortEvent>(event)? {
            CohortEvent::CohortOpened {
                cohort_id,
                level,
                provider,
                year,
                number,
                organizer,
                starts_on,
                ends_on,
                workflow,
                workflow_version,
            } => {
                let row = CohortRow {
                    cohort_id: cohort_id.to_string(),
                    level: level.as_str().to_owned(),
                    provider,
                    year,
                    number,
                    organizer,
                    starts_on,
                    ends_on,
                    workflow,
                    workflow_version: workflow_version.unwrap_or(0),
                    enrolled: 0,
                };
                docs.put(key, row);
            }
            CohortEvent::ParticipantEnrolled { .. } => {
                if let Some(row) = docs.get_mut(&key) {
                    row.enrolled += 1;
                }
            }
            CohortEvent::StaffReassigned { .. } | CohortEvent::EnrolmentAmended { .. } => {}
            CohortEvent::CohortWorkflowChanged {
                workflow,
                workflow_version,
                ..
            } => {
                if let Some(row) = docs.get_mut(&key) {
                    row.workflow = workflow;
                    row.workflow_version = workflow_version;
                }
            }
        }
        Ok(())
    }
}
