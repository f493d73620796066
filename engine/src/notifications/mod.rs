//! Notifications (ADR 0032): what jejak tells people, and when.
//!
//! What to send is decided here, from the log and the injected clock; how
//! to send it (email, signed webhooks) lives in the crate `jejak-notify`.
//!
//! - [`Notifier`] (`planner.rs`) is a process manager: it reads the log from
//!   its checkpoint and puts a message in the outbox
//!   ([`crate::store::EventStore::enqueue`]) for each thing a person should
//!   hear of; its timer ([`Notifier::tick`]) adds the reminders before a
//!   milestone falls due and the organizers' weekly summaries, as of the
//!   engine's clock.
//! - Every message has a stable id ([`message_id`]) derived from its cause
//!   (an event's id, or a milestone's due date, or a week), its recipient
//!   and its [`Kind`]: reading an event again, after a crash or on another
//!   server, makes nothing new. The deliverer hands the id to the
//!   transport (email `Message-ID`, the webhook's `id`), so a message sent
//!   twice after a crash is still one message to the person.
//! - Who hears what: a mentor, when something enters their inbox (by
//!   default in a daily digest at [`DIGEST_HOUR`], at once if they choose);
//!   a participant, when their plan or a milestone is approved or returned
//!   and when a seminar result is recorded; participant and mentor
//!   [`REMIND_DAYS`] before a milestone falls due and when it is overdue,
//!   after the training too (medium- and long-term milestones, told again
//!   every [`OVERDUE_AGAIN_DAYS`] days while overdue); an organizer, a
//!   weekly summary of each cohort they run, on the configured day
//!   (`EngineConfig::summary_day`; a first start mid-week waits for it).
//! - Each person's addresses and preferences ([`Contact`], `contacts.rs`)
//!   are theirs to set, sealed with a data key, and erased with them.
//!
//! ```no_run
//! # async fn example(engine: jejak_engine::engine::Engine) -> Result<(), jejak_engine::engine::CommandError> {
//! use jejak_engine::notifications::Notifier;
//! let notifier = Notifier::new(engine.clone());
//! notifier.run_once().await?; // messages for the events in the log
//! notifier.tick().await?; // reminders and weekly summaries, by the clock
//! # Ok(()) }
//! ```

mod contacts;
mod planner;

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike as _, Days, NaiveDate, TimeZone as _, Timelike as _, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::DomainError;
use crate::domain::values::name_based_id;

pub use contacts::{Contact, staff_key};
pub use planner::{CHECKPOINT, Notifier};

/// How many days before a milestone falls due its reminder goes out.
pub const REMIND_DAYS: i64 = 3;

/// After the training, a medium- or long-term milestone still overdue is
/// told again every this many days after its due date.
pub const OVERDUE_AGAIN_DAYS: i64 = 30;

/// The hour (in the region's zone) of a mentor's daily digest and of an
/// organizer's weekly summary (Mondays).
pub const DIGEST_HOUR: u32 = 7;

/// The kinds of message, each of which a person may opt out of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Something waits in a mentor's inbox.
    Inbox,
    /// A participant's plan, plan change or milestone was approved or returned.
    Decision,
    /// A seminar result was recorded on a participant's project.
    Seminar,
    /// A milestone falls due soon.
    DueSoon,
    /// A milestone is overdue.
    Overdue,
    /// An organizer's weekly summary of a cohort.
    WeeklySummary,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::Inbox,
        Self::Decision,
        Self::Seminar,
        Self::DueSoon,
        Self::Overdue,
        Self::WeeklySummary,
    ];

    /// The kind as stored and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbox => "inbox",
            Self::Decision => "decision",
            Self::Seminar => "seminar",
            Self::DueSoon => "due_soon",
            Self::Overdue => "overdue",
            Self::WeeklySummary => "weekly_summary",
        }
    }

    /// Parses a kind as written by [`Kind::as_str`].
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `field`, listing the kinds.
    pub fn parse(field: &str, text: &str) -> Result<Self, DomainError> {
        let text = text.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| {
                DomainError::invalid(
                    field,
                    format!(
                        "'{text}' is not a kind of message; use one of {}",
                        Self::ALL.map(Self::as_str).join(", ")
                    ),
                )
            })
    }
}

/// The language a person reads their messages in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// Indonesian (the default).
    #[default]
    Id,
    /// English.
    En,
}

impl Lang {
    /// The language as stored and on the wire: `id` or `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::En => "en",
        }
    }

    /// Parses `id` (also `in`, `indonesia`) or `en` (`english`); empty is
    /// Indonesian.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `lang`.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "id" | "in" | "ind" | "indonesia" | "indonesian" | "bahasa" => Ok(Self::Id),
            "en" | "eng" | "english" | "inggris" => Ok(Self::En),
            other => Err(DomainError::invalid(
                "lang",
                format!(
                    "'{other}' is not a language jejak writes in; use id (Indonesian) or en (English)"
                ),
            )),
        }
    }
}

/// Who receives a message, by role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The participant (a person id).
    Participant,
    /// Their mentor (a staff subject).
    Mentor,
    /// The cohort's organizer (a staff subject).
    Organizer,
}

impl Audience {
    /// The role as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Participant => "participant",
            Self::Mentor => "mentor",
            Self::Organizer => "organizer",
        }
    }
}

/// One project of a cohort's weekly summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Late {
    /// The project's code.
    pub code: String,
    /// Its overdue milestones, by title, with their due dates.
    pub milestones: Vec<(String, NaiveDate)>,
}

/// What a message tells: codes, titles, dates and the decisions as the
/// log holds them; nothing personal. Which fields are set depends on the
/// kind and on `what`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Facts {
    /// What happened, within the kind: `proposal`, `evidence`,
    /// `plan_change`, `adoption` (inbox); `action_plan_approved`,
    /// `action_plan_returned`, `milestone_approved`, `milestone_returned`,
    /// `plan_change_approved`, `plan_change_returned` (decision);
    /// `proposal_seminar`, `final_seminar` (seminar).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub what: String,
    /// The cohort.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cohort: String,
    /// The project's code (`pka-2026-1/001`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub project_code: String,
    /// The project's title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// The milestone's id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub milestone_id: String,
    /// The milestone's title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub milestone_title: String,
    /// Its horizon: `short`, `medium`, `long`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub horizon: String,
    /// When it is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    /// The mentor's note or reason, the examiners' notes.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// A proposal seminar's result, or whether a final seminar passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<bool>,
    /// A final seminar's score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// A result that corrects one recorded before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub corrected: bool,
    /// A weekly summary's week (`2026-W10`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub week: String,
    /// A weekly summary: projects per state.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<(String, u32)>,
    /// A weekly summary: projects with overdue milestones.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub late: Vec<Late>,
    /// A weekly summary: milestones due in the coming week.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub due_this_week: Vec<Late>,
}

/// The stable id of a message: a name-based UUID of its cause, recipient
/// and kind (nothing personal goes in).
pub fn message_id(kind: Kind, recipient: &str, cause: &[&str]) -> String {
    let mut parts = vec![kind.as_str(), recipient];
    parts.extend_from_slice(cause);
    name_based_id("jejak/notification", &parts)
}

/// The id a daily digest of `recipient`'s inbox, sent at `at`, is seen by.
pub fn digest_id(recipient: &str, at: DateTime<Utc>) -> String {
    name_based_id("jejak/digest", &[recipient, &at.to_rfc3339()])
}

/// The first daily digest at or after `at`: [`DIGEST_HOUR`] o'clock in
/// `zone`, the same day or the next.
pub fn next_digest(at: DateTime<Utc>, zone: chrono_tz::Tz) -> DateTime<Utc> {
    let local = at.with_timezone(&zone);
    let day = if local.hour() < DIGEST_HOUR {
        local.date_naive()
    } else {
        local
            .date_naive()
            .checked_add_days(Days::new(1))
            .unwrap_or(local.date_naive())
    };
    at_hour(day, zone)
}

/// [`DIGEST_HOUR`] o'clock on `day` in `zone`, in UTC.
fn at_hour(day: NaiveDate, zone: chrono_tz::Tz) -> DateTime<Utc> {
    let naive = day.and_hms_opt(DIGEST_HOUR, 0, 0).unwrap_or_default();
    zone.from_local_datetime(&naive)
        .earliest()
        .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc))
}

/// The ISO week of `now` in `zone` (`2026-W10`) and when its weekly
/// summary fell due, once it is due: from `day` (Monday by default) at
/// [`DIGEST_HOUR`] o'clock on.
pub fn summary_week(
    now: DateTime<Utc>,
    zone: chrono_tz::Tz,
    day: chrono::Weekday,
) -> Option<(String, DateTime<Utc>)> {
    let local = now.with_timezone(&zone);
    let week = local.iso_week();
    let date = NaiveDate::from_isoywd_opt(week.year(), week.week(), day)?;
    let due = at_hour(date, zone);
    (now >= due).then(|| (format!("{}-W{:02}", week.year(), week.week()), due))
}

/// Kinds as stored in a contact (comma-separated), unknown ones skipped.
pub fn kinds_of(stored: &str) -> BTreeSet<Kind> {
    stored
        .split(',')
        .filter_map(|k| Kind::parse("opt_out", k).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIB: chrono_tz::Tz = chrono_tz::Asia::Jakarta;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn a_digest_goes_at_seven_in_the_regions_morning() {
        // 15:00 WIB on Monday: Tuesday 07:00 WIB, 00:00 UTC.
        assert_eq!(
            next_digest(utc(2026, 3, 2, 8, 0), WIB),
            utc(2026, 3, 3, 0, 0)
        );
        // 05:00 WIB: the same morning.
        assert_eq!(
            next_digest(utc(2026, 3, 1, 22, 0), WIB),
            utc(2026, 3, 2, 0, 0)
        );
        // In WIT (UTC+9) seven o'clock comes two hours sooner.
        assert_eq!(
            next_digest(utc(2026, 3, 2, 8, 0), chrono_tz::Asia::Jayapura),
            utc(2026, 3, 2, 22, 0)
        );
    }

    #[test]
    fn a_weeks_summary_is_due_from_monday_seven_oclock() {
        use chrono::Weekday::{Fri, Mon};
        let week = |at, day| summary_week(at, WIB, day).map(|(w, _)| w);
        // Monday 2 March 2026, 06:59 WIB: not yet.
        assert_eq!(week(utc(2026, 3, 1, 23, 59), Mon), None);
        assert_eq!(
            week(utc(2026, 3, 2, 0, 0), Mon).as_deref(),
            Some("2026-W10")
        );
        assert_eq!(
            week(utc(2026, 3, 8, 12, 0), Mon).as_deref(),
            Some("2026-W10")
        );
        // A region that sums up on Fridays: from Friday 6 March, 07:00 WIB.
        assert_eq!(week(utc(2026, 3, 5, 12, 0), Fri), None);
        assert_eq!(
            summary_week(utc(2026, 3, 6, 0, 0), WIB, Fri),
            Some(("2026-W10".to_owned(), utc(2026, 3, 6, 0, 0)))
        );
    }

    #[test]
    fn a_messages_id_is_its_cause_recipient_and_kind() {
        let id = message_id(Kind::Decision, "person-1", &["event-1"]);
        assert_eq!(id, message_id(Kind::Decision, "person-1", &["event-1"]));
        assert_ne!(id, message_id(Kind::Seminar, "person-1", &["event-1"]));
        assert_ne!(id, message_id(Kind::Decision, "person-2", &["event-1"]));
        assert_ne!(id, message_id(Kind::Decision, "person-1", &["event-2"]));
        assert!(uuid::Uuid::parse_str(&id).is_ok());
    }

    #[test]
    fn kinds_read_as_written() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse("kind", kind.as_str()), Ok(kind));
        }
        assert_eq!(Kind::parse("opt_out", "Due-Soon"), Ok(Kind::DueSoon));
        assert!(Kind::parse("opt_out", "gossip").is_err());
    }
}
