//! How long personal data is kept, per category (ADR 0022), and what has
//! passed it. Listing only: nothing is erased by it; an operator erases a
//! person (`Engine::erase_person`, recorded in the log with its basis).

use chrono::{DateTime, Days, NaiveDate, Utc};
use sqlx::Row as _;

use crate::store::{EventStore, StoreError};

/// Retention periods, in days, per data category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// A participant's personal fields (NIP, name, position): kept this
    /// long after the end of the training they were enrolled in.
    pub participant_days: u32,
    /// The record of reads of personal data (`personal_reads`): kept this
    /// long after each read.
    pub reads_days: u32,
}

impl Default for Retention {
    /// Five years after the training for participants (the period a
    /// training provider keeps its records); two years for reads.
    fn default() -> Self {
        Self {
            participant_days: 5 * 365 + 1,
            reads_days: 2 * 365,
        }
    }
}

/// The data categories, as named in configuration and reports.
pub const CATEGORIES: [&str; 2] = ["participant", "personal_reads"];

impl Retention {
    /// The periods in force, as `category: N days`.
    pub fn describe(&self) -> Vec<String> {
        vec![
            format!(
                "participant: {} days after the training ends",
                self.participant_days
            ),
            format!("personal_reads: {} days after the read", self.reads_days),
        ]
    }

    /// The day a participant's fields pass retention, for a training that
    /// ended on `ends_on`.
    pub fn participant_passes(&self, ends_on: NaiveDate) -> NaiveDate {
        ends_on
            .checked_add_days(Days::new(u64::from(self.participant_days)))
            .unwrap_or(NaiveDate::MAX)
    }
}

/// Reads of one person's data recorded before a cutoff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OldReads {
    /// Whose data was read.
    pub person: String,
    /// The oldest such read.
    pub oldest: DateTime<Utc>,
    /// How many.
    pub count: u64,
}

/// Per person, the reads recorded before `cutoff`.
///
/// # Errors
/// Store failures.
pub async fn reads_before(
    store: &EventStore,
    cutoff: DateTime<Utc>,
) -> Result<Vec<OldReads>, StoreError> {
    if let Some(pool) = store.sqlite_pool() {
        let rows = sqlx::query(
            "SELECT person_id, MIN(read_at), COUNT(*) FROM personal_reads \
             WHERE read_at < ? GROUP BY person_id ORDER BY MIN(read_at)",
        )
        .bind(cutoff.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .fetch_all(pool)
        .await?;
        return rows
            .into_iter()
            .map(|row| {
                let oldest: String = row.try_get(1)?;
                let count: i64 = row.try_get(2)?;
                Ok(OldReads {
                    person: row.try_get(0)?,
                    oldest: DateTime::parse_from_rfc3339(&oldest)
                        .map(|t| t.with_timezone(&Utc))
                        .unwrap_or_default(),
                    count: u64::try_from(count).unwrap_or(0),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into);
    }
    let Some(pool) = store.postgres_pool() else {
        return Ok(vec![]);
    };
    let rows = sqlx::query(
        "SELECT person_id, MIN(read_at), COUNT(*) FROM personal_reads \
         WHERE read_at < $1 GROUP BY person_id ORDER BY MIN(read_at)",
    )
    .bind(cutoff)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let count: i64 = row.try_get(2)?;
            Ok(OldReads {
                person: row.try_get(0)?,
                oldest: row.try_get(1)?,
                count: u64::try_from(count).unwrap_or(0),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}
